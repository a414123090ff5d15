package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestShiftedCopy(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chown, mknod and trusted.* attributes")
	}
	src := t.TempDir()
	dst := filepath.Join(t.TempDir(), "copy")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(src, "opaque"), 0o755))
	must(unix.Lsetxattr(filepath.Join(src, "opaque"), "trusted.overlay.opaque", []byte("y"), 0))
	must(os.WriteFile(filepath.Join(src, "suid"), []byte("x"), 0o755))
	must(unix.Chmod(filepath.Join(src, "suid"), 0o4755))
	must(os.WriteFile(filepath.Join(src, "far"), []byte("y"), 0o644))
	must(os.Lchown(filepath.Join(src, "far"), 70000, 1000))
	must(os.Link(filepath.Join(src, "suid"), filepath.Join(src, "hard")))
	must(os.Symlink("/suid", filepath.Join(src, "link")))
	must(unix.Mknod(filepath.Join(src, "gone"), unix.S_IFCHR, 0)) // a whiteout
	old := int64(1_000_000_000)
	must(unix.UtimesNano(filepath.Join(src, "opaque"), []unix.Timespec{unix.NsecToTimespec(old), unix.NsecToTimespec(old)}))

	must(ShiftedCopy(src, dst, IDShift{UIDBase: 100000, GIDBase: 200000, Size: 65536}))

	check := func(name string, uid, gid uint32, mode uint32) unix.Stat_t {
		t.Helper()
		var st unix.Stat_t
		must(unix.Lstat(filepath.Join(dst, name), &st))
		if st.Uid != uid || st.Gid != gid || (mode != 0 && st.Mode != mode) {
			t.Errorf("%s: %d:%d mode %o, want %d:%d mode %o", name, st.Uid, st.Gid, st.Mode, uid, gid, mode)
		}
		return st
	}
	check(".", 100000, 200000, 0)
	st := check("opaque", 100000, 200000, unix.S_IFDIR|0o755)
	if st.Mtim.Nano() != old {
		t.Errorf("opaque's mtime %d, want %d", st.Mtim.Nano(), old)
	}
	check("suid", 100000, 200000, unix.S_IFREG|0o4755)
	check("far", 65534, 201000, 0)
	check("link", 100000, 200000, unix.S_IFLNK|0o777)
	if st := check("gone", 100000, 200000, unix.S_IFCHR); st.Rdev != 0 {
		t.Errorf("whiteout rdev %d", st.Rdev)
	}
	a, b := check("suid", 100000, 200000, 0), check("hard", 100000, 200000, 0)
	if a.Ino != b.Ino {
		t.Error("the hard link became a copy")
	}
	v := make([]byte, 8)
	if n, err := unix.Lgetxattr(filepath.Join(dst, "opaque"), "trusted.overlay.opaque", v); err != nil || string(v[:n]) != "y" {
		t.Errorf("opaque xattr: %q %v", v[:n], err)
	}
	// The source is untouched.
	var s0 unix.Stat_t
	must(unix.Lstat(filepath.Join(src, "suid"), &s0))
	if s0.Uid != 0 {
		t.Errorf("source chowned: %d", s0.Uid)
	}
}
