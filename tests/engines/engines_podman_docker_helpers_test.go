package engines

// Helpers of podman_test.go and docker_test.go: a private world for one
// engine (temporary directory, minirun binary, busybox tar, a cgroup
// parent below this process's own cgroup) that is taken down even when a
// test fails, commands with timeouts, and a pseudo-terminal to drive
// `run -it` with.

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pdNeedRoot skips as another user, and fails with an install hint when an
// engine's programs are missing (CI installs them: see .ci/run).
func pdNeedRoot(tb testing.TB, pkg string, programs ...string) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skipf("skipping: %s drives real containers through minirun and needs root (run `sudo make test`)", pkg)
	}
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			tb.Fatalf("%s not found: install it with `apt-get install -y %s` (Debian), as .ci/run does", p, pkg)
		}
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		tb.Fatal("unshare not found: install util-linux")
	}
}

// pdWorld is one engine's private corner of the host.
type pdWorld struct {
	tb       testing.TB
	dir      string // short: conmon's and dockerd's socket paths must fit in sun_path
	minirun  string
	busybox  string // tar of a busybox root filesystem
	cgParent string // absolute cgroup path below this process's own cgroup
}

// pdNewWorld makes the directory, builds minirun (or takes
// MINIRUN_TEST_BINARY), makes the busybox tar (or takes
// MINIRUN_TEST_BUSYBOX_TAR) and reserves a cgroup parent. Its cleanup,
// registered first, runs last: after the engine's own teardown.
func pdNewWorld(tb testing.TB, name string) *pdWorld {
	tb.Helper()
	dir, err := os.MkdirTemp("", "mr-"+name+"-")
	if err != nil {
		tb.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	w := &pdWorld{tb: tb, dir: dir}
	tb.Cleanup(func() {
		if m := pdMountsUnder(dir); len(m) > 0 {
			tb.Errorf("mounts left under %s: %v", dir, m)
			for i := len(m) - 1; i >= 0; i-- {
				_ = unix.Unmount(m[i], unix.MNT_DETACH)
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			tb.Errorf("remove %s: %v", dir, err)
		}
	})
	w.cgParent = pdCgroupParent(tb, "minirun-"+name+"-"+strconv.Itoa(os.Getpid()))

	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	if w.minirun = os.Getenv("MINIRUN_TEST_BINARY"); w.minirun == "" {
		w.minirun = filepath.Join(dir, "minirun")
		out, err := exec.Command("make", "-s", "-C", repo, "build", "MINIRUN_OUT="+w.minirun).CombinedOutput()
		if err != nil {
			tb.Fatalf("build minirun: %v\n%s", err, out)
		}
	}
	if w.busybox = os.Getenv("MINIRUN_TEST_BUSYBOX_TAR"); w.busybox == "" {
		w.busybox = filepath.Join(dir, "busybox.tar")
		mk := exec.Command("sh", "-c", "scripts/busybox-rootfs.sh > "+w.busybox)
		mk.Dir = repo
		if out, err := mk.CombinedOutput(); err != nil {
			tb.Fatalf("busybox rootfs (needs Debian's busybox-static): %v\n%s", err, out)
		}
	}
	return w
}

// pdResult is a finished command.
type pdResult struct {
	stdout, stderr string
	code           int
}

func (r pdResult) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// pdRun runs cmd with stdin and a timeout; the command is killed (by PID)
// if it takes longer.
func pdRun(tb testing.TB, timeout time.Duration, stdin string, cmd *exec.Cmd) pdResult {
	tb.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("%v: %v", cmd.Args, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		tb.Fatalf("%s: timed out after %v\nstdout: %s\nstderr: %s", strings.Join(cmd.Args, " "), timeout, out.String(), errb.String())
	}
	return pdResult{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
}

// pdMust is run that fails the test unless the command exits 0.
func pdMust(tb testing.TB, timeout time.Duration, cmd *exec.Cmd) pdResult {
	tb.Helper()
	r := pdRun(tb, timeout, "", cmd)
	if r.code != 0 {
		tb.Fatalf("%s: %v", strings.Join(cmd.Args, " "), r)
	}
	return r
}

// --- cgroups ---

// pdCgroupParent returns <own cgroup>/name, where <own cgroup> is this
// process's cgroup in every hierarchy at once: on a hybrid host the
// hierarchies may place it differently (memory at /a/b, cpu at /), and the
// deepest path is below all of them. Its cleanup kills what is left in the
// parent (ours), removes it, and removes the directories above it that
// did not exist before (a runtime creates /a/b in the cpu hierarchy).
func pdCgroupParent(tb testing.TB, name string) string {
	tb.Helper()
	own, err := pdOwnCgroup()
	if err != nil {
		tb.Skipf("no cgroup below this process in every hierarchy: %v", err)
	}
	parent := filepath.Join(own, name)
	existed := map[string]bool{}
	hier := pdCgroupMounts()
	for _, m := range hier {
		for p := parent; ; p = filepath.Dir(p) {
			if _, err := os.Stat(filepath.Join(m, p)); err == nil {
				existed[filepath.Join(m, p)] = true
			}
			if p == "/" {
				break
			}
		}
	}
	tb.Cleanup(func() {
		var dirs []string
		for _, m := range hier {
			filepath.WalkDir(filepath.Join(m, parent), func(p string, d os.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					dirs = append(dirs, p)
				}
				return nil
			})
		}
		if pdKillCgroups(dirs) {
			tb.Errorf("processes were left in the cgroups below %s (killed)", parent)
		}
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
				tb.Errorf("remove cgroup %s: %v", d, err)
			}
		}
		for _, m := range hier {
			for p := filepath.Dir(parent); p != "/"; p = filepath.Dir(p) {
				if d := filepath.Join(m, p); !existed[d] {
					os.Remove(d) // only if empty: someone else may use it by now
				}
			}
		}
	})
	return parent
}

