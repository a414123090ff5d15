package namespaces

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// Reap runs argv as the only child of a minimal PID 1, the way
// `docker run --init` does with tini:
//   - every signal PID 1 receives is forwarded to the child's process group,
//     so Ctrl-C and `kill` reach the real program;
//   - every orphan that the kernel re-parents to PID 1 is reaped with
//     wait4(2), so zombies never pile up;
//   - when the main child exits, Reap returns its exit code (128+N if a
//     signal N ended it). The caller exits with it, and the kernel then
//     kills whatever is left in the PID namespace.
//
// See man 2 wait4, man 7 pid_namespaces ("The namespace init process").
func Reap(argv []string, env []string) int {
	if len(argv) > 0 && argv[0] == "--" {
		argv = argv[1:] // `minirun-init -- prog args`, as tini and docker-init take it
	}
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "minirun-init: no command given")
		return 127
	}
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs)
	// The child gets a process group of its own (signals go to the whole
	// group), and on a terminal that group becomes the foreground one, so
	// Ctrl-C on the terminal reaches it directly.
	attr := &os.ProcAttr{
		Env:   env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Foreground: isTerminal(0), Ctty: 0},
	}
	path, err := LookPath(argv[0], env)
	if err != nil {
		fmt.Fprintf(os.Stderr, "minirun-init: %v\n", err)
		if errors.Is(err, ErrNotExecutable) {
			return 126
		}
		return 127
	}
	child, err := os.StartProcess(path, argv, attr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "minirun-init: exec %s: %v\n", argv[0], err)
		if os.IsPermission(err) {
			return 126
		}
		return 127
	}
	for {
		select {
		case s := <-sigs:
			switch s {
			case unix.SIGCHLD:
			case unix.SIGURG: // Go's own preemption signal; never forward.
			default:
				_ = unix.Kill(-child.Pid, s.(syscall.Signal))
			}
		}
		// Reap everything that has exited; remember the main child's status.
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err != nil || pid <= 0 {
				break
			}
			if pid == child.Pid {
				if ws.Signaled() {
					return 128 + int(ws.Signal())
				}
				return ws.ExitStatus()
			}
		}
	}
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
