package affinity

import (
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestEncodeDecode(t *testing.T) {
	var set unix.CPUSet
	set.Set(0)
	set.Set(9)
	set.Set(1023)
	s := Encode(&set)
	if len(s) != 256 || !strings.HasPrefix(s, "0102") {
		t.Fatalf("Encode = %q, want 256 hex digits starting 0102 (CPU 0, then CPU 9 in the second byte)", s)
	}
	got, err := Decode(s)
	if err != nil || got != set {
		t.Fatalf("Decode(Encode(set)) = %v, %v; want %v", got, err, set)
	}
	// A short string names the first CPUs only.
	if got, err := Decode("03"); err != nil || got.Count() != 2 || !got.IsSet(0) || !got.IsSet(1) {
		t.Errorf(`Decode("03") = %v, %v; want CPUs 0 and 1`, got, err)
	}
	for _, bad := range []string{"", "00", "zz", "0", strings.Repeat("ff", 129)} {
		if _, err := Decode(bad); err == nil {
			t.Errorf("Decode(%q): no error", bad)
		}
	}
}

// Released runs fn on a thread with the release set, and puts the
// thread's set back afterwards; without a release set it only runs fn.
func TestReleased(t *testing.T) {
	defer func() { release = nil }()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var mine unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mine); err != nil {
		t.Fatal(err)
	}
	cpu := -1
	for i := 0; i < 1024 && cpu < 0; i++ {
		if mine.IsSet(i) {
			cpu = i
		}
	}
	var one unix.CPUSet
	one.Set(cpu)

	ran := false
	if err := Released(func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("Released without a release set: ran %v, err %v", ran, err)
	}

	// Pinned to one CPU, with every CPU it had to give back.
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		t.Fatal(err)
	}
	defer unix.SchedSetaffinity(0, &mine)
	SetRelease(mine)
	var inside, after unix.CPUSet
	err := Released(func() error { return unix.SchedGetaffinity(0, &inside) })
	if err != nil || inside != mine {
		t.Errorf("inside Released: set %v (err %v), want the release set %v", inside, err, mine)
	}
	if err := unix.SchedGetaffinity(0, &after); err != nil || after != one {
		t.Errorf("after Released: set %v (err %v), want the pin %v back", after, err, one)
	}

	// ReleaseToAll: the kernel narrows every CPU to the ones this thread
	// may use, which are those it had before the test pinned it.
	ReleaseToAll()
	if len(release) != 1024 {
		t.Errorf("ReleaseToAll: a mask of %d bytes, want 1024 (8192 CPUs, not a cpu_set_t's 1024)", len(release))
	}
	if err := Released(func() error { return unix.SchedGetaffinity(0, &inside) }); err != nil || inside != mine {
		t.Errorf("ReleaseToAll: set %v (err %v), want %v", inside, err, mine)
	}
}