// pdLeftCgroups lists the cgroup directories below parent (in any
// hierarchy) whose base name starts with prefix.
func pdLeftCgroups(parent, prefix string) []string {
	var out []string
	for _, m := range pdCgroupMounts() {
		ents, _ := os.ReadDir(filepath.Join(m, parent))
		for _, e := range ents {
			if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
				out = append(out, filepath.Join(m, parent, e.Name()))
			}
		}
	}
	return out
}

// pdKillCgroups thaws and SIGKILLs every process of the given cgroups (all
// ours), and waits for them to go. It reports whether there were any.
func pdKillCgroups(dirs []string) bool {
	any := false
	for i := 0; i < 50; i++ {
		left := false
		for _, d := range dirs {
			os.WriteFile(filepath.Join(d, "freezer.state"), []byte("THAWED"), 0)
			os.WriteFile(filepath.Join(d, "cgroup.freeze"), []byte("0"), 0)
			b, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
					_ = unix.Kill(pid, unix.SIGKILL)
					left, any = true, true
				}
			}
		}
		if !left {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return any
}

// pdOwnCgroup is the deepest path of /proc/self/cgroup, if every other
// hierarchy's path is above or equal to it.
func pdOwnCgroup() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	var paths []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 {
			paths = append(paths, filepath.Clean(parts[2]))
		}
	}
	deepest := "/"
	for _, p := range paths {
		if len(p) > len(deepest) {
			deepest = p
		}
	}
	for _, p := range paths {
		if p != "/" && p != deepest && !strings.HasPrefix(deepest, p+"/") {
			return "", fmt.Errorf("cgroup %s is not above %s", p, deepest)
		}
	}
	return deepest, nil
}

// pdCgroupMounts are the mount points of the host's cgroup hierarchies
// (whole hierarchies only: the mount's root is /).
func pdCgroupMounts() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		i := pdIndexOf(fields, "-")
		if i < 0 || i+1 >= len(fields) || len(fields) < 5 {
			continue
		}
		if t := fields[i+1]; (t == "cgroup" || t == "cgroup2") && fields[3] == "/" {
			out = append(out, pdUnescapeMount(fields[4]))
		}
	}
	return out
}

func pdIndexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func pdUnescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// pdMountsUnder lists mount points at or below dir, outermost first.
func pdMountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 {
			if p := pdUnescapeMount(f[4]); p == dir || strings.HasPrefix(p, dir+"/") {
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// --- host paths an engine must not leave behind ---

// pdHostPaths notes which of paths exist now; its cleanup reports and
// removes those that appeared (only empty directories and the files
// named, nothing below them that someone else may have put there).
func pdHostPaths(tb testing.TB, paths ...string) {
	existed := map[string]bool{}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			existed[p] = true
		}
	}
	tb.Cleanup(func() {
		for i := len(paths) - 1; i >= 0; i-- {
			p := paths[i]
			if existed[p] {
				continue
			}
			if _, err := os.Lstat(p); err == nil {
				tb.Errorf("the engine created %s on the host", p)
				os.Remove(p)
			}
		}
	})
}

// --- processes ---

// pdKillByArg SIGKILLs the processes whose command line mentions marker (a
// path only this test created), by PID, and reports them.
func pdKillByArg(marker string) []string {
	var killed []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(b, []byte(marker)) {
			continue
		}
		if unix.Kill(pid, unix.SIGKILL) == nil {
			killed = append(killed, fmt.Sprintf("%d %s", pid, strings.ReplaceAll(string(bytes.TrimRight(b, "\x00")), "\x00", " ")))
		}
	}
	return killed
}

// pdMountNS is the inode of a process's mount namespace.
func pdMountNS(pid int) (uint64, error) { return pdNSIno(pid, "mnt") }

// pdKillMountNS SIGKILLs every process in the mount namespace ns (one this
// test made for dockerd: its processes are all ours).
func pdKillMountNS(ns uint64) int { return len(pdKillNS("mnt", ns, 0)) }

// --- a pseudo-terminal for -it ---

// pdPty is a command whose stdin, stdout and stderr are the slave of
// a new pty, as at a terminal, with a session of its own.
type pdPty struct {
	tb     testing.TB
	master *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer
	done   chan struct{}
}

// pdStartPty starts cmd on a new pty of rows x cols.
func pdStartPty(tb testing.TB, cmd *exec.Cmd, rows, cols uint16) *pdPty {
	tb.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		tb.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		tb.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		tb.Fatal(err)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer slave.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		m.Close()
		tb.Fatalf("%v: %v", cmd.Args, err)
	}
	s := &pdPty{tb: tb, master: m, cmd: cmd, done: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(s.done) }()
	tb.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = cmd.Process.Kill()
			<-s.done
		}
		m.Close()
	})
	return s
}

