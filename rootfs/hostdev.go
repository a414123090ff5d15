package rootfs

import (
	"io/fs"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// hostDevSkip are the parts of the host's /dev a privileged container does
// not copy (Docker's, i.e. runc's devices.HostDevices): the container has
// its own devpts, shm and mqueue mounts, /dev/fd is a symlink into /proc,
// /dev/console is the container's terminal, and /dev/ptmx links to the
// container's own devpts instance.
var hostDevSkip = map[string]bool{
	"pts": true, "shm": true, "fd": true, "mqueue": true,
	".lxc": true, ".lxd-mounts": true, ".udev": true,
}

// HostDevices lists every device node below dir (the host's /dev), as
// docker run --privileged gives them to the container: character and
// block devices and FIFOs with their major, minor, mode, owner and group.
// Paths are given as under /dev. Symbolic links, sockets, regular files
// and the directories above are skipped, as are /dev/console and /dev/ptmx.
func HostDevices(dir string) ([]specs.LinuxDevice, error) {
	var out []specs.LinuxDevice
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != dir && (os.IsNotExist(err) || os.IsPermission(err)) {
				return nil // vanished meanwhile, or unreadable: skip it
			}
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if p != dir && hostDevSkip[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if rel == "console" || rel == "ptmx" {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return nil
		}
		var typ string
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			typ = "c"
		case unix.S_IFBLK:
			typ = "b"
		case unix.S_IFIFO:
			typ = "p"
		default:
			return nil
		}
		mode := fs.FileMode(st.Mode & 0o777)
		uid, gid := st.Uid, st.Gid
		out = append(out, specs.LinuxDevice{
			Path:     filepath.Join("/dev", rel),
			Type:     typ,
			Major:    int64(unix.Major(uint64(st.Rdev))),
			Minor:    int64(unix.Minor(uint64(st.Rdev))),
			FileMode: &mode,
			UID:      &uid,
			GID:      &gid,
		})
		return nil
	})
	return out, err
}
