package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// HostDevices copies type, numbers, mode and owner, walks subdirectories,
// and skips what Docker skips.
func TestHostDevices(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod needs root")
	}
	dir := t.TempDir()
	mk := func(p string, mode uint32, maj, min uint32) {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := unix.Mknod(full, mode, int(unix.Mkdev(maj, min))); err != nil {
			t.Skipf("mknod: %v", err)
		}
	}
	old := unix.Umask(0)
	defer unix.Umask(old)
	mk("null", unix.S_IFCHR|0o666, 1, 3)
	mk("vda", unix.S_IFBLK|0o660, 254, 0)
	mk("net/tun", unix.S_IFCHR|0o600, 10, 200)
	mk("pts/0", unix.S_IFCHR|0o620, 136, 0)
	mk("console", unix.S_IFCHR|0o600, 5, 1)
	mk("ptmx", unix.S_IFCHR|0o666, 5, 2)
	os.Chown(filepath.Join(dir, "vda"), 0, 6)
	os.Symlink("/proc/self/fd", filepath.Join(dir, "fd"))
	os.WriteFile(filepath.Join(dir, "regular"), nil, 0o644)

	devs, err := HostDevices(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range devs {
		got[d.Path] = d.Type
		if d.Path == "/dev/vda" && (d.Major != 254 || d.Minor != 0 || *d.FileMode != 0o660 || *d.GID != 6 || *d.UID != 0) {
			t.Errorf("vda: %+v mode %o gid %d", d, *d.FileMode, *d.GID)
		}
	}
	want := map[string]string{"/dev/null": "c", "/dev/vda": "b", "/dev/net/tun": "c"}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for p, typ := range want {
		if got[p] != typ {
			t.Errorf("%s: %q, want %q (all: %v)", p, got[p], typ, got)
		}
	}
}
