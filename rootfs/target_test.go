package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMountTarget: mount points are created where dest leads inside the
// root, by the walk (no symlink on the way) and by the general path (a
// symlink of the image, followed as if the root were "/"), and the handles
// of a mountPoint name what they should. Needs no privileges: nothing is
// mounted.
func TestMountTarget(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	must(os.Symlink("/etc", filepath.Join(root, "link")))              // absolute: inside the root
	must(os.Symlink(outside, filepath.Join(root, "escape")))           // points at the host's dir
	must(os.Symlink("../../..", filepath.Join(root, "etc", "dotdot"))) // climbs above the root
	must(os.WriteFile(filepath.Join(root, "etc", "hosts"), nil, 0o644))
	must(os.Symlink("hosts", filepath.Join(root, "etc", "hosts-link"))) // a file bind mount's target

	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	must(err)
	defer unix.Close(rfd)
	// Every descriptor a mountPoint holds (the root's among them, when it
	// is the parent) is closed with it.
	fds := func() int { e, _ := os.ReadDir("/proc/self/fd"); return len(e) }
	// The general path keeps a handle of /proc open for good
	// (filepath-securejoin): let it open that first.
	warm, err := mountTarget(root, "/link/warm", false)
	must(err)
	warm.Close()
	before := fds()
	defer func() {
		if after := fds(); after != before {
			t.Errorf("open descriptors: %d before the mount points, %d after", before, after)
		}
	}()

	for _, c := range []struct {
		dest string
		file bool
		walk bool   // the walk handles it (no symlink on the way)
		want string // where the mount point is, relative to root
	}{
		{"/proc", false, true, "proc"},
		{"/dev/shm", false, true, "dev/shm"},
		{"/a/b/c", false, true, "a/b/c"},
		{"//a/./b/c/", false, true, "a/b/c"},
		{"/etc/hosts", true, true, "etc/hosts"},
		{"/etc/new.conf", true, true, "etc/new.conf"},
		{"/link/sub", false, false, "etc/sub"},
		{"/link", false, false, "etc"},
		{"/etc/hosts-link", true, false, "etc/hosts"},
		{"/escape/x", false, false, "escape/x"},
		{"/etc/dotdot/y", false, false, "y"},
		{"/a/../up", false, false, "up"},
	} {
		mp, ok, err := walkTarget(rfd, c.dest, c.file)
		if err != nil {
			t.Fatalf("%s: walk: %v", c.dest, err)
		}
		if ok != c.walk {
			t.Errorf("%s: walk handled it: %v, want %v", c.dest, ok, c.walk)
		}
		if ok {
			// The parent may be rfd itself, kept for the next case.
			unix.Close(mp.h)
			if mp.parent != rfd {
				unix.Close(mp.parent)
			}
		}
		mp, err = mountTarget(root, c.dest, c.file)
		if err != nil {
			t.Fatalf("%s: %v", c.dest, err)
		}
		got, err := os.Readlink(procFd(mp.h))
		must(err)
		want := filepath.Join(root, c.want)
		if c.dest == "/escape/x" {
			// The link's target is an absolute host path: inside the
			// root it is that path below the root.
			want = filepath.Join(root, outside, "x")
		}
		if got != want {
			t.Errorf("%s: mount point %s, want %s", c.dest, got, want)
		}
		fi, err := os.Stat(got)
		must(err)
		if fi.IsDir() == c.file {
			t.Errorf("%s: a directory: %v, want %v", c.dest, fi.IsDir(), !c.file)
		}
		// parent/base is the mount point itself.
		var a, b unix.Stat_t
		must(unix.Fstatat(mp.parent, mp.base, &b, unix.AT_SYMLINK_NOFOLLOW))
		must(unix.Fstat(mp.h, &a))
		if a.Ino != b.Ino || a.Dev != b.Dev {
			t.Errorf("%s: parent handle and name %q are not the mount point", c.dest, mp.base)
		}
		mp.Close()
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("something was created outside the root: %v", ents)
	}
	// The root itself is no mount point.
	if _, err := mountTarget(root, "/", false); err == nil {
		t.Error("mount point / was accepted")
	}
}
