package integration

// minirun exec: a new process in a running container, in all of its
// namespaces (mount, PID and user included, which namespaces/nsenter's C
// constructor joins before the Go runtime starts), in its cgroup, with its
// capabilities, rlimits, no_new_privs and user; the exit code comes back.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var execNamespaces = []string{"pid", "mnt", "net", "uts", "ipc", "cgroup", "user"}

// startExecTarget starts an attached `run --init` container named name
// (stopped at cleanup) and waits until exec works in it.
func startExecTarget(t *testing.T, name string, args ...string) *bg {
	t.Helper()
	b := startBG(t, append(append([]string{"--rm", "--name", name, "--network", "none"}, args...), "busybox", "sleep", "1000")...)
	waitUntil(t, name+" running", func() bool {
		select {
		case <-b.done:
			t.Fatalf("container %s exited: %s", name, b.output())
		default:
		}
		return minirun(t, "", "exec", name, "true").code == 0
	})
	return b
}

// initPid is the host PID of the container's init, from the OCI state of
// `minirun state`.
func initPid(t *testing.T, name string) int {
	t.Helper()
	st := state(t, inspectC(t, name).ID)
	if st.Status != specs.StateRunning || st.Pid <= 0 {
		t.Fatalf("state of %s: %+v", name, st)
	}
	return st.Pid
}

// nsLines reads "type link" lines printed by the container.
func nsLines(t *testing.T, out string) map[string][2]string {
	t.Helper()
	m := map[string][2]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("unexpected line %q in\n%s", line, out)
		}
		m[f[0]] = [2]string{f[1], f[2]}
	}
	return m
}

// The exec'd process shares every namespace of the container's PID 1, as
// the container sees it and as the host sees it; its cgroup,
// capabilities, rlimits, user and no_new_privs are PID 1's.
func TestExecJoinsNamespacesCgroupAndSecurity(t *testing.T) {
	startExecTarget(t, "ex-ns", "--ulimit", "nofile=1000:2000")
	pid := initPid(t, "ex-ns")
	script := `for n in ` + strings.Join(execNamespaces, " ") + `; do echo $n $(readlink /proc/self/ns/$n) $(readlink /proc/1/ns/$n); done`
	ns := nsLines(t, run(t, 0, "exec", "ex-ns", "sh", "-c", script).stdout)
	for _, n := range execNamespaces {
		self, init := ns[n][0], ns[n][1]
		host, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, n))
		if err != nil {
			t.Fatal(err)
		}
		if self == "" || self != init || self != host {
			t.Errorf("%s: exec'd process in %q, PID 1 in %q, host view of init %q", n, self, init, host)
		}
		if own, _ := os.Readlink("/proc/self/ns/" + n); n != "user" && own == self {
			t.Errorf("%s: the container shares the test's namespace %s", n, own)
		}
	}
	same := func(what, script string) string {
		t.Helper()
		a := run(t, 0, "exec", "ex-ns", "sh", "-c", strings.ReplaceAll(script, "PID", "self")).stdout
		b := run(t, 0, "exec", "ex-ns", "sh", "-c", strings.ReplaceAll(script, "PID", "1")).stdout
		if a == "" || a != b {
			t.Errorf("%s differs:\nexec'd process:\n%s\nPID 1:\n%s", what, a, b)
		}
		return a
	}
	cg := same("cgroup", "cat /proc/PID/cgroup")
	for _, line := range strings.Split(strings.TrimSpace(cg), "\n") {
		// In the container's cgroup namespace, its own cgroup is the root.
		if !strings.HasSuffix(line, ":/") {
			t.Errorf("cgroup line %q: not the container's cgroup (the namespace's root)", line)
		}
	}
	caps := same("capabilities", "grep Cap /proc/PID/status")
	if !strings.Contains(caps, "CapBnd:\t00000000a80425fb") {
		t.Errorf("capabilities are not Docker's default set:\n%s", caps)
	}
	same("user and groups", "grep -E '^(Uid|Gid|Groups)' /proc/PID/status")
	// PID 1 is minirun-init (--init), a Go program, and Go raises its own
	// soft RLIMIT_NOFILE: compare with the container's program instead.
	a := run(t, 0, "exec", "ex-ns", "cat", "/proc/self/limits").stdout
	b := run(t, 0, "exec", "ex-ns", "sh", "-c", "cat /proc/$(pidof sleep)/limits").stdout
	if a == "" || a != b {
		t.Errorf("rlimits differ:\nexec'd process:\n%s\nthe container's program:\n%s", a, b)
	}
	if out := run(t, 0, "exec", "ex-ns", "sh", "-c", "ulimit -n; ulimit -Hn").stdout; out != "1000\n2000\n" {
		t.Errorf("rlimit nofile: %q, want the container's 1000/2000", out)
	}
	same("no_new_privs and seccomp", "grep -E '^(NoNewPrivs|Seccomp):' /proc/PID/status")
	// Not PID 1, and its parent is outside the PID namespace (CLONE_PARENT
	// made it a child of `minirun exec` on the host): PPid 0.
	if out := run(t, 0, "exec", "ex-ns", "sh", "-c", `echo $$; grep PPid /proc/self/status`).stdout; strings.HasPrefix(out, "1\n") || !strings.Contains(out, "PPid:\t0") {
		t.Errorf("pid and ppid inside: %q", out)
	}
}

