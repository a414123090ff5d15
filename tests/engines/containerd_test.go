package engines

// containerd 1.6 (Debian 12) and its ctr client with minirun as the runc
// of the io.containerd.runc.v2 shim (`ctr run --runc-binary`): the shim
// calls minirun's create (with --pid-file, --console-socket for -t, the
// container's stdio as minirun's own), start, state, exec --process
// --detach, ps --format json, kill [--all], pause, resume and delete, and
// reads minirun's --log (JSON) when a command fails.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestContainerd(t *testing.T) {
	e := newContainerd(t, false)
	e.importImage(t, ctdNamespace, e.busyboxImage(t))
	mr := e.minirun

	t.Run("Echo", func(t *testing.T) {
		r := e.run(t, "", e.runArgs(mr, "echo", []string{"--rm"}, "echo", "hello from minirun")...)
		if r.code != 0 || r.stdout != "hello from minirun\n" {
			t.Fatalf("want the echo: %v", r)
		}
	})

	t.Run("ExitCode", func(t *testing.T) {
		for _, c := range []struct {
			script string
			code   int
		}{{"exit 7", 7}, {"true", 0}, {"exit 255", 255}} {
			r := e.run(t, "", e.runArgs(mr, "exit", []string{"--rm"}, "sh", "-c", c.script)...)
			if r.code != c.code {
				t.Errorf("%q: exit code %d, want %d: %v", c.script, r.code, c.code, r)
			}
		}
	})

	// A program that cannot run fails `create`: the shim reads the reason
	// from minirun's --log file (runc's words), and ctr prints it.
	t.Run("CreateErrors", func(t *testing.T) {
		for _, c := range []struct{ prog, msg string }{
			{"nosuch", `exec: "nosuch": executable file not found in $PATH`},
			{"/nosuch/prog", "no such file or directory"},
			{"/etc/passwd", "permission denied"},
		} {
			r := e.run(t, "", e.runArgs(mr, "err", []string{"--rm"}, c.prog)...)
			if r.code == 0 || !strings.Contains(r.stderr, "OCI runtime create failed") || !strings.Contains(r.stderr, c.msg) {
				t.Errorf("%s: want create to fail with %q: %v", c.prog, c.msg, r)
			}
			if strings.Contains(r.stderr, "unable to retrieve OCI runtime error") {
				t.Errorf("%s: the shim found no error in minirun's log: %v", c.prog, r)
			}
			e.run(t, "", "container", "delete", "err")
		}
	})

	// The container's stdin is minirun's own fd 0 (a pipe of the shim's).
	// (ctr closes it only if its input ends after the task exists, a race
	// of ctr's with runc too: the script reads one line, not to EOF.)
	t.Run("Stdin", func(t *testing.T) {
		r := e.run(t, "a line\n", e.runArgs(mr, "stdin", []string{"--rm"}, "sh", "-c", "read l; echo got: $l")...)
		if r.code != 0 || r.stdout != "got: a line\n" {
			t.Fatalf("want the line back: %v", r)
		}
	})

	// -t: the shim's console socket gets the pty master from minirun; the
	// slave is the container's controlling terminal with ctr's size.
	t.Run("TTY", func(t *testing.T) {
		pdTTYDialogue(t, pdStartPty(t, e.ctr(ctdNamespace, e.runArgs(mr, "tty", []string{"--rm", "-t"}, "sh")...), 40, 120))
	})

	t.Run("Task", func(t *testing.T) {
		id := "svc"
		logFile := filepath.Join(e.dir, "svc.log")
		script := `echo started; trap "echo got TERM; exit 3" TERM; while :; do sleep 0.1; done`
		if r := e.run(t, "", e.runArgs(mr, id, []string{"-d", "--log-uri", "file://" + logFile}, "sh", "-c", script)...); r.code != 0 {
			t.Fatal(r)
		}
		defer e.run(t, "", "container", "delete", id)
		defer e.run(t, "", "task", "delete", "--force", id)
		pid := ctdTaskPid(t, e, id, "RUNNING")
		if !ctdState(e.runcRoot, ctdNamespace, id) {
			t.Errorf("no minirun state for %s below %s: the shim did not run minirun", id, e.runcRoot)
		}
		if cg := ctdCgroupOf(pid); !strings.HasPrefix(cg, e.cgParent+"/") {
			t.Errorf("task in cgroup %q, want one below %s", cg, e.cgParent)
		}

		// exec: minirun exec --process --detach --pid-file.
		r := e.run(t, "", "task", "exec", "--exec-id", "e1", "--fifo-dir", e.fifoDir, id, "sh", "-c", "echo in exec; cat /proc/1/cmdline; exit 5")
		if r.code != 5 || !strings.HasPrefix(r.stdout, "in exec\n") || !strings.Contains(r.stdout, "trap") {
			t.Errorf("exec: want exit 5, its output and PID 1's command line: %v", r)
		}
		r = e.run(t, "", "task", "exec", "--exec-id", "e2", "--fifo-dir", e.fifoDir, id, "nosuch")
		if r.code == 0 || !strings.Contains(r.stderr, "executable file not found in $PATH") {
			t.Errorf("exec of a missing program: %v", r)
		}
		s := pdStartPty(t, e.ctr(ctdNamespace, "task", "exec", "-t", "--exec-id", "e3", "--fifo-dir", e.fifoDir, id, "sh"), 30, 100)
		at := s.expect(0, "# ", 30*time.Second)
		s.send("tty; stty size; exit 6\n")
		at = s.expect(at, "/dev/pts/", 10*time.Second)
		s.expect(at, "30 100", 10*time.Second)
		if code := s.wait(30 * time.Second); code != 6 {
			t.Errorf("exec -t: exit code %d, want 6; output:\n%q", code, s.output())
		}

		// ps: minirun ps --format json.
		r = e.run(t, "", "task", "ps", id)
		if r.code != 0 || !strings.Contains(r.stdout, strconv.Itoa(pid)) {
			t.Errorf("task ps: want init's PID %d: %v", pid, r)
		}

		// pause, resume: the freezer, and the status the shim reads.
		if r := e.run(t, "", "task", "pause", id); r.code != 0 {
			t.Errorf("pause: %v", r)
		}
		ctdTaskPid(t, e, id, "PAUSED")
		if r := e.run(t, "", "task", "resume", id); r.code != 0 {
			t.Errorf("resume: %v", r)
		}
		ctdTaskPid(t, e, id, "RUNNING")

		// kill (SIGTERM by default): PID 1's trap runs and exits 3.
		if r := e.run(t, "", "task", "kill", id); r.code != 0 {
			t.Fatalf("kill: %v", r)
		}
		ctdTaskPid(t, e, id, "STOPPED")
		if b, _ := os.ReadFile(logFile); string(b) != "started\ngot TERM\n" {
			t.Errorf("the task's output: %q, want started and got TERM", b)
		}
		// A stopped container cannot be signalled: minirun says so in
		// runc's words, which the shim maps to "not found".
		r = e.run(t, "", "task", "kill", id)
		if r.code == 0 || !strings.Contains(r.stderr, "process already finished") {
			t.Errorf("kill of a stopped task: want \"process already finished\": %v", r)
		}
		r = e.run(t, "", "task", "delete", id)
		if r.code != 0 || !strings.Contains(r.stderr, "exit code 3") {
			t.Errorf("task delete: want the exit code 3: %v", r)
		}
		if r := e.run(t, "", "container", "delete", id); r.code != 0 {
			t.Errorf("container delete: %v", r)
		}
		if ctdState(e.runcRoot, ctdNamespace, id) {
			t.Errorf("minirun's state of %s is left after delete", id)
		}
		if left := pdLeftCgroups(e.cgParent, id); len(left) > 0 {
			t.Errorf("cgroups left after delete: %v", left)
		}
	})

	// kill --all: every process of the container's cgroup.
	t.Run("KillAll", func(t *testing.T) {
		id := "killall"
		if r := e.run(t, "", e.runArgs(mr, id, []string{"-d", "--null-io"}, "sh", "-c", "sleep 300 & sleep 300")...); r.code != 0 {
			t.Fatal(r)
		}
		defer e.run(t, "", "container", "delete", id)
		defer e.run(t, "", "task", "delete", "--force", id)
		ctdTaskPid(t, e, id, "RUNNING")
		if r := e.run(t, "", "task", "kill", "--all", "--signal", "KILL", id); r.code != 0 {
			t.Fatalf("kill --all: %v", r)
		}
		ctdTaskPid(t, e, id, "STOPPED")
		r := e.run(t, "", "task", "delete", id)
		if !strings.Contains(r.stderr, "exit code 137") {
			t.Errorf("task delete: want exit code 137: %v", r)
		}
	})

	// delete --force of a paused task: SIGKILL, then the thaw without
	// which a frozen process (cgroup v1) never dies.
	t.Run("DeletePaused", func(t *testing.T) {
		id := "paused"
		if r := e.run(t, "", e.runArgs(mr, id, []string{"-d", "--null-io"}, "sleep", "300")...); r.code != 0 {
			t.Fatal(r)
		}
		defer e.run(t, "", "container", "delete", id)
		if r := e.run(t, "", "task", "pause", id); r.code != 0 {
			t.Fatalf("pause: %v", r)
		}
		ctdTaskPid(t, e, id, "PAUSED")
		r := pdRun(t, 20*time.Second, "", e.ctr(ctdNamespace, "task", "delete", "--force", id))
		if r.code != 0 {
			t.Fatalf("task delete --force of a paused task: %v", r)
		}
		if ctdState(e.runcRoot, ctdNamespace, id) {
			t.Errorf("minirun's state of %s is left after delete --force", id)
		}
	})

	t.Run("NothingLeft", func(t *testing.T) {
		for _, what := range []string{"task", "container"} {
			if r := e.run(t, "", what, "list", "--quiet"); r.code != 0 || strings.TrimSpace(r.stdout) != "" {
				t.Errorf("%ss left: %v", what, r)
			}
		}
		if ents, _ := os.ReadDir(filepath.Join(e.runcRoot, ctdNamespace)); len(ents) > 0 {
			t.Errorf("minirun state left: %v", ents)
		}
		if left := pdLeftCgroups(e.cgParent, ""); len(left) > 0 {
			t.Errorf("container cgroups left: %v", left)
		}
	})
}