func (s *pdPty) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// expect waits until the output (from offset on) contains want, and
// returns the offset after it.
func (s *pdPty) expect(from int, want string, timeout time.Duration) int {
	s.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := s.output()
		if from > len(out) {
			from = len(out)
		}
		if i := strings.Index(out[from:], want); i >= 0 {
			return from + i + len(want)
		}
		select {
		case <-s.done:
			// The command is gone; give the reader a moment for the rest.
			time.Sleep(50 * time.Millisecond)
			if out := s.output(); strings.Contains(out[from:], want) {
				return from + strings.Index(out[from:], want) + len(want)
			}
			s.tb.Fatalf("%s exited without printing %q; output:\n%q", s.cmd.Args[0], want, s.output())
		default:
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("no %q within %v; output:\n%q", want, timeout, s.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *pdPty) send(text string) {
	s.tb.Helper()
	if _, err := s.master.Write([]byte(text)); err != nil {
		s.tb.Fatal(err)
	}
}

// wait returns the command's exit code.
func (s *pdPty) wait(timeout time.Duration) int {
	s.tb.Helper()
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		s.tb.Fatalf("%v did not exit within %v; output:\n%q", s.cmd.Args, timeout, s.output())
	}
	return -1
}

// pdWaitFor polls cond until it holds or timeout passes.
func pdWaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

// --- subtests both engines pass alike ---

// pdEngine is what the shared subtests need of podman or docker.
type pdEngine interface {
	cmd(args ...string) *exec.Cmd    // the client, with the engine's configuration
	runArgs(args ...string) []string // `run` and the flags every container gets
	run(tb testing.TB, stdin string, args ...string) pdResult
	image() string               // busybox, as the engine names it
	rmArgs(name string) []string // removes a container at once, running or not
}

// pdLimitsScript prints, in a container, its uid, its nofile limit, and
// its memory and pids limits (cgroup v2 or v1).
const pdLimitsScript = `id -u; ulimit -n; cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null; true`

// pdCommonTests runs the subtests podman and docker pass alike.
func pdCommonTests(t *testing.T, e pdEngine) {
	img := e.image()

	t.Run("RunEcho", func(t *testing.T) {
		r := e.run(t, "", e.runArgs("--rm", img, "echo", "hi")...)
		if r.code != 0 || r.stdout != "hi\n" {
			t.Fatalf("want hi: %v", r)
		}
	})

	t.Run("ExitCodes", func(t *testing.T) {
		for _, c := range []struct {
			args    []string
			code    int
			message string // in stderr
		}{
			{[]string{"sh", "-c", "exit 3"}, 3, ""},
			{[]string{"false"}, 1, ""},
			{[]string{"nosuch"}, 127, "executable file not found in $PATH"},
			{[]string{"/nosuch/prog"}, 127, "no such file or directory"},
			{[]string{"/etc/passwd"}, 126, "permission denied"},
		} {
			r := e.run(t, "", e.runArgs(append([]string{"--rm", img}, c.args...)...)...)
			if r.code != c.code || !strings.Contains(r.stderr, c.message) {
				t.Errorf("%v: want exit %d and %q: %v", c.args, c.code, c.message, r)
			}
		}
	})

	t.Run("Stdin", func(t *testing.T) {
		r := e.run(t, "piped through\n", e.runArgs("--rm", "-i", img, "cat")...)
		if r.code != 0 || r.stdout != "piped through\n" {
			t.Fatalf("want the input back: %v", r)
		}
	})

	// The engine's default seccomp profile is applied; unconfined means none.
	t.Run("Seccomp", func(t *testing.T) {
		r := e.run(t, "", e.runArgs("--rm", img, "grep", "Seccomp:", "/proc/self/status")...)
		if r.code != 0 || !strings.Contains(r.stdout, "2") {
			t.Errorf("want filter mode 2: %v", r)
		}
		r = e.run(t, "", e.runArgs("--rm", "--security-opt", "seccomp=unconfined", img, "grep", "Seccomp:", "/proc/self/status")...)
		if r.code != 0 || !strings.Contains(r.stdout, "0") {
			t.Errorf("want no filter: %v", r)
		}
	})

	t.Run("TTY", func(t *testing.T) {
		pdTTYDialogue(t, pdStartPty(t, e.cmd(e.runArgs("--rm", "-it", img, "sh")...), 40, 120))
	})

	// PID 1 ignores SIGTERM (no handler): stop gives up after -t and kills.
	t.Run("StopKill", func(t *testing.T) {
		name := "mr-sleep"
		if r := e.run(t, "", e.runArgs("-d", "--name", name, img, "sleep", "300")...); r.code != 0 {
			t.Fatal(r)
		}
		defer e.run(t, "", e.rmArgs(name)...)
		if r := e.run(t, "", "stop", "-t", "1", name); r.code != 0 {
			t.Fatalf("stop: %v", r)
		}
		r := e.run(t, "", "inspect", "--format", "{{.State.ExitCode}}", name)
		if got := strings.TrimSpace(r.stdout); got != "137" {
			t.Errorf("exit code %q after stop -t 1, want 137", got)
		}
		if r := e.run(t, "", "start", name); r.code != 0 {
			t.Fatalf("start again: %v", r)
		}
		if r := e.run(t, "", "kill", "--signal", "KILL", name); r.code != 0 {
			t.Fatalf("kill: %v", r)
		}
		r = e.run(t, "", "wait", name)
		if got := strings.TrimSpace(r.stdout); got != "137" {
			t.Errorf("wait after kill: %q, want 137: %v", got, r)
		}
	})
}

// pdStartStoppable starts the detached container name, whose PID 1 stops
// on SIGTERM as a well-behaved service does; it is removed at cleanup.
func pdStartStoppable(t *testing.T, e pdEngine, name string) {
	t.Helper()
	r := e.run(t, "", e.runArgs("-d", "--name", name, e.image(), "sh", "-c", `trap "exit 0" TERM; while :; do sleep 0.1; done`)...)
	if r.code != 0 {
		t.Fatal(r)
	}
	t.Cleanup(func() { e.run(t, "", e.rmArgs(name)...) })
}

// pdExecInto runs processes in pdStartStoppable's container name: the
// exit code comes back, PID 1 is the container's, stdin with -i, a
// terminal with -it. A missing program exits missingCode, with the
// reason in missingOut of the result.
func pdExecInto(t *testing.T, e pdEngine, name string, missingCode int, missingOut func(pdResult) string) {
	t.Helper()
	r := e.run(t, "", "exec", name, "sh", "-c", "cat /proc/1/cmdline; exit 4")
	if r.code != 4 || !strings.Contains(r.stdout, "trap") {
		t.Errorf("exec: want exit 4 and PID 1's command line: %v", r)
	}
	r = e.run(t, "", "exec", name, "nosuch")
	if r.code != missingCode || !strings.Contains(missingOut(r), "executable file not found") {
		t.Errorf("exec of a missing program: want %d: %v", missingCode, r)
	}
	r = e.run(t, "exec'd stdin\n", "exec", "-i", name, "cat")
	if r.code != 0 || r.stdout != "exec'd stdin\n" {
		t.Errorf("exec -i: %v", r)
	}
	s := pdStartPty(t, e.cmd("exec", "-it", name, "sh"), 30, 100)
	at := s.expect(0, "# ", 30*time.Second)
	s.send("tty; stty size; exit 5\n")
	at = s.expect(at, "/dev/pts/", 10*time.Second)
	s.expect(at, "30 100", 10*time.Second)
	if code := s.wait(30 * time.Second); code != 5 {
		t.Errorf("exec -it: exit code %d, want 5; output:\n%q", code, s.output())
	}
}

// pdPauseStop pauses and unpauses pdStartStoppable's container name, then
// stops it: its PID 1 gets the SIGTERM and exits 0.
func pdPauseStop(t *testing.T, e pdEngine, name string) {
	t.Helper()
	if r := e.run(t, "", "pause", name); r.code != 0 {
		t.Errorf("pause: %v", r)
	}
	if r := e.run(t, "", "inspect", "--format", "{{.State.Status}}", name); strings.TrimSpace(r.stdout) != "paused" {
		t.Errorf("inspect after pause: %v", r)
	}
	if r := e.run(t, "", "unpause", name); r.code != 0 {
		t.Errorf("unpause: %v", r)
	}
	start := time.Now()
	if r := e.run(t, "", "stop", "-t", "20", name); r.code != 0 {
		t.Fatalf("stop: %v", r)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("stop took %v: the SIGTERM did not reach PID 1", el)
	}
	r := e.run(t, "", "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name)
	if got := strings.TrimSpace(r.stdout); got != "exited 0" {
		t.Errorf("after stop: %q, want \"exited 0\": %v", got, r)
	}
}

// pdTTYDialogue talks to a shell on a 40x120 pty the engine gave the
// container: arithmetic, tty, the window size, and exit code 7.
func pdTTYDialogue(t *testing.T, s *pdPty) {
	t.Helper()
	at := s.expect(0, "# ", 30*time.Second)
	s.send("echo $((6*7)); tty; stty size\n")
	at = s.expect(at, "42", 10*time.Second)
	at = s.expect(at, "/dev/pts/", 10*time.Second)
	s.expect(at, "40 120", 10*time.Second)
	s.send("exit 7\n")
	if code := s.wait(30 * time.Second); code != 7 {
		t.Fatalf("exit code %d, want 7; output:\n%q", code, s.output())
	}
}
