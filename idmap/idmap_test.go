package idmap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := `# comment
containers:100000:65536

alice:165536:65536
999:300000:1000
containers:500000:0
containers:700000:131072
`
	got, err := Parse(strings.NewReader(in), "containers", "999")
	if err != nil {
		t.Fatal(err)
	}
	want := []Range{{100000, 65536}, {300000, 1000}, {700000, 131072}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	// Without a numeric uid, the "999" line is someone else's.
	got, _ = Parse(strings.NewReader(in), "containers", "")
	if len(got) != 2 {
		t.Fatalf("by name only: %v", got)
	}
	if got, _ := Parse(strings.NewReader(in), "nobody", ""); len(got) != 0 {
		t.Fatalf("no delegation: %v", got)
	}
}

func TestParseMalformed(t *testing.T) {
	for _, in := range []string{
		"containers:100000\n",
		"containers:abc:65536\n",
		"containers:100000:-1\n",
		":100000:65536\n",
		"containers:4294967295:2\n",
		"a:b:c:d\n",
	} {
		if _, err := Parse(strings.NewReader(in), "containers", ""); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: want an error naming line 1, got %v", in, err)
		}
	}
}

func TestReadFileMissing(t *testing.T) {
	rs, err := ReadFile(filepath.Join(t.TempDir(), "nope"), "containers", "")
	if err != nil || rs != nil {
		t.Fatalf("missing file: %v %v", rs, err)
	}
	p := filepath.Join(t.TempDir(), "subuid")
	os.WriteFile(p, []byte("containers:x:1\n"), 0o644)
	if _, err := ReadFile(p, "containers", ""); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("want an error naming the file: %v", err)
	}
}

func TestAllocate(t *testing.T) {
	del := []Range{{100000, 200000}}
	cases := []struct {
		used []Range
		size uint32
		want Range
		ok   bool
	}{
		{nil, 65536, Range{100000, 65536}, true},
		{[]Range{{100000, 65536}}, 65536, Range{165536, 65536}, true},
		// A freed hole is reused, the lowest first.
		{[]Range{{165536, 65536}}, 65536, Range{100000, 65536}, true},
		{[]Range{{100000, 65536}, {231072, 65536}}, 65536, Range{165536, 65536}, true},
		// Not enough left in one piece.
		{[]Range{{100000, 65536}, {231072, 65536}}, 65537, Range{}, false},
		{[]Range{{150000, 10}}, 65536, Range{150010, 65536}, true},
		{nil, 200001, Range{}, false},
		// Ranges of other users outside the delegation do not matter.
		{[]Range{{0, 100000}, {300000, 10}}, 200000, Range{100000, 200000}, true},
		// Unsorted and nested used ranges.
		{[]Range{{120000, 5}, {100000, 50000}}, 1000, Range{150000, 1000}, true},
		{nil, 0, Range{}, false},
	}
	for i, c := range cases {
		got, ok := Allocate(del, c.used, c.size)
		if ok != c.ok || got != c.want {
			t.Errorf("case %d: Allocate(%v, %v, %d) = %v %v, want %v %v", i, del, c.used, c.size, got, ok, c.want, c.ok)
		}
		if ok {
			for _, u := range c.used {
				if got.Overlaps(u) {
					t.Errorf("case %d: %v overlaps used %v", i, got, u)
				}
			}
		}
	}
	// Two delegations: the block never spans both, never starts at 0.
	got, ok := Allocate([]Range{{0, 10}, {10, 10}}, nil, 15)
	if ok {
		t.Fatalf("spanned two delegations: %v", got)
	}
	got, ok = Allocate([]Range{{0, 10}}, nil, 5)
	if !ok || got.Start != 1 {
		t.Fatalf("host ID 0 handed out: %v %v", got, ok)
	}
	got, ok = Allocate([]Range{{500000, 70000}, {100000, 70000}}, nil, 65536)
	if !ok || got.Start != 100000 {
		t.Fatalf("want the lowest block across delegations: %v", got)
	}
}

func TestRangeOverlaps(t *testing.T) {
	a := Range{10, 10}
	for _, c := range []struct {
		b    Range
		want bool
	}{{Range{0, 10}, false}, {Range{0, 11}, true}, {Range{19, 1}, true}, {Range{20, 5}, false}, {Range{12, 0}, false}} {
		if a.Overlaps(c.b) != c.want || c.b.Overlaps(a) != c.want {
			t.Errorf("%v overlaps %v: want %v", a, c.b, c.want)
		}
	}
	if (Range{4294967295, 1}).End() != 1<<32 {
		t.Fatal("End overflowed")
	}
}