// The host's view of the exec'd process: a child of `minirun exec` itself
// (so it can be waited for), in init's namespaces and in init's cgroups.
func TestExecHostView(t *testing.T) {
	startExecTarget(t, "ex-host")
	pid := initPid(t, "ex-host")
	cmd := exec.Command(bin, "exec", "ex-host", "sh", "-c", "echo ready; sleep 30")
	cmd.Env = minirunEnv()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("exec'd sh said %q", line)
	}
	kids, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", cmd.Process.Pid))
	var child int
	for _, k := range kids {
		b, _ := os.ReadFile(k)
		for _, f := range strings.Fields(string(b)) {
			child, _ = strconv.Atoi(f)
		}
	}
	if child == 0 {
		t.Fatal("the exec'd process is not a child of minirun exec")
	}
	for _, n := range execNamespaces {
		a, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", child, n))
		b, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, n))
		if a == "" || a != b {
			t.Errorf("%s: exec'd process %q, init %q", n, a, b)
		}
	}
	a, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", child))
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if len(a) == 0 || string(a) != string(b) {
		t.Errorf("host view of the cgroups:\nexec'd process:\n%s\ninit:\n%s", a, b)
	}
	if !strings.Contains(string(b), cgroupParent) {
		t.Errorf("init is not below the tests' cgroup parent:\n%s", b)
	}
}

// The command's exit code comes back; 126 and 127 as Docker, with runc's
// words; a signal is 128+N.
func TestExecExitCodes(t *testing.T) {
	startExecTarget(t, "ex-code")
	run(t, 0, "exec", "ex-code", "true")
	run(t, 7, "exec", "ex-code", "sh", "-c", "exit 7")
	run(t, 137, "exec", "ex-code", "sh", "-c", "kill -9 $$")
	r := run(t, 127, "exec", "ex-code", "nope")
	if !strings.Contains(r.stderr, `exec: "nope": executable file not found in $PATH`) {
		t.Errorf("missing command: %q", r.stderr)
	}
	r = run(t, 126, "exec", "ex-code", "/etc/passwd")
	if !strings.Contains(r.stderr, `exec: "/etc/passwd": permission denied`) {
		t.Errorf("not executable: %q", r.stderr)
	}
	run(t, 126, "exec", "ex-code", "/etc")
	run(t, 127, "exec", "ex-code", "/nope/nope")
	// Executable bits but no valid format: execve(2) itself says ENOEXEC.
	run(t, 0, "exec", "ex-code", "sh", "-c", "printf '\\001\\002' > /tmp/junk; chmod +x /tmp/junk")
	run(t, 126, "exec", "ex-code", "/tmp/junk")
	r = run(t, 125, "exec", "ex-code")
	if !strings.Contains(r.stderr, "requires at least 2 arguments") {
		t.Errorf("no command: %q", r.stderr)
	}
}

