package security

import (
	"bytes"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/trace"
)

// SwitchUser sets the supplementary groups, then the group, then the user
// of the calling thread. It uses the raw system calls on purpose: the
// container init runs them on one locked thread right before execve(2), and
// execve keeps only that thread. (Go's syscall.Setuid would broadcast the
// change to every thread of the runtime, which is not needed here.)
func SwitchUser(uid, gid uint32, additional []uint32) error {
	groups := make([]uint32, len(additional))
	copy(groups, additional)
	var gptr uintptr
	if len(groups) > 0 {
		gptr = uintptrOf(&groups[0])
	}
	end := trace.StepFn("security", "set the supplementary groups", "setgroups(2)", func() string { return fmt.Sprintf("setgroups(%d, %v)", len(groups), groups) })
	_, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), gptr, 0)
	end(errnoErr(e))
	if e != 0 && !(e == unix.EPERM && setgroupsDenied()) {
		return fmt.Errorf("setgroups(%v): %w", groups, e)
	}
	end = trace.StepFn("security", "become the container's group", "setresgid(2)", func() string { return fmt.Sprintf("setresgid(%d, %d, %d)", gid, gid, gid) })
	_, _, e = unix.RawSyscall(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid))
	end(errnoErr(e))
	if e != 0 {
		return fmt.Errorf("setresgid(%d): %w", gid, e)
	}
	end = trace.StepFn("security", "become the container's user", "setresuid(2)", func() string { return fmt.Sprintf("setresuid(%d, %d, %d)", uid, uid, uid) })
	_, _, e = unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid))
	end(errnoErr(e))
	if e != 0 {
		return fmt.Errorf("setresuid(%d): %w", uid, e)
	}
	return nil
}

// setgroupsDenied tells whether this user namespace forbids setgroups(2):
// an unprivileged user who wrote its own gid map had to write "deny" to
// /proc/PID/setgroups first (rootless mode; man 7 user_namespaces). The
// process then keeps the groups it has, as runc does.
func setgroupsDenied() bool {
	b, err := os.ReadFile("/proc/self/setgroups")
	return err == nil && string(bytes.TrimSpace(b)) == "deny"
}

// errnoErr is a raw system call's errno as an error (nil for 0).
func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}
