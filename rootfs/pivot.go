package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/trace"
)

// ErrInitramfs explains why pivot_root cannot work on this host.
var ErrInitramfs = errors.New("pivot_root: invalid argument: the host's root is the initial ramfs (rootfs), " +
	"which can never be pivoted away; run with --no-pivot (chroot into a moved mount instead, which is weaker: see docs/ARCHITECTURE.md, section 'The root filesystem')")

// PivotRoot makes rootfs the root of the mount namespace and detaches the
// host's filesystem from it (pivot_root(".", ".") then umount2(".")).
func PivotRoot(rootfs string) error {
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir %s: %w", rootfs, err)
	}
	end := trace.StepFn("rootfs", "make the container's filesystem the root", "pivot_root(2)", func() string { return `pivot_root(".", ".") in ` + rootfs })
	err := unix.PivotRoot(".", ".")
	end(err)
	if err != nil {
		if err == unix.EINVAL && onInitramfs() {
			return ErrInitramfs
		}
		return fmt.Errorf("pivot_root(%q, %q): %w", rootfs, ".", err)
	}
	// The old root is now stacked on top of "/". Make it a slave first so
	// that detaching it cannot propagate an unmount back to the host, then
	// detach it: after this, no path leads out of the container.
	if err := mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return err
	}
	end = trace.Step("rootfs", "detach the host's old root", "umount2(\".\", MNT_DETACH)", "umount(2)")
	err = unix.Unmount(".", unix.MNT_DETACH)
	end(err)
	if err != nil {
		return fmt.Errorf("umount2(old root, MNT_DETACH): %w", err)
	}
	return unix.Chdir("/")
}

// MoveRoot is the fallback for initramfs hosts (runc's --no-pivot): move
// the rootfs mount over "/" and chroot into it. The host's root is still in
// the mount namespace underneath, reachable to a process that can chroot
// again (CAP_SYS_CHROOT), so prefer PivotRoot.
func MoveRoot(rootfs string) error {
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir %s: %w", rootfs, err)
	}
	if err := mount(rootfs, "/", "", unix.MS_MOVE, ""); err != nil {
		return err
	}
	if err := traceChroot(); err != nil {
		return fmt.Errorf("chroot(%q): %w", rootfs, err)
	}
	return unix.Chdir("/")
}

// Chroot is for a container without a mount namespace of its own: it
// changes only the calling process's root, leaving the mount namespace it
// shares with the host as it is.
func Chroot(rootfs string) error {
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir %s: %w", rootfs, err)
	}
	if err := traceChroot(); err != nil {
		return fmt.Errorf("chroot(%q): %w", rootfs, err)
	}
	return unix.Chdir("/")
}

// onInitramfs tells whether "/" is the kernel's initial rootfs (ramfs or
// tmpfs without a parent mount).
func onInitramfs() bool {
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil {
		return false
	}
	return st.Type == unix.RAMFS_MAGIC || st.Type == unix.TMPFS_MAGIC
}

// MaskPaths hides sensitive paths: a file gets /dev/null bind-mounted over
// it, a directory an empty read-only tmpfs. A path that does not exist is
// skipped. Call it after pivot_root (paths are container paths).
//
// The /dev/null bound is checked first: it must be the null device (char
// 1:3), opened without following a symlink, and the mount is made from
// that descriptor. The rootfs's own /dev/null, if /dev is not a tmpfs of
// ours, could otherwise send a file of the container's choosing (a procfs
// knob of the host) over the masked paths (CVE-2025-31133).
func MaskPaths(paths []string) error {
	null := -1
	defer func() {
		if null >= 0 {
			unix.Close(null)
		}
	}()
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return fmt.Errorf("mask %s: %w", p, err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("mask %s: is a symlink, refusing to follow it", p)
		}
		if fi.IsDir() {
			err = mount("tmpfs", p, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=0,mode=0555")
		} else {
			if null < 0 {
				if null, err = openDevNull(); err != nil {
					return fmt.Errorf("mask %s: %w", p, err)
				}
			}
			err = mount(fmt.Sprintf("/proc/self/fd/%d", null), p, "", unix.MS_BIND, "")
		}
		if err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	return nil
}

// ReadonlyPaths bind-mounts each existing path onto itself read-only.
func ReadonlyPaths(paths []string) error {
	for _, p := range paths {
		if _, err := os.Lstat(p); err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return fmt.Errorf("read-only %s: %w", p, err)
		}
		if err := mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
		if err := remountBind(p, unix.MS_RDONLY|unix.MS_REC); err != nil {
			return err
		}
	}
	return nil
}

// RemountRootReadonly makes "/" read-only (root.readonly in config.json,
// docker run --read-only).
func RemountRootReadonly() error {
	return remountBind("/", unix.MS_RDONLY)
}

// openDevNull opens /dev/null as an O_PATH descriptor, refusing anything
// but the null device itself.
func openDevNull() (int, error) {
	fd, err := unix.Open("/dev/null", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /dev/null: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("stat /dev/null: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(uint64(st.Rdev)) != 1 || unix.Minor(uint64(st.Rdev)) != 3 {
		unix.Close(fd)
		return -1, fmt.Errorf("/dev/null is not the null device (mode %#o, device %d:%d)", st.Mode, unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)))
	}
	return fd, nil
}
