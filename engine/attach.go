package engine

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/minirun/minirun/container"
)

// forwarded are the signals `run` passes on to the container's PID 1
// (docker run --sig-proxy). SIGCHLD, SIGWINCH, SIGPIPE and SIGURG (Go's own
// preemption signal) are ours.
var forwarded = []os.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2,
	unix.SIGALRM, unix.SIGCONT, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGVTALRM,
	unix.SIGPROF, unix.SIGIO, unix.SIGPWR, unix.SIGSYS, unix.SIGTRAP, unix.SIGXCPU, unix.SIGXFSZ,
}

// execute creates, starts and waits for the container: the attached
// `run` is the container's monitor. It returns the exit code and whether
// the OOM killer struck.
func (e *Engine) execute(p *prepared, o RunOptions) (int, bool, error) {
	// The container must not outlive a killed `minirun run`: init gets
	// PR_SET_PDEATHSIG, which fires when the creating *thread* exits, so
	// this goroutine keeps its thread until the container is gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	e.becomeMonitor(p.id)
	opts := container.CreateOpts{Stdout: o.Stdout, Stderr: o.Stderr, DieWithParent: true}
	if o.Interactive {
		opts.Stdin = o.Stdin
	}
	var consoleHost *os.File
	if o.TTY {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return 0, false, fmt.Errorf("socketpair for the console: %w", err)
		}
		consoleHost = os.NewFile(uintptr(fds[0]), "console-host")
		opts.ConsoleSocket = os.NewFile(uintptr(fds[1]), "console-container")
		defer consoleHost.Close()
	}
	// Signals that arrive while the container is being made are held and
	// delivered once it runs.
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)

	c, err := e.launch(p, opts)
	if opts.ConsoleSocket != nil {
		opts.ConsoleSocket.Close()
	}
	if err != nil {
		return 0, false, err
	}
	var outDone chan struct{}
	if o.TTY {
		master, err := container.RecvFd(consoleHost)
		if err != nil {
			return 0, false, err
		}
		defer master.Close()
		restore := e.attachTerminal(master, o)
		defer restore()
		outDone = make(chan struct{})
		go func() {
			copyOut(o.Stdout, master)
			close(outDone)
		}()
	}
	if err := e.startAndRecord(p, c); err != nil {
		return 0, false, err
	}
	pid := c.Pid()
	done := make(chan struct{})
	go func() {
		stopping := false
		for {
			select {
			case s := <-sigs:
				// Ctrl-C (SIGINT) and SIGTERM stop the container as
				// `minirun stop` does: its stop signal, then SIGKILL after
				// the timeout. A second one kills at once.
				if s == unix.SIGINT || s == unix.SIGTERM {
					if stopping {
						_ = c.SignalAll(unix.SIGKILL)
						continue
					}
					stopping = true
					go e.stopProcess(c, p.meta, done)
					continue
				}
				_ = unix.Kill(pid, s.(syscall.Signal))
			case <-done:
				return
			}
		}
	}()
	code, err := c.Wait()
	close(done)
	if outDone != nil {
		<-outDone
	}
	oom := e.recordExit(p, c, code)
	return code, oom, err
}

// attachTerminal connects our terminal to the container's pty master: raw
// mode on our side (the container's line discipline does the echoing and
// Ctrl-C), our window size on theirs and again on every SIGWINCH.
// It returns the function that restores our terminal.
func (e *Engine) attachTerminal(master *os.File, o RunOptions) func() {
	restore := func() {}
	inFd := int(o.Stdin.Fd())
	if term.IsTerminal(inFd) {
		if st, err := term.MakeRaw(inFd); err == nil {
			restore = func() { _ = term.Restore(inFd, st) }
		}
		resize := func() {
			if ws, err := unix.IoctlGetWinsize(inFd, unix.TIOCGWINSZ); err == nil {
				_ = unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws)
			}
		}
		resize()
		winch := make(chan os.Signal, 4)
		signal.Notify(winch, unix.SIGWINCH)
		go func() {
			for range winch {
				resize()
			}
		}()
		prev := restore
		restore = func() { signal.Stop(winch); prev() }
	}
	if o.Interactive {
		go func() { _, _ = io.Copy(master, o.Stdin) }()
	}
	return restore
}