// -e, -u, -w on top of the container's environment, user and directory.
func TestExecFlags(t *testing.T) {
	startExecTarget(t, "ex-flags", "-e", "FOO=container", "-e", "KEEP=1", "-w", "/srv", "-u", "www-data")
	r := run(t, 0, "exec", "ex-flags", "sh", "-c", `echo "$FOO $KEEP"; pwd; id`)
	if r.stdout != "container 1\n/srv\nuid=33(www-data) gid=33(www-data) groups=33(www-data)\n" {
		t.Errorf("defaults are the container's: %q", r.stdout)
	}
	r = run(t, 0, "exec", "-e", "FOO=bar", "-e", "NEW=2", "-u", "1000", "-w", "/tmp", "ex-flags", "sh", "-c", `echo "$FOO $KEEP $NEW"; pwd; id; echo $HOME`)
	if r.stdout != "bar 1 2\n/tmp\nuid=1000 gid=0(root) groups=0(root)\n/\n" {
		t.Errorf("-e -u 1000 -w /tmp: %q", r.stdout)
	}
	r = run(t, 0, "exec", "-u", "nobody:users", "ex-flags", "sh", "-c", `id; echo $HOME`)
	if r.stdout != "uid=65534(nobody) gid=100(users) groups=100(users)\n/home\n" {
		t.Errorf("-u nobody:users: %q", r.stdout)
	}
	r = run(t, 125, "exec", "-u", "ghost", "ex-flags", "true")
	if !strings.Contains(r.stderr, "unable to find user ghost") {
		t.Errorf("unknown user: %q", r.stderr)
	}
	run(t, 125, "exec", "-w", "relative", "ex-flags", "true")
}

// stdin only with -i; -d returns at once and prints nothing.
func TestExecStdinAndDetach(t *testing.T) {
	startExecTarget(t, "ex-io")
	if r := run(t, 0, "exec", "-i", "ex-io", "cat"); r.stdout != "" {
		t.Errorf("cat with empty stdin: %q", r.stdout)
	}
	if r := minirun(t, "hello\n", "exec", "-i", "ex-io", "sh", "-c", "cat; echo err >&2"); r.code != 0 || r.stdout != "hello\n" || r.stderr != "err\n" {
		t.Errorf("exec -i cat: %+v", r)
	}
	if r := minirun(t, "hello\n", "exec", "ex-io", "cat"); r.code != 0 || r.stdout != "" {
		t.Errorf("without -i, stdin must not reach the process: %+v", r)
	}
	start := time.Now()
	r := run(t, 0, "exec", "-d", "ex-io", "sh", "-c", "sleep 1; echo later > /tmp/detached")
	if r.stdout != "" || r.stderr != "" || time.Since(start) > 900*time.Millisecond {
		t.Errorf("exec -d: %+v after %v", r, time.Since(start))
	}
	waitUntil(t, "the detached process's file", func() bool {
		return minirun(t, "", "exec", "ex-io", "cat", "/tmp/detached").stdout == "later\n"
	})
	run(t, 125, "exec", "-d", "-t", "ex-io", "true")
}

// Signals sent to minirun exec reach the process.
func TestExecSignalForwarding(t *testing.T) {
	startExecTarget(t, "ex-sig")
	checkSignalForwarded(t, "exec'd sh", "exec", "ex-sig")
}

// exec -t: a new pty of the container's own devpts. Without a terminal
// here its output still comes back; at a terminal (a pty made by the test)
// it is interactive, with our window size, and its exit code comes back.
func TestExecTTY(t *testing.T) {
	startExecTarget(t, "ex-tty")
	r := run(t, 0, "exec", "-t", "ex-tty", "sh", "-c", `tty; echo TERM=$TERM; ls -l $(tty) | cut -c1-10`)
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(r.stdout, "\r", "")), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "/dev/pts/") || lines[1] != "TERM=xterm" || lines[2] != "crw--w----" {
		t.Errorf("exec -t: %q", r.stdout)
	}
	r = run(t, 0, "exec", "-t", "-u", "1000", "ex-tty", "sh", "-c", `stat -c %u $(tty)`)
	if strings.TrimSpace(r.stdout) != "1000" {
		t.Errorf("the pty of -u 1000 belongs to %q", r.stdout)
	}
	if r := minirun(t, "", "exec", "-it", "ex-tty", "sh"); r.code != 1 || !strings.Contains(r.stderr, "the input device is not a TTY") {
		t.Errorf("-it without a terminal: %+v", r)
	}

	p := startAtTerminal(t, 33, 101, "exec", "-it", "ex-tty", "sh")
	io.WriteString(p.master, "tty; stty size; echo answer=$((6*7))\n")
	p.out.waitFor(t, "answer=42\r\n")
	io.WriteString(p.master, "exit 5\n")
	if code := p.wait(t); code != 5 {
		t.Errorf("exit code %d, want 5", code)
	}
	p.shows(t, "/dev/pts/", "33 101")
}

