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
	consoleHost, consolePeer, err := consoleSocket(o.TTY)
	if err != nil {
		return 0, false, err
	}
	defer consoleHost.Close()
	opts.ConsoleSocket = consolePeer
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
	outDone, release, err := e.relayConsole(consoleHost, o)
	if err != nil {
		return 0, false, err
	}
	defer release()
	if err := e.startAndRecord(p, c); err != nil {
		return 0, false, err
	}
	pid := c.Pid()
	stopping := false
	code, err := relaySignals(sigs, c.Wait, outDone, func(s os.Signal, done <-chan struct{}) {
		// Ctrl-C (SIGINT) and SIGTERM stop the container as `minirun
		// stop` does: its stop signal, then SIGKILL after the timeout. A
		// second one kills at once.
		if s == unix.SIGINT || s == unix.SIGTERM {
			if stopping {
				_ = c.SignalAll(unix.SIGKILL)
				return
			}
			stopping = true
			go e.stopProcess(c, p.meta, done)
			return
		}
		_ = unix.Kill(pid, s.(syscall.Signal))
	})
	oom := e.recordExit(p, c, code)
	return code, oom, err
}

// consoleSocket makes, for a process with a terminal (tty), the socket
// pair its pty master comes back through: host is ours, peer is the
// process's --console-socket, to be closed once the process is made.
// Without tty both are nil (closing them does nothing).
func consoleSocket(tty bool) (host, peer *os.File, err error) {
	if !tty {
		return nil, nil, nil
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair for the console: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "console-host"), os.NewFile(uintptr(fds[1]), "console-container"), nil
}

// relayConsole receives the pty master through consoleHost (from
// consoleSocket; nil: no terminal, nothing to do), attaches our terminal
// to it (o.Stdin, o.Interactive) and copies its output to o.Stdout.
// outDone closes once all of the output is copied (nil without a
// terminal); release restores our terminal and closes the master.
func (e *Engine) relayConsole(consoleHost *os.File, o RunOptions) (outDone chan struct{}, release func(), err error) {
	if consoleHost == nil {
		return nil, func() {}, nil
	}
	master, err := container.RecvFd(consoleHost)
	if err != nil {
		return nil, nil, err
	}
	restore := e.attachTerminal(master, o)
	outDone = make(chan struct{})
	go func() {
		copyOut(o.Stdout, master)
		close(outDone)
	}()
	return outDone, func() { restore(); master.Close() }, nil
}

// relaySignals hands each signal of sigs to forward, one at a time, until
// wait returns (then done, which forward may pass on, is closed), and
// waits for outDone (relayConsole's, if any) before it returns wait's
// result.
func relaySignals(sigs <-chan os.Signal, wait func() (int, error), outDone <-chan struct{}, forward func(s os.Signal, done <-chan struct{})) (int, error) {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				forward(s, done)
			case <-done:
				return
			}
		}
	}()
	code, err := wait()
	close(done)
	if outDone != nil {
		<-outDone
	}
	return code, err
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
