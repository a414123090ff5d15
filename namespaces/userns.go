package namespaces

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// UserNamespace makes a new user namespace with the given ID maps and
// returns a descriptor of it (/proc/<pid>/ns/user), for things that take
// a user namespace by descriptor: an idmapped mount's MOUNT_ATTR_IDMAP
// (mount_setattr(2)). The namespace lives as long as the descriptor.
//
// A user namespace needs a process to be made in, and to have its maps
// written; this one is a throwaway child cloned with CLONE_NEWUSER, as
// runc does for idmapped mounts: started with PTRACE_TRACEME, it stops
// with SIGTRAP at its execve(2) before running any instruction of the
// program, so it needs no program of its own to wait in. Go's fork
// writes the maps before that exec; the child is killed and reaped once
// its namespace is open.
func UserNamespace(uidMaps, gidMaps []syscall.SysProcIDMap) (*os.File, error) {
	proc, err := os.StartProcess("/proc/self/exe", []string{"minirun-userns-holder"}, &os.ProcAttr{
		Sys: &syscall.SysProcAttr{
			Cloneflags:  unix.CLONE_NEWUSER,
			UidMappings: uidMaps,
			GidMappings: gidMaps,
			Ptrace:      true,
			Pdeathsig:   unix.SIGKILL,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("make a user namespace for the ID maps (clone CLONE_NEWUSER): %w", err)
	}
	defer func() {
		_ = proc.Kill()
		_, _ = proc.Wait()
	}()
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", proc.Pid))
	if err != nil {
		return nil, fmt.Errorf("open the new user namespace: %w", err)
	}
	return f, nil
}
