package security

import (
	"fmt"

	"golang.org/x/sys/unix"
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
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), gptr, 0); e != 0 {
		return fmt.Errorf("setgroups(%v): %w", groups, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)); e != 0 {
		return fmt.Errorf("setresgid(%d): %w", gid, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
		return fmt.Errorf("setresuid(%d): %w", uid, e)
	}
	return nil
}
