package engine

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minirun/minirun/idmap"
)

func TestParseUserNS(t *testing.T) {
	for in, want := range map[string]usernsRequest{
		"":              {},
		"host":          {},
		"auto":          {auto: true, size: 65536},
		"auto:size=10":  {auto: true, size: 10},
		"auto:size=1e6": {},
	} {
		got, err := parseUserNS(in)
		if in == "auto:size=1e6" {
			if err == nil {
				t.Errorf("%q: want an error", in)
			}
			continue
		}
		if err != nil || got.auto != want.auto || got.size != want.size {
			t.Errorf("%q: got %+v %v, want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"keep-id", "auto:size=0", "auto:size=", "auto:uidmapping=0:1:1", "host:x", "private"} {
		if _, err := parseUserNS(bad); err == nil || !strings.Contains(err.Error(), "--userns") {
			t.Errorf("%q: want an error naming --userns, got %v", bad, err)
		}
	}
}

func TestCheckUserNSDelegation(t *testing.T) {
	dir := t.TempDir()
	uidFile, gidFile := filepath.Join(dir, "subuid"), filepath.Join(dir, "subgid")
	t.Setenv("MINIRUN_SUBUID_FILE", uidFile)
	t.Setenv("MINIRUN_SUBGID_FILE", gidFile)
	os.WriteFile(uidFile, []byte("alice:100000:65536\n"), 0o644)
	os.WriteFile(gidFile, []byte("containers:100000:65536\n"), 0o644)
	o := RunOptions{UserNS: "auto"}
	err := o.checkUserNS()
	if err == nil || !strings.Contains(err.Error(), "no subordinate UIDs for user containers in "+uidFile) ||
		!strings.Contains(err.Error(), "containers:100000:") {
		t.Fatalf("no delegation: %v", err)
	}
	os.WriteFile(uidFile, []byte("containers:100000:65536\n"), 0o644)
	if err := o.checkUserNS(); err != nil || !o.userns.auto || len(o.userns.uids) != 1 || len(o.userns.gids) != 1 {
		t.Fatalf("delegated: %v %+v", err, o.userns)
	}
	o = RunOptions{UserNS: "auto:size=65537"}
	if err := o.checkUserNS(); err == nil || !strings.Contains(err.Error(), "the largest has 65536") {
		t.Fatalf("too small: %v", err)
	}
	for _, o := range []RunOptions{{UserNS: "auto", Network: "host"}, {UserNS: "auto", Network: "container:x"}, {UserNS: "auto", Privileged: true}} {
		if err := o.checkUserNS(); err == nil || !strings.Contains(err.Error(), "--userns=host") {
			t.Errorf("%+v: want a refusal, got %v", o, err)
		}
	}
	o = RunOptions{UserNS: "host", Network: "host", Privileged: true}
	if err := o.checkUserNS(); err != nil || o.userns.auto {
		t.Fatalf("host: %v", err)
	}
}

func TestAllocateUserNSRecords(t *testing.T) {
	e := New(t.TempDir(), t.TempDir())
	req := usernsRequest{auto: true, size: 1000, uids: []idmap.Range{{Start: 100000, Size: 2500}}, gids: []idmap.Range{{Start: 200000, Size: 2000}}}
	var got []*UserNS
	for i := 0; i < 2; i++ {
		d := e.containerDataDir(newID())
		os.MkdirAll(d, 0o700)
		u, err := e.allocateUserNS(d, req)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := readUserNS(d); err != nil || *r != *u {
			t.Fatalf("recorded %+v %v, allocated %+v", r, err, u)
		}
		got = append(got, u)
	}
	if got[0].UIDs != (idmap.Range{Start: 100000, Size: 1000}) || got[1].UIDs != (idmap.Range{Start: 101000, Size: 1000}) ||
		got[1].GIDs != (idmap.Range{Start: 201000, Size: 1000}) {
		t.Fatalf("allocated %+v %+v", got[0], got[1])
	}
	// GIDs are full now (2000): the third is refused, and says why.
	d := e.containerDataDir(newID())
	os.MkdirAll(d, 0o700)
	if _, err := e.allocateUserNS(d, req); err == nil || !strings.Contains(err.Error(), "no free block of 1000") {
		t.Fatalf("full: %v", err)
	}
}

func TestUserNSCheckUser(t *testing.T) {
	u := &UserNS{UIDs: idmap.Range{Start: 100000, Size: 1000}, GIDs: idmap.Range{Start: 100000, Size: 1000}}
	if err := u.checkUser(specs.User{UID: 999, GID: 999}); err != nil {
		t.Fatal(err)
	}
	if err := u.checkUser(specs.User{UID: 1000}); err == nil {
		t.Fatal("uid 1000 is not mapped")
	}
	if err := u.checkUser(specs.User{AdditionalGids: []uint32{5000}}); err == nil {
		t.Fatal("gid 5000 is not mapped")
	}
	if err := (*UserNS)(nil).checkUser(specs.User{UID: 1 << 30}); err != nil {
		t.Fatal(err)
	}
}

// copyTree keeps owners (a volume seeded from an idmapped image gets the
// container's IDs); it once looked for the wrong Stat_t type and kept none.
func TestCopyTreeKeepsOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "copy")
	os.Mkdir(filepath.Join(src, "d"), 0o750)
	os.WriteFile(filepath.Join(src, "d", "f"), []byte("x"), 0o640)
	os.Lchown(filepath.Join(src, "d"), 1234, 5678)
	os.Lchown(filepath.Join(src, "d", "f"), 100000, 100001)
	if err := copyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string][2]uint32{"d": {1234, 5678}, "d/f": {100000, 100001}} {
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(dst, f), &st); err != nil || st.Uid != want[0] || st.Gid != want[1] {
			t.Errorf("%s: %d:%d %v, want %v", f, st.Uid, st.Gid, err, want)
		}
	}
}

// A container whose record cannot be read stops allocation: its block
// could otherwise be handed out twice.
func TestAllocateUserNSCorruptRecord(t *testing.T) {
	e := New(t.TempDir(), t.TempDir())
	bad := e.containerDataDir("0123456789abcdef")
	os.MkdirAll(bad, 0o700)
	os.WriteFile(filepath.Join(bad, usernsFile), []byte("{"), 0o600)
	d := e.containerDataDir(newID())
	os.MkdirAll(d, 0o700)
	req := usernsRequest{auto: true, size: 10, uids: []idmap.Range{{Start: 100000, Size: 100}}, gids: []idmap.Range{{Start: 100000, Size: 100}}}
	if _, err := e.allocateUserNS(d, req); err == nil || !strings.Contains(err.Error(), "0123456789ab") {
		t.Fatalf("want an error naming the container, got %v", err)
	}
}
