package namespaces

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/trace"
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

// WriteMapsWithHelpers writes pid's uid and gid maps with newuidmap(1)
// and newgidmap(1): setuid-root programs that let an ordinary user map the
// ranges /etc/subuid and /etc/subgid delegate to it (and its own ID),
// which the kernel lets no unprivileged process write itself (rootless
// mode with subordinate IDs, docs/ROOTLESS.md).
func WriteMapsWithHelpers(pid int, uids, gids []specs.LinuxIDMapping) error {
	for _, h := range []struct {
		tool string
		maps []specs.LinuxIDMapping
	}{{"newuidmap", uids}, {"newgidmap", gids}} {
		args := []string{strconv.Itoa(pid)}
		for _, m := range h.maps {
			args = append(args, strconv.FormatUint(uint64(m.ContainerID), 10), strconv.FormatUint(uint64(m.HostID), 10), strconv.FormatUint(uint64(m.Size), 10))
		}
		end := trace.Step("namespaces", "write the user namespace's ID map with the setuid helper", h.tool+" "+strings.Join(args, " "), h.tool+"(1)")
		out, err := exec.Command(h.tool, args...).CombinedOutput()
		end(err)
		if err != nil {
			return fmt.Errorf("%s %s: %v: %s", h.tool, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}
