package integration

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// minirunAs runs minirun as another user.
func minirunAs(t *testing.T, uid uint32, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = minirunEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	_ = cmd.Run()
	return result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
}

// openPty returns a new pseudo-terminal pair of the host.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

func itoa(n int) string { return fmtInt(n) }

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// syncBuffer collects a pty's output for the test to read while it grows.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("terminal never showed %q; output:\n%s", s, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTTY drives `run -it` through a real pty, like a person at a terminal:
// the container gets a terminal of its own with our window size, echoes
// what we type, and exits with the shell's code.
func TestTTY(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--rm", "-it", "busybox", "sh"},
		// At a terminal, `run busybox sh` with neither -i nor -t is a shell too.
		{"run", "--rm", "busybox", "sh"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) { testTTY(t, args) })
	}
}

func testTTY(t *testing.T, args []string) {
	p := startAtTerminal(t, 33, 101, args...)
	// Each step waits for the shell's answer to the previous one: the VM
	// runs ten times slower than the host, so fixed pauses would race.
	io.WriteString(p.master, "tty; stty size; echo pid=$$ term=$TERM\n")
	p.out.waitFor(t, "pid=1 term=xterm\r\n")
	// A window resize: the kernel sends SIGWINCH to minirun (the terminal's
	// foreground process), which passes the new size to the container's pty.
	if err := unix.IoctlSetWinsize(int(p.master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 44, Col: 120}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.out.String(), "44 120") && time.Now().Before(deadline) {
		io.WriteString(p.master, "stty size\n")
		time.Sleep(200 * time.Millisecond)
	}
	io.WriteString(p.master, "exit 5\n")
	code := p.wait(t)
	<-p.outDone
	if code != 5 {
		t.Errorf("exit code %d, want 5", code)
	}
	p.shows(t, "/dev/pts/0", "33 101", "pid=1 term=xterm", "44 120")
	assertClean(t)
}

// atTerminal is minirun started at a terminal of its own: a new pty of the
// host is its stdin, stdout, stderr and controlling terminal. out collects
// what the terminal shows.
type atTerminal struct {
	master  *os.File // closed at cleanup
	cmd     *exec.Cmd
	out     *syncBuffer
	outDone chan struct{} // closed when the master has nothing more to read
}

// startAtTerminal starts minirun with args on a new pty of rows x cols.
func startAtTerminal(t *testing.T, rows, cols uint16, args ...string) *atTerminal {
	t.Helper()
	master, slave := openPty(t)
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = minirunEnv()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	p := &atTerminal{master: master, cmd: cmd, out: &syncBuffer{}, outDone: make(chan struct{})}
	go func() { io.Copy(p.out, master); close(p.outDone) }()
	return p
}

// wait waits up to 30s for minirun to exit (or kills it and fails the
// test) and returns its exit code.
func (p *atTerminal) wait(t *testing.T) int {
	t.Helper()
	waitErr := make(chan error, 1)
	go func() { waitErr <- p.cmd.Wait() }()
	select {
	case <-waitErr:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("%s did not exit; output so far:\n%s", strings.Join(p.cmd.Args[1:], " "), p.out.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// shows checks that the terminal has shown each of want.
func (p *atTerminal) shows(t *testing.T, want ...string) {
	t.Helper()
	got := p.out.String()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("terminal output lacks %q:\n%s", w, got)
		}
	}
}

// checkSignalForwarded starts minirun with args and, as the command, a
// shell that prints "ready" and exits 3 on SIGTERM; it sends minirun
// SIGTERM once the shell is ready and wants the trap's line and exit
// code back. what names the shell in a failure.
func checkSignalForwarded(t *testing.T, what string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, append(args, "sh", "-c", `trap 'echo got TERM; exit 3' TERM; echo ready; while true; do sleep 0.1; done`)...)
	cmd.Env = minirunEnv()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "ready" {
		cmd.Process.Kill()
		t.Fatalf("%s did not start: %q", what, sc.Text())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	var rest []string
	for sc.Scan() {
		rest = append(rest, sc.Text())
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 3 || strings.Join(rest, "\n") != "got TERM" {
		t.Fatalf("exit %d, output %q; want 3 and the trap's line", code, rest)
	}
}

// Signals sent to minirun reach the container's PID 1.
func TestSignalForwarding(t *testing.T) {
	checkSignalForwarded(t, "container", "run", "--rm", "busybox")
	assertClean(t)
}

// A container killed from outside by SIGKILL reports 137.
func TestKilledFromOutside(t *testing.T) {
	cmd := exec.Command(bin, "run", "--rm", "busybox", "sh", "-c", "echo ready; sleep 100")
	cmd.Env = minirunEnv()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	bufio.NewReader(stdout).ReadString('\n')
	// The container's init is minirun's only child (any of its threads
	// may have started it).
	kids, _ := filepath.Glob("/proc/" + fmtInt(cmd.Process.Pid) + "/task/*/children")
	var pids []string
	for _, k := range kids {
		b, _ := os.ReadFile(k)
		pids = append(pids, strings.Fields(string(b))...)
	}
	if len(pids) != 1 {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		t.Fatalf("want one container process, found %v", pids)
	}
	pid, _ := strconv.Atoi(pids[0])
	syscall.Kill(pid, syscall.SIGKILL)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 137 {
		t.Fatalf("exit %d, want 137", code)
	}
	assertClean(t)
}

func TestInitReaper(t *testing.T) {
	r := run(t, 0, "run", "--rm", "--init", "busybox", "sh", "-c",
		"cat /proc/1/cmdline | tr '\\0' ' '; echo; (sleep 0.1 &); sleep 0.5; ps -o stat,comm | grep -c '^Z' || true")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "/sbin/minirun-init -- sh -c") || lines[1] != "0" {
		t.Fatalf("--init: got %q (want minirun-init as PID 1 and no zombie)", r.stdout)
	}
}
