package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/trace"
)

// DefaultDevices are the device nodes every container gets (the OCI spec
// requires them, whatever config.json lists): man 4 null, man 4 random,
// man 4 tty.
var DefaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

// CreateDevices makes the device nodes in the container's /dev with
// mknod(2): the default ones, then those the spec adds. Inside a user
// namespace mknod is not allowed (a device node is a key to hardware), so
// there the host's node is bind-mounted instead, as runc does.
func CreateDevices(rootfs string, extra []specs.LinuxDevice, bind bool) error {
	old := unix.Umask(0)
	defer unix.Umask(old)
	for _, d := range append(append([]specs.LinuxDevice{}, DefaultDevices...), extra...) {
		var err error
		if bind {
			err = bindDevice(rootfs, d)
		} else {
			err = createDevice(rootfs, d)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func bindDevice(rootfs string, d specs.LinuxDevice) error {
	target, err := deviceTarget(rootfs, d.Path)
	if err != nil {
		return err
	}
	if err := createTarget(target, true); err != nil {
		return fmt.Errorf("create %s: %w", d.Path, err)
	}
	return mount(d.Path, target, "", unix.MS_BIND, "")
}

// deviceTarget is where the node for path goes: the parent directory is
// resolved inside the root, the last component is not followed. A rootfs
// that ships /dev/null as a symlink (to /proc/sys/kernel/core_pattern, say)
// gets the link replaced by the real node, instead of leaving the link at
// /dev/null for MaskPaths to bind over the masked paths (CVE-2025-31133).
func deviceTarget(rootfs, path string) (string, error) {
	dir, err := InRoot(rootfs, filepath.Dir(filepath.Clean("/"+path)))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(path)), nil
}

func createDevice(rootfs string, d specs.LinuxDevice) error {
	target, err := deviceTarget(rootfs, d.Path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	var mode uint32 = 0o666
	if d.FileMode != nil {
		mode = uint32(*d.FileMode) & 0o7777
	}
	switch d.Type {
	case "c", "u":
		mode |= unix.S_IFCHR
	case "b":
		mode |= unix.S_IFBLK
	case "p":
		mode |= unix.S_IFIFO
	default:
		return fmt.Errorf("device %s: unknown type %q (want c, b, u or p)", d.Path, d.Type)
	}
	end := trace.StepWith("rootfs", "mknod(2)", func() string { return "create the device node " + d.Path }, func() string {
		return fmt.Sprintf("mknod(%q, %#o, makedev(%d, %d))", target, mode, d.Major, d.Minor)
	})
	dev := int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))
	err = unix.Mknod(target, mode, dev)
	if errors.Is(err, unix.EEXIST) {
		// The image's own (a file, a symlink, an empty directory) gives way.
		_ = os.Remove(target)
		err = unix.Mknod(target, mode, dev)
	}
	end(err)
	if err != nil {
		return fmt.Errorf("mknod(%q, %o, %d:%d): %w", d.Path, mode, d.Major, d.Minor, err)
	}
	uid, gid := 0, 0
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if err := unix.Lchown(target, uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", d.Path, err)
	}
	return nil
}

// DevSymlinks adds the conventional links of /dev: /dev/fd and
// /dev/std{in,out,err} into /proc/self/fd, /dev/ptmx to the devpts
// instance's multiplexer, /dev/core to /proc/kcore.
func DevSymlinks(rootfs string) error {
	links := [][2]string{
		{"/proc/self/fd", "/dev/fd"},
		{"/proc/self/fd/0", "/dev/stdin"},
		{"/proc/self/fd/1", "/dev/stdout"},
		{"/proc/self/fd/2", "/dev/stderr"},
		{"pts/ptmx", "/dev/ptmx"},
	}
	if _, err := os.Stat("/proc/kcore"); err == nil {
		links = append(links, [2]string{"/proc/kcore", "/dev/core"})
	}
	for _, l := range links {
		p, err := InRoot(rootfs, l[1])
		if err != nil {
			return err
		}
		err = os.Symlink(l[0], p)
		if errors.Is(err, os.ErrExist) {
			_ = os.Remove(p)
			err = os.Symlink(l[0], p)
		}
		if err != nil {
			return fmt.Errorf("symlink %s -> %s: %w", l[1], l[0], err)
		}
	}
	return nil
}

// OpenConsole creates the container's terminal: it opens the multiplexer
// of the container's own devpts instance (so the pty belongs to the
// container, not to the host's /dev/pts), unlocks the pair, and bind-mounts
// the slave side on /dev/console. It returns the master (for the caller
// to send to whoever drives the terminal) and the slave, opened.
// See man 7 pty, man 3 unlockpt, man 3 ptsname, man 2 ioctl_tty.
func OpenConsole(rootfs string) (master, slave *os.File, err error) {
	ptmx, err := InRoot(rootfs, "/dev/pts/ptmx")
	if err != nil {
		return nil, nil, err
	}
	mfd, err := unix.Open(ptmx, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", ptmx, err)
	}
	master = os.NewFile(uintptr(mfd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetInt(mfd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("ptsname: %w", err)
	}
	slavePath, err := InRoot(rootfs, fmt.Sprintf("/dev/pts/%d", n))
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	s, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("open pty slave %s: %w", slavePath, err)
	}
	console, err := InRoot(rootfs, "/dev/console")
	if err == nil {
		err = createTarget(console, true)
	}
	if err == nil {
		err = mount(slavePath, console, "", unix.MS_BIND, "")
	}
	if err != nil {
		master.Close()
		s.Close()
		return nil, nil, fmt.Errorf("bind the pty to /dev/console: %w", err)
	}
	return master, s, nil
}
