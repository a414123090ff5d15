package container

import (
	"fmt"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
)

// CVE-2019-5736: every minirun process that runs inside a container (init
// until its execve, the exec helper until its execve, and minirun itself
// when a container's program names /proc/self/exe, directly, through a
// symlink or as a #! interpreter) has the host's minirun binary as its
// /proc/<pid>/exe. A process of the container that opens that link with
// O_PATH can, once no minirun runs any more (the OCI verbs exit after
// start), reopen it for writing and replace the host's runtime.
//
// The same holds for minirun-init, the program init and exec's helper run
// when it is installed (initbin.go): replaced, it would run as root on the
// host at the next container start.
//
// sealExe makes such processes run their binary (cmd.Path: minirun-init, or
// /proc/self/exe, our own executable) from a read-only mount of it instead:
// open_tree(2) with OPEN_TREE_CLONE clones the mount of that file,
// detached (it is in no mount table, the host's mounts do not change, it
// goes away with its last reference), mount_setattr(2) makes the clone
// read-only, nosuid and nodev, and cmd executes it through /proc/self/fd/N. /proc/<pid>/exe of the child then names the binary on
// that read-only mount: opening it for writing fails with EROFS, through
// the link or any descriptor made from it. Nothing is copied (runc copies
// the binary into a sealed memfd, or mounts an overlayfs over its
// directory); the cost is two system calls per container start or exec.
//
// Without the privilege to clone mounts (rootless) or on kernels before
// 5.12 (mount_setattr), cmd is left as it is. MINIRUN_NO_EXE_SEAL=1 turns
// it off, for bench/security.sh only: it measures what the seal costs.
//
// The returned func closes the clone's descriptor once cmd has started.
func sealExe(cmd *exec.Cmd) (done func()) {
	noop := func() {}
	if os.Getenv("MINIRUN_NO_EXE_SEAL") == "1" {
		return noop
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, cmd.Path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return noop
	}
	defer unix.Close(fd)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, attr); err != nil {
		return noop
	}
	// The child execs /proc/self/fd/N after os/exec has moved its own
	// descriptors into place (0, 1, 2, 3+ExtraFiles, temporarily up to
	// twice as many): N must be above all of them.
	high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 2*(3+len(cmd.ExtraFiles))+16)
	if err != nil {
		return noop
	}
	cmd.Path = fmt.Sprintf("/proc/self/fd/%d", high)
	return func() { unix.Close(high) }
}
