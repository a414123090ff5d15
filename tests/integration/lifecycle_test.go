package integration

// Detached containers and their lifecycle: run -d, ps, logs, stop, kill,
// restart, rm, wait, pause, inspect, top, restart policies, and what
// happens when the monitor is killed.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// inspectState is the part of `inspect` the tests read.
type inspectState struct {
	ID    string `json:"Id"`
	State struct {
		Status                     string
		Running, Paused, OOMKilled bool
		Pid, ExitCode, MonitorPid  int
		Error                      string
	}
	RestartCount    int
	NetworkSettings struct{ IPAddress string }
}

func inspectC(t *testing.T, ref string) inspectState {
	t.Helper()
	r := run(t, 0, "inspect", ref)
	var out []inspectState
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 {
		t.Fatalf("inspect %s: %v %q", ref, err, r.stdout)
	}
	return out[0]
}

// rmAtEnd removes the container when the test ends, whatever happened.
func rmAtEnd(t *testing.T, ref string) {
	t.Cleanup(func() { minirun(t, "", "rm", "-f", ref) })
}

func TestDetachedLifecycle(t *testing.T) {
	checkNetState(t)
	start := time.Now()
	r := run(t, 0, "run", "-d", "--name", "det", "busybox", "sh", "-c", "echo started; echo oops >&2; while true; do sleep 0.1; done")
	rmAtEnd(t, "det")
	id := strings.TrimSpace(r.stdout)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		t.Fatalf("run -d printed %q, want the container ID", r.stdout)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("run -d took %v", d)
	}
	// minirun has exited; the container runs on, under its monitor.
	ps := run(t, 0, "ps").stdout
	if !strings.Contains(ps, id[:12]) || !strings.Contains(ps, "Up ") || !strings.Contains(ps, "det") {
		t.Errorf("ps: %q", ps)
	}
	st := inspectC(t, "det")
	if !st.State.Running || st.State.Pid == 0 || st.State.MonitorPid == 0 || st.NetworkSettings.IPAddress == "" {
		t.Errorf("inspect: %+v", st)
	}
	// The monitor is the container init's parent, in a session of its own.
	if ppid := procField(t, st.State.Pid, "PPid"); ppid != strconv.Itoa(st.State.MonitorPid) {
		t.Errorf("init's parent is %s, want the monitor %d", ppid, st.State.MonitorPid)
	}
	if sid, _ := syscall.Getpgid(st.State.MonitorPid); sid != st.State.MonitorPid {
		t.Errorf("monitor %d is not a process group/session leader (%d)", st.State.MonitorPid, sid)
	}
	// Logs: both streams, to the right place; -t adds timestamps.
	waitUntil(t, "logs", func() bool { return strings.Contains(minirun(t, "", "logs", "det").stdout, "started") })
	r = run(t, 0, "logs", "det")
	if r.stdout != "started\n" || r.stderr != "oops\n" {
		t.Errorf("logs: stdout %q stderr %q", r.stdout, r.stderr)
	}
	if r := run(t, 0, "logs", "-t", "--tail", "1", "det"); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT[^ ]+Z (started|oops)\n$`).MatchString(r.stdout + r.stderr) {
		t.Errorf("logs -t --tail 1: %q %q", r.stdout, r.stderr)
	}
	// top lists its processes.
	if r := run(t, 0, "top", "det"); !strings.Contains(r.stdout, "sh -c echo started") {
		t.Errorf("top: %q", r.stdout)
	}
	// pause / unpause: the cgroup freezer.
	run(t, 0, "pause", "det")
	if st := inspectC(t, "det"); !st.State.Paused || !strings.Contains(run(t, 0, "ps").stdout, "(Paused)") {
		t.Errorf("after pause: %+v", st.State)
	}
	run(t, 0, "unpause", "det")
	if st := inspectC(t, "det"); st.State.Paused || !st.State.Running {
		t.Errorf("after unpause: %+v", st.State)
	}
	// Signal 0 is refused for a container of `run`, as Docker does (runc's
	// kill of an OCI container takes it: oci_test.go).
	if r := minirun(t, "", "kill", "-s", "0", "det"); r.code != 125 || !strings.Contains(r.stderr, "invalid signal") {
		t.Errorf("kill -s 0 of a run container: %d %q, want 125 and invalid signal", r.code, r.stderr)
	}
	// A duplicate name, rm without -f, and unknown containers.
	if r := minirun(t, "", "run", "-d", "--name", "det", "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "already in use") {
		t.Errorf("duplicate name: %d %q", r.code, r.stderr)
	}
	if r := minirun(t, "", "rm", "det"); r.code == 0 || !strings.Contains(r.stderr, "use rm -f") {
		t.Errorf("rm of a running container: %d %q", r.code, r.stderr)
	}
	for _, cmd := range [][]string{{"stop", "nosuch"}, {"logs", "nosuch"}, {"inspect", "nosuch"}, {"rm", "nosuch"}, {"kill", "nosuch"}, {"pause", "nosuch"}, {"wait", "nosuch"}} {
		if r := minirun(t, "", cmd...); r.code == 0 || !strings.Contains(r.stderr, "nosuch") {
			t.Errorf("%v: %d %q", cmd, r.code, r.stderr)
		}
	}
	// stop: sh as PID 1 ignores SIGTERM, so stop -t 1 ends in SIGKILL.
	start = time.Now()
	run(t, 0, "stop", "-t", "1", "det")
	if d := time.Since(start); d < time.Second || d > 8*time.Second {
		t.Errorf("stop -t 1 took %v, want the 1 s timeout then SIGKILL", d)
	}
	st = inspectC(t, "det")
	if st.State.Status != "exited" || st.State.ExitCode != 137 || st.State.MonitorPid != 0 {
		t.Errorf("after stop: %+v", st.State)
	}
	if ps := run(t, 0, "ps").stdout; strings.Contains(ps, "det") {
		t.Errorf("ps lists a stopped container: %q", ps)
	}
	if ps := run(t, 0, "ps", "-a").stdout; !strings.Contains(ps, "Exited (137)") {
		t.Errorf("ps -a: %q", ps)
	}
	// restart brings it back, detached, with its logs kept.
	run(t, 0, "restart", "-t", "1", "det")
	if st := inspectC(t, "det"); !st.State.Running {
		t.Errorf("after restart: %+v", st.State)
	}
	waitUntil(t, "second start in the log", func() bool {
		return strings.Count(minirun(t, "", "logs", "det").stdout, "started") == 2
	})
	run(t, 0, "rm", "-f", "det")
	if r := minirun(t, "", "inspect", "det"); r.code == 0 {
		t.Errorf("inspect after rm -f: %q", r.stdout)
	}
	assertClean(t)
}

func procField(t *testing.T, pid int, field string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// stop sends the stop signal (--stop-signal here) and the container's
// handler runs; logs -f streams new lines and ends with the container;
// wait returns the exit code.
func TestStopSignalLogsFollowWait(t *testing.T) {
	run(t, 0, "run", "-d", "--name", "sig", "--stop-signal", "USR1", "busybox", "sh", "-c",
		"trap 'echo got-usr1; exit 3' USR1; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done")
	rmAtEnd(t, "sig")
	cmd := exec.Command(bin, "logs", "-f", "sig")
	cmd.Env = minirunEnv()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	// New lines arrive while we follow.
	seen := map[string]bool{}
	deadline := time.After(10 * time.Second)
	for len(seen) < 5 {
		select {
		case l := <-lines:
			seen[l] = true
		case <-deadline:
			t.Fatalf("logs -f: only %v", seen)
		}
	}
	waitCh := make(chan result, 1)
	go func() { waitCh <- minirun(t, "", "wait", "sig") }()
	start := time.Now()
	run(t, 0, "stop", "-t", "10", "sig")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop took %v: the USR1 handler should have ended it at once", d)
	}
	if w := <-waitCh; strings.TrimSpace(w.stdout) != "3" {
		t.Errorf("wait: %q %q, want 3", w.stdout, w.stderr)
	}
	// logs -f ends with the container and printed the handler's line.
	var last string
	for l := range lines {
		last = l
	}
	cmd.Wait()
	if last != "got-usr1" {
		t.Errorf("logs -f ended with %q, want got-usr1", last)
	}
	if st := inspectC(t, "sig"); st.State.ExitCode != 3 {
		t.Errorf("exit code %d, want 3", st.State.ExitCode)
	}
	run(t, 0, "rm", "sig")
	assertClean(t)
}

// --restart on-failure:2 restarts a failing container twice.
func TestRestartPolicy(t *testing.T) {
	run(t, 0, "run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo attempt; exit 3")
	rmAtEnd(t, "flaky")
	waitUntil(t, "two restarts", func() bool {
		st := inspectC(t, "flaky")
		return st.State.Status == "exited" && st.State.MonitorPid == 0
	})
	st := inspectC(t, "flaky")
	if st.RestartCount != 2 || st.State.ExitCode != 3 {
		t.Errorf("restart count %d, exit %d; want 2 and 3", st.RestartCount, st.State.ExitCode)
	}
	if n := strings.Count(run(t, 0, "logs", "flaky").stdout, "attempt"); n != 3 {
		t.Errorf("%d attempts in the log, want 3", n)
	}
	for _, bad := range [][]string{{"--restart", "sometimes"}, {"--restart", "on-failure:x"}, {"--restart", "always", "--rm"}} {
		args := append(append([]string{"run", "-d"}, bad...), "busybox", "true")
		if r := minirun(t, "", args...); r.code != 125 {
			t.Errorf("%v: exit %d %q", bad, r.code, r.stderr)
		}
	}
	run(t, 0, "rm", "flaky")
	assertClean(t)
}

// The monitor is killed: the container keeps running, ps and inspect say
// so; once the container dies they say it exited (code unknown), and rm
// cleans up everything (network included).
func TestMonitorKilled(t *testing.T) {
	checkNetState(t)
	run(t, 0, "run", "-d", "--name", "orphan", "-p", fmt.Sprintf("%d:80", freeHostPort(t, "tcp")), "busybox", "sleep", "300")
	rmAtEnd(t, "orphan")
	st := inspectC(t, "orphan")
	if err := syscall.Kill(st.State.MonitorPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "monitor gone", func() bool { return inspectC(t, "orphan").State.MonitorPid == 0 })
	st2 := inspectC(t, "orphan")
	if !st2.State.Running || st2.State.Pid != st.State.Pid {
		t.Errorf("after the monitor died: %+v, want still running as pid %d", st2.State, st.State.Pid)
	}
	if ps := run(t, 0, "ps").stdout; !strings.Contains(ps, "orphan") {
		t.Errorf("ps: %q", ps)
	}
	syscall.Kill(st.State.Pid, syscall.SIGKILL)
	waitUntil(t, "init gone", func() bool { return !inspectC(t, "orphan").State.Running })
	st3 := inspectC(t, "orphan")
	if st3.State.Status != "exited" || !strings.Contains(run(t, 0, "ps", "-a").stdout, "Exited") {
		t.Errorf("after init died: %+v", st3.State)
	}
	run(t, 0, "rm", "orphan")
	assertClean(t)
}

// 20 concurrent run -d / rm -f loops leave nothing behind.
func TestConcurrentRunRm(t *testing.T) {
	checkNetState(t)
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := fmt.Sprintf("loop%d", i)
			for j := 0; j < 3; j++ {
				if r := minirun(t, "", "run", "-d", "--name", name, "busybox", "sleep", "60"); r.code != 0 {
					errs <- fmt.Sprintf("run %s: %d %s", name, r.code, r.stderr)
					return
				}
				if r := minirun(t, "", "rm", "-f", name); r.code != 0 {
					errs <- fmt.Sprintf("rm -f %s: %d %s", name, r.code, r.stderr)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if ps := run(t, 0, "ps", "-aq").stdout; ps != "" {
		t.Errorf("containers left: %q", ps)
	}
	assertClean(t)
}

// Ctrl-C (SIGINT) on an attached `run` stops the container as `stop`
// does: its stop signal first (here the image default, SIGTERM, which the
// shell traps), and SIGKILL only after the timeout.
func TestCtrlCStopsAttachedRun(t *testing.T) {
	cmd := exec.Command(bin, "run", "--rm", "--name", "ctrlc", "--stop-timeout", "20", "busybox", "sh", "-c",
		"trap 'echo got-term; exit 4' TERM; echo ready; while true; do sleep 0.1; done")
	cmd.Env = minirunEnv()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(out)
	if l, _ := rd.ReadString('\n'); l != "ready\n" {
		t.Fatalf("got %q", l)
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	rest, _ := rd.ReadString('\n')
	err := cmd.Wait()
	if rest != "got-term\n" || cmd.ProcessState.ExitCode() != 4 {
		t.Errorf("after Ctrl-C: %q, exit %d (%v); want got-term and 4", rest, cmd.ProcessState.ExitCode(), err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v: the stop signal should have ended it at once", d)
	}
	assertClean(t)
}

// The monitor of a detached container is the C one (monitor/monitor.c):
// one thread (a Go process has several), init's parent, a child subreaper,
// and small — conmon, podman's monitor, has an RSS of ~2 MiB here.
func TestMonitorIsSmall(t *testing.T) {
	run(t, 0, "run", "-d", "--name", "small", "busybox", "sleep", "300")
	rmAtEnd(t, "small")
	st := inspectC(t, "small")
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", st.State.MonitorPid))
	if err != nil {
		t.Fatal(err)
	}
	field := func(name string) string {
		for _, l := range strings.Split(string(status), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && k == name {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	if th := field("Threads"); th != "1" {
		t.Errorf("monitor has %s threads, want 1 (the C monitor)", th)
	}
	var rssKiB int
	fmt.Sscanf(field("VmRSS"), "%d", &rssKiB)
	if rssKiB == 0 || rssKiB > 3<<10 {
		t.Errorf("monitor RSS %d KiB, want at most 3 MiB", rssKiB)
	}
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", st.State.Pid))
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 2 || fields[1] != fmt.Sprint(st.State.MonitorPid) {
		t.Errorf("init's parent is %v, want the monitor %d", fields[1:2], st.State.MonitorPid)
	}
	t.Logf("monitor RSS %d KiB", rssKiB)
	run(t, 0, "rm", "-f", "small")
	assertClean(t)
}