// ctdTaskPid waits until `ctr task list` shows task id with status, and
// returns its PID.
func ctdTaskPid(t *testing.T, e *ctdEnv, id, status string) int {
	t.Helper()
	var last pdResult
	pid := 0
	ok := pdWaitFor(10*time.Second, func() bool {
		last = e.run(t, "", "task", "list")
		for _, line := range strings.Split(last.stdout, "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == id && f[2] == status {
				pid, _ = strconv.Atoi(f[1])
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("task %s is not %s: %v", id, status, last)
	}
	return pid
}

// BenchmarkCtrRun times `ctr run --rm busybox true` with minirun and with
// runc (Debian's, if installed) as the shim's runtime, on one containerd:
//
//	go test -run '^$' -bench CtrRun -benchtime 20x ./tests/engines/
func BenchmarkCtrRun(b *testing.B) {
	e := newContainerd(b, false)
	e.importImage(b, ctdNamespace, e.busyboxImage(b))
	runtimes := [][2]string{{"minirun", e.minirun}}
	if runc, err := exec.LookPath("runc"); err == nil {
		runtimes = append(runtimes, [2]string{"runc", runc})
	}
	for _, rt := range runtimes {
		b.Run(rt[0], func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				id := rt[0] + "-" + strconv.Itoa(i)
				if r := pdRun(b, 60*time.Second, "", e.ctr(ctdNamespace, e.runArgs(rt[1], id, []string{"--rm"}, "true")...)); r.code != 0 {
					b.Fatal(r)
				}
			}
		})
	}
}
