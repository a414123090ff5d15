package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// minirunFull runs the binary with args as minirun runs them itself, the
// front door closed (_MINIRUN_FULL: cmd/minirun/frontdoor), and waits.
func minirunFull(t *testing.T, args ...string) result {
	t.Helper()
	return minirunWith(t, []string{"_MINIRUN_FULL=1"}, args...)
}

// minirunWith runs the binary with args and extra environment variables.
func minirunWith(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(minirunEnv(), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
}

// The runc verbs engines call most go through minirun's front door to
// minirun-init (cmd/minirun/frontdoor, cmd/minirun-init/front.go): the
// process that runs `run --bundle` is minirun-init, and every command line
// gives the same exit code, output and errors as minirun running it itself,
// whether minirun-init runs it or hands it back.
func TestFrontDoor(t *testing.T) {
	helper := filepath.Join(filepath.Dir(bin), "minirun-init")
	if !fileExists(helper) {
		t.Fatalf("no minirun-init beside %s (make build makes both)", bin)
	}
	// The process of `minirun run --bundle` is minirun-init.
	b := bundle(t, []string{"sleep", "2"}, nil)
	cmd := exec.Command(bin, "run", "--bundle", b, "fd1")
	cmd.Env = minirunEnv()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer minirun(t, "", "delete", "--force", "fd1")
	deadline := time.Now().Add(5 * time.Second)
	for !fileExists(filepath.Join(stateRoot, "fd1")) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !initExe(t, cmd.Process.Pid, helper) {
		t.Errorf("minirun run --bundle (pid %d) does not run as minirun-init", cmd.Process.Pid)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run --bundle: %v", err)
	}

	// The same answers, both ways. Lines that name the container's
	// creation time differ between two runs; none of these print one.
	created := bundle(t, []string{"sleep", "30"}, nil)
	defer minirun(t, "", "delete", "--force", "fd2")
	// Files, not pipes, for create's output: the created init keeps them.
	if r := minirunFiles(t, "create", "--bundle", created, "fd2"); r.code != 0 {
		t.Fatalf("create: exit %d: %s", r.code, r.stderr)
	}
	logFile := filepath.Join(t.TempDir(), "log.json")
	for _, args := range [][]string{
		{"state", "fd-nosuch"},
		{"state"},
		{"start", "fd-nosuch"},
		{"delete", "fd-nosuch"},
		{"delete", "--force", "fd-nosuch"},
		{"delete", "fd2"},
		{"kill", "fd-nosuch"},
		{"kill", "fd-nosuch", "KILL"},
		{"kill", "fd2", "NOSUCHSIGNAL"},
		{"kill", "fd2", "0"},
		{"kill", "--all", "fd2", "0"},
		{"create", "--bundle", "/nonexistent", "fd3"},
		{"create", "fd3", "--bundle"},
		{"create", "--bogus", "fd3"},
		{"create", "--help"},
		{"run", "--bundle", "/nonexistent", "fd3"},
		{"--log", logFile, "--log-format", "json", "state", "fd-nosuch"},
		{"--log-format", "xml", "state", "fd2"},
		{"--systemd-cgroup", "kill", "fd2", "0"},
		{"state", "--bogus", "fd2"},
	} {
		fast, full := minirun(t, "", args...), minirunFull(t, args...)
		if fast != full {
			t.Errorf("minirun %s:\nthrough the front door: exit %d, stdout %q, stderr %q\nminirun itself:         exit %d, stdout %q, stderr %q",
				strings.Join(args, " "), fast.code, fast.stdout, fast.stderr, full.code, full.stdout, full.stderr)
		}
	}
	// Both wrote the same error to --log, one line each.
	if b, _ := os.ReadFile(logFile); strings.Count(string(b), `"level":"error"`) != 2 {
		t.Errorf("--log file after two failed states: %q", b)
	}
	// state of a created container, both ways: the same JSON.
	if fast, full := run(t, 0, "state", "fd2"), minirunFull(t, "state", "fd2"); fast != full {
		t.Errorf("state: %q, minirun itself %q", fast.stdout, full.stdout)
	}

	// minirun-init from another build hands the command back.
	cmd = exec.Command(helper, "state", "fd-nosuch")
	cmd.Env = append(minirunEnv(), "_MINIRUN_FRONT="+bin, "_MINIRUN_INIT_STAMP=0123456789abcdef")
	out, _ := cmd.CombinedOutput()
	if want := minirunFull(t, "state", "fd-nosuch"); cmd.ProcessState.ExitCode() != want.code || string(out) != want.stderr {
		t.Errorf("minirun-init with another build's stamp: exit %d, %q; want minirun's own answer: exit %d, %q", cmd.ProcessState.ExitCode(), out, want.code, want.stderr)
	}

	// A container of `minirun run`: kill by name goes back to minirun
	// (Docker's default signal, SIGKILL).
	name := "fdrun-" + strconv.Itoa(os.Getpid())
	defer minirun(t, "", "rm", "-f", name)
	run(t, 0, "run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "30")
	run(t, 0, "kill", name)
	waitUntil(t, "the killed container to stop", func() bool { return !inspectC(t, name).State.Running })
	if st := inspectC(t, name); st.State.ExitCode != 137 {
		t.Errorf("kill of a run container by name: exit code %d, want SIGKILL's 137", st.State.ExitCode)
	}
}
