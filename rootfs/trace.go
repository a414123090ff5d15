package rootfs

import (
	"cmp"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/trace"
)

// traceMount starts the trace step of one mount(2): the plain words say
// what kind of mount it is, the call carries every argument.
func traceMount(source, target, fstype string, flags uintptr, data string) trace.End {
	return traceMountAs(source, target, "", fstype, flags, data)
}

// traceMountAs is traceMount for a mount onto a handle: target is
// /proc/self/fd/N, shown the path in the container it stands for.
func traceMountAs(source, target, shown, fstype string, flags uintptr, data string) trace.End {
	return trace.StepWith("rootfs", "mount(2)", func() string { return mountWords(source, cmp.Or(shown, target), fstype, flags) }, func() string {
		call := fmt.Sprintf("mount(%q, %q, %q, %s, %q)", source, target, fstype, MountFlagNames(flags), data)
		if shown != "" {
			call += " — " + strings.TrimPrefix(target, "/proc/self/fd/") + " is the handle of " + shown
		}
		return call
	})
}

func mountWords(source, target, fstype string, flags uintptr) string {
	where := shortPath(target)
	switch {
	case flags&unix.MS_REMOUNT != 0 && flags&unix.MS_RDONLY != 0:
		return "make " + where + " read-only"
	case flags&unix.MS_REMOUNT != 0:
		return "change the flags of " + where
	case flags&unix.MS_MOVE != 0:
		return "move the root filesystem onto /"
	case flags&unix.MS_BIND != 0:
		return "bind " + shortPath(source) + " on " + where
	case flags&unix.MS_PRIVATE != 0:
		return "stop mount propagation below " + where
	case flags&unix.MS_SLAVE != 0:
		return "receive, never send, mounts at " + where
	case flags&unix.MS_SHARED != 0:
		return "share mounts below " + where
	case fstype == "overlay":
		return "stack the image's layers (overlayfs)"
	}
	return "mount a " + fstype + " filesystem on " + where
}

// shortPath keeps the last two elements of a long path: the trace's
// call column has the whole of it.
func shortPath(p string) string {
	if p == "" || p == "." {
		return p
	}
	if strings.Count(p, "/") <= 2 {
		return p
	}
	return "…/" + filepath.Base(filepath.Dir(p)) + "/" + filepath.Base(p)
}

var mountFlagNames = []struct {
	flag uintptr
	name string
}{
	{unix.MS_RDONLY, "MS_RDONLY"}, {unix.MS_NOSUID, "MS_NOSUID"}, {unix.MS_NODEV, "MS_NODEV"},
	{unix.MS_NOEXEC, "MS_NOEXEC"}, {unix.MS_SYNCHRONOUS, "MS_SYNCHRONOUS"}, {unix.MS_REMOUNT, "MS_REMOUNT"},
	{unix.MS_MANDLOCK, "MS_MANDLOCK"}, {unix.MS_DIRSYNC, "MS_DIRSYNC"}, {unix.MS_NOATIME, "MS_NOATIME"},
	{unix.MS_NODIRATIME, "MS_NODIRATIME"}, {unix.MS_BIND, "MS_BIND"}, {unix.MS_MOVE, "MS_MOVE"},
	{unix.MS_REC, "MS_REC"}, {unix.MS_SILENT, "MS_SILENT"}, {unix.MS_UNBINDABLE, "MS_UNBINDABLE"},
	{unix.MS_PRIVATE, "MS_PRIVATE"}, {unix.MS_SLAVE, "MS_SLAVE"}, {unix.MS_SHARED, "MS_SHARED"},
	{unix.MS_RELATIME, "MS_RELATIME"}, {unix.MS_STRICTATIME, "MS_STRICTATIME"}, {unix.MS_LAZYTIME, "MS_LAZYTIME"},
}

// MountFlagNames spells mount flags as mount(2) does: "MS_BIND|MS_REC"
// ("0" for none).
func MountFlagNames(f uintptr) string {
	var names []string
	for _, n := range mountFlagNames {
		if f&n.flag != 0 {
			names = append(names, n.name)
			f &^= n.flag
		}
	}
	if f != 0 {
		names = append(names, fmt.Sprintf("%#x", f))
	}
	if len(names) == 0 {
		return "0"
	}
	return strings.Join(names, "|")
}

// traceChroot is chroot(".") in the trace.
func traceChroot() error {
	end := trace.Step("rootfs", "make the current directory the root", "chroot(\".\")", "chroot(2)")
	err := unix.Chroot(".")
	end(err)
	return err
}