// An unknown or stopped container: Docker's message and exit code 1, and
// nothing is left behind.
func TestExecNotRunning(t *testing.T) {
	r := run(t, 1, "exec", "ex-nobody", "true")
	if !strings.Contains(r.stderr, "no such container: ex-nobody") {
		t.Errorf("unknown container: %q", r.stderr)
	}
	run(t, 0, "run", "--name", "ex-stopped", "--network", "none", "busybox", "true")
	rmAtEnd(t, "ex-stopped")
	id := inspectC(t, "ex-stopped").ID
	r = run(t, 1, "exec", "ex-stopped", "true")
	if !strings.Contains(r.stderr, "container "+id+" is not running") {
		t.Errorf("stopped container: %q", r.stderr)
	}
	run(t, 0, "rm", "ex-stopped")
	assertClean(t)

	// A paused one: Docker's words, exit 1, and the process never starts
	// (it would freeze in the cgroup).
	startExecTarget(t, "ex-paused")
	run(t, 0, "pause", "ex-paused")
	defer minirun(t, "", "unpause", "ex-paused")
	r = run(t, 1, "exec", "ex-paused", "true")
	if !strings.Contains(r.stderr, "is paused, unpause the container before exec") {
		t.Errorf("paused container: %q", r.stderr)
	}
}

// An OCI container (create/start) with its own user namespace and a time
// namespace (which the host owns: nsenter joins it before the user
// namespace): exec is root inside, an unprivileged uid outside.
func TestExecUserNamespace(t *testing.T) {
	withTime := true
	mk := func() string {
		return bundle(t, []string{"sleep", "1000"}, func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
			if withTime {
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
				s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 10 * 86400}}
			}
		})
	}
	defer minirun(t, "", "delete", "--force", "ex-userns")
	r := minirunFiles(t, "create", "--bundle", mk(), "ex-userns")
	if r.code != 0 && strings.Contains(r.stderr, "refuses a new time namespace") {
		// Older kernels (Debian 12's 6.1, in vmtest/): the user namespace
		// alone.
		t.Logf("kernel without time namespaces for minirun: %s", r.stderr)
		withTime = false
		r = minirunFiles(t, "create", "--bundle", mk(), "ex-userns")
	}
	if r.code != 0 {
		t.Fatalf("create: exit %d: %s", r.code, r.stderr)
	}
	run(t, 0, "start", "ex-userns")
	pid := state(t, "ex-userns").Pid
	script := `for n in ` + strings.Join(execNamespaces, " ") + ` time; do echo $n $(readlink /proc/self/ns/$n) $(readlink /proc/1/ns/$n); done`
	ns := nsLines(t, run(t, 0, "exec", "ex-userns", "sh", "-c", script).stdout)
	if withTime && ns["time"][0] == hostTimeNS() {
		t.Error("the container has no time namespace of its own")
	}
	for _, n := range append(execNamespaces, "time") {
		host, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, n))
		if ns[n][0] == "" || ns[n][0] != ns[n][1] || ns[n][0] != host {
			t.Errorf("%s: exec'd %q, PID 1 %q, host view %q", n, ns[n][0], ns[n][1], host)
		}
	}
	if own, _ := os.Readlink("/proc/self/ns/user"); ns["user"][0] == own {
		t.Error("the container has no user namespace of its own")
	}
	if withTime {
		// The clocks are the container's: CLOCK_BOOTTIME 10 days ahead.
		out := run(t, 0, "exec", "ex-userns", "cat", "/proc/uptime").stdout
		up, err := strconv.ParseFloat(strings.Fields(out)[0], 64)
		hostRaw, _ := os.ReadFile("/proc/uptime")
		host, _ := strconv.ParseFloat(strings.Fields(string(hostRaw))[0], 64)
		if err != nil || up < host+10*86400-60 {
			t.Errorf("uptime in exec %q, host %v: want it 10 days ahead", out, host)
		}
	}
	r = run(t, 0, "exec", "ex-userns", "sh", "-c", "id -u; cat /proc/self/uid_map; grep CapEff /proc/self/status")
	if f := strings.Fields(r.stdout); len(f) != 6 || f[0] != "0" || f[2] != "100000" || f[5] != "00000000a80425fb" {
		t.Errorf("inside: %q", r.stdout)
	}
	if r := run(t, 0, "exec", "-u", "1000", "ex-userns", "id", "-u"); r.stdout != "1000\n" {
		t.Errorf("-u 1000: %q", r.stdout)
	}
}

func hostTimeNS() string {
	l, _ := os.Readlink("/proc/self/ns/time")
	return l
}
