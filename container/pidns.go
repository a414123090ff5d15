package container

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/namespaces"
)

// startInitInPIDNamespace is startInit for a spec that names an existing
// PID namespace (docker run --pid container:X, a podman pod sharing its
// PID namespace). A process cannot move into another PID namespace, but
// setns(CLONE_NEWPID) decides where the calling thread's next children
// are born (/proc/thread-self/ns/pid_for_children): so this thread joins,
// forks init, and goes back to its own namespace, which setns never
// changed for the thread itself (man 2 setns, man 7 pid_namespaces).
// Init then is not PID 1: the namespace's init belongs to the other
// container.
func startInitInPIDNamespace(cmd *exec.Cmd, spec *specs.Spec, path string) error {
	runtime.LockOSThread() // the thread that joins must be the one that forks
	own, err := os.Open("/proc/thread-self/ns/pid")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer own.Close()
	if err := namespaces.Join(path, namespaces.Type(specs.PIDNamespace)); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	err = startInit(cmd, spec)
	if rerr := unix.Setns(int(own.Fd()), unix.CLONE_NEWPID); rerr != nil {
		// Every later child of this thread would be born in the
		// container: fail, and leave the thread locked to this goroutine
		// so that no other goroutine forks from it.
		if err == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		return errors.Join(err, fmt.Errorf("setns back to minirun's own PID namespace: %w", rerr))
	}
	runtime.UnlockOSThread()
	return err
}

// pidNamespacePath is the path of the PID namespace the spec joins, or "".
func pidNamespacePath(spec *specs.Spec) string {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.PIDNamespace && ns.Path != "" {
			return ns.Path
		}
	}
	return ""
}
