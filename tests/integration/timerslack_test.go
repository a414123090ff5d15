package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/timerslack"
)

// withSlack runs minirun args with stdout and stderr in files, started
// from a thread whose timer slack is ns: the child gets it, as from a
// caller of its own (a shell run under systemd's TimerSlackNSec=, say).
func withSlack(t *testing.T, ns int, args ...string) result {
	t.Helper()
	return minirunFilesStart(t, func(cmd *exec.Cmd) error {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		was, err := timerslack.Get()
		if err != nil {
			return err
		}
		if err := timerslack.Set(ns); err != nil {
			return err
		}
		defer timerslack.Set(was)
		return cmd.Start()
	}, args...)
}

// slackOf is /proc/PID/timerslack_ns: the slack of the process's main
// thread.
func slackOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/timerslack_ns")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("/proc/%d/timerslack_ns: %q", pid, b)
	}
	return n
}

// The runc verbs and init run with a timer slack of 1 ms (timerslack/doc.go);
// the container's processes and the hooks have their caller's, both as
// their slack and as the default a reset returns to, as under runc.
func TestTimerSlack(t *testing.T) {
	const caller = 123457 // ns: no kernel default looks like it
	dir := t.TempDir()
	// The createRuntime hook runs in the runtime: its parent is minirun.
	hook := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c",
		"cat /proc/self/timerslack_ns > " + filepath.Join(dir, "hook") + "; cat /proc/$PPID/timerslack_ns > " + filepath.Join(dir, "runtime")}}
	// PID 1 reads its own slack, resets it to its default (0), reads again.
	show := []string{"sh", "-c", "read a < /proc/self/timerslack_ns; echo 0 > /proc/self/timerslack_ns; read b < /proc/self/timerslack_ns; echo $a $b"}
	b := bundle(t, show, func(s *specs.Spec) { s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{hook}} })

	r := withSlack(t, caller, "run", "--bundle", b, "slack1")
	if r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	want := strconv.Itoa(caller)
	if got := strings.TrimSpace(r.stdout); got != want+" "+want {
		t.Errorf("the container's PID 1 has the timer slack and default %q, want %s for both", got, want)
	}
	h, _ := os.ReadFile(filepath.Join(dir, "hook"))
	if got := strings.TrimSpace(string(h)); got != want {
		t.Errorf("the createRuntime hook has a timer slack of %q, want its caller's, %s", got, want)
	}
	rt, _ := os.ReadFile(filepath.Join(dir, "runtime"))
	if got, raised := strings.TrimSpace(string(rt)), strconv.Itoa(timerslack.Raised); got != raised {
		t.Errorf("the runtime (the hook's parent) has a timer slack of %q, want %s", got, raised)
	}

	// init, waiting at the exec FIFO, has it raised too; the program it
	// executes at start, and a process exec'd beside it, have the caller's.
	sleeper := bundle(t, []string{"sleep", "30"}, nil)
	defer minirun(t, "", "delete", "--force", "slack2")
	if r := withSlack(t, caller, "create", "--bundle", sleeper, "slack2"); r.code != 0 {
		t.Fatalf("create: exit %d: %s", r.code, r.stderr)
	}
	pid := state(t, "slack2").Pid
	if got := slackOf(t, pid); got != timerslack.Raised {
		t.Errorf("init, created, has a timer slack of %d ns, want %d", got, timerslack.Raised)
	}
	if r := withSlack(t, caller, "start", "slack2"); r.code != 0 {
		t.Fatalf("start: exit %d: %s", r.code, r.stderr)
	}
	waitComm(t, pid, "sleep")
	if got := slackOf(t, pid); got != caller {
		t.Errorf("the container's program has a timer slack of %d ns, want %d", got, caller)
	}
	if r := withSlack(t, caller, "exec", "slack2", "cat", "/proc/self/timerslack_ns"); r.code != 0 || strings.TrimSpace(r.stdout) != want {
		t.Errorf("an exec'd process has a timer slack of %q (exit %d, %s), want %s", r.stdout, r.code, r.stderr, want)
	}
	run(t, 0, "delete", "--force", "slack2")

	// A caller whose slack is already larger: nothing is raised.
	const large = 5_000_000
	r = withSlack(t, large, "run", "--bundle", b, "slack3")
	if r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	if got, w := strings.TrimSpace(r.stdout), strconv.Itoa(large); got != w+" "+w {
		t.Errorf("under a caller with %d ns, the container has the timer slack and default %q", large, got)
	}
	rt, _ = os.ReadFile(filepath.Join(dir, "runtime"))
	if got := strings.TrimSpace(string(rt)); got != strconv.Itoa(large) {
		t.Errorf("under a caller with %d ns, the runtime has a timer slack of %q", large, got)
	}
	assertClean(t)
}

// waitComm waits until pid's command name is comm (init has executed the
// container's program).
func waitComm(t *testing.T, pid int, comm string) {
	t.Helper()
	for i := 0; i < 500; i++ {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if strings.TrimSpace(string(b)) == comm {
			return
		}
		_ = unix.Nanosleep(&unix.Timespec{Nsec: 10_000_000}, nil)
	}
	t.Fatalf("pid %d never became %s", pid, comm)
}
