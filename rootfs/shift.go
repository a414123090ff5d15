package rootfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// IDShift is the mapping of a user namespace with one range: IDs
// 0..Size-1 inside are Base.. on the host (UIDBase for users, GIDBase for
// groups).
type IDShift struct {
	UIDBase, GIDBase, Size uint32
}

// overflowID is what the kernel shows for an ID a mapping lacks
// (/proc/sys/kernel/overflowuid): nobody.
const overflowID = 65534

func (s IDShift) uid(id uint32) int {
	if id >= s.Size {
		return overflowID
	}
	return int(s.UIDBase + id)
}

func (s IDShift) gid(id uint32) int {
	if id >= s.Size {
		return overflowID
	}
	return int(s.GIDBase + id)
}

// ShiftedCopy copies the tree src to dst (which must not exist) with
// every owner moved by the shift: a file of uid 0 becomes the host's
// UIDBase, as the user namespace's root would see its own file. It is
// the fallback where idmapped mounts are missing (podman's "chown"
// storage): a layer copied whole for a mapping, so it costs the layer's
// size on disk and the time to copy it. Everything overlayfs needs of a
// layer is kept: modes, times, symlinks, hard links, device nodes (the
// 0/0 character devices are whiteouts) and extended attributes
// (trusted.overlay.opaque marks an opaque directory). An ID outside the
// mapping becomes nobody (65534), as an idmapped mount shows it.
func ShiftedCopy(src, dst string, s IDShift) error {
	type dirTimes struct {
		path string
		ts   []unix.Timespec
	}
	var dirs []dirTimes
	links := map[[2]uint64]string{} // (dev, inode) → the copy made first
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return &os.PathError{Op: "lstat", Path: path, Err: err}
		}
		ts := []unix.Timespec{st.Atim, st.Mtim}
		mode := st.Mode & unix.S_IFMT
		if mode != unix.S_IFDIR && st.Nlink > 1 {
			key := [2]uint64{st.Dev, st.Ino}
			if first, ok := links[key]; ok {
				return os.Link(first, target)
			}
			links[key] = target
		}
		switch mode {
		case unix.S_IFDIR:
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, dirTimes{target, ts})
		case unix.S_IFREG:
			if err := copyRegular(path, target); err != nil {
				return err
			}
		case unix.S_IFLNK:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		default: // devices (whiteouts), FIFOs, sockets
			if err := unix.Mknod(target, st.Mode, int(st.Rdev)); err != nil {
				return &os.PathError{Op: "mknod", Path: target, Err: err}
			}
		}
		// chown before the attributes: it would drop security.capability.
		if err := os.Lchown(target, s.uid(st.Uid), s.gid(st.Gid)); err != nil {
			return err
		}
		if err := copyXattrs(path, target); err != nil {
			return err
		}
		if mode != unix.S_IFLNK {
			// After chown, which clears set-user-ID and set-group-ID.
			if err := unix.Fchmodat(unix.AT_FDCWD, target, st.Mode&0o7777, 0); err != nil {
				return &os.PathError{Op: "chmod", Path: target, Err: err}
			}
		}
		if mode != unix.S_IFDIR {
			return unix.UtimesNanoAt(unix.AT_FDCWD, target, ts, unix.AT_SYMLINK_NOFOLLOW)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("copy %s with shifted owners: %w", src, err)
	}
	// A directory's times last: filling it changed them.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, dirs[i].path, dirs[i].ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	return nil
}

func copyRegular(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil { // copy_file_range(2) where it can
		out.Close()
		return err
	}
	return out.Close()
}

// copyXattrs copies every extended attribute of src to dst (not
// following symlinks); a filesystem without them has none to copy.
func copyXattrs(src, dst string) error {
	size, err := unix.Llistxattr(src, nil)
	if err != nil || size == 0 {
		if errors.Is(err, unix.ENOTSUP) {
			return nil
		}
		return err
	}
	buf := make([]byte, size)
	if size, err = unix.Llistxattr(src, buf); err != nil {
		return err
	}
	for _, name := range splitNul(buf[:size]) {
		vsize, err := unix.Lgetxattr(src, name, nil)
		if err != nil {
			return &os.PathError{Op: "lgetxattr " + name, Path: src, Err: err}
		}
		val := make([]byte, vsize)
		if vsize, err = unix.Lgetxattr(src, name, val); err != nil {
			return &os.PathError{Op: "lgetxattr " + name, Path: src, Err: err}
		}
		if err := unix.Lsetxattr(dst, name, val[:vsize], 0); err != nil {
			return &os.PathError{Op: "lsetxattr " + name, Path: dst, Err: err}
		}
	}
	return nil
}

func splitNul(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return out
}
