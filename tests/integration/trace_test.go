package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/trace"
)

// traceRecord is one line of `--trace-format json`.
type traceRecord = trace.Record

// parseTrace reads the JSON records of stderr; any other line (an error
// message) is kept out.
func parseTrace(t *testing.T, stderr string) []traceRecord {
	t.Helper()
	var recs []traceRecord
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r traceRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("trace line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	if len(recs) == 0 {
		t.Fatalf("no trace records in stderr:\n%s", stderr)
	}
	return recs
}

// traceStep is one expected step: the first record after the previous
// expected one whose side is side (any if "") and whose call contains
// every one of calls.
type traceStep struct {
	name  string
	side  string
	calls []string
}

// assertTraceOrder finds steps in recs in that order, each after the one
// before it, and fails naming the first one missing.
func assertTraceOrder(t *testing.T, recs []traceRecord, steps []traceStep) {
	t.Helper()
	i := 0
next:
	for _, s := range steps {
		for ; i < len(recs); i++ {
			r := recs[i]
			if s.side != "" && r.Side != s.side {
				continue
			}
			ok := true
			for _, c := range s.calls {
				ok = ok && strings.Contains(r.Call, c)
			}
			if ok {
				if r.Err != "" {
					t.Errorf("step %q failed: %+v", s.name, r)
				}
				i++
				continue next
			}
		}
		var b strings.Builder
		for _, r := range recs {
			b.WriteString(r.Side + " [" + r.Area + "] " + r.What + ": " + r.Call + "\n")
		}
		t.Fatalf("trace: step %q (%s, call with %q) missing or out of order; the trace:\n%s", s.name, s.side, s.calls, b.String())
	}
}

// The trace of a run holds every primitive of the start path, in the
// order they happen, from the runtime and from the container's init.
func TestTraceRunPrimitivesInOrder(t *testing.T) {
	r := run(t, 0, "run", "--trace", "--trace-format", "json", "--rm", "-m", "64m", "--hostname", "traced", "busybox", "true")
	recs := parseTrace(t, r.stderr)
	// cgroup v1: the limits first, then the clone, and init moves itself
	// into its cgroup (cgroups/cgjoin); v2: the limits first, and init born
	// in its cgroup (CLONE_INTO_CGROUP). Either way no cgroup.procs write.
	start := []traceStep{
		{"overlay mount", "runtime", []string{`mount("overlay"`, `"overlay"`, "lowerdir="}},
		{"memory limit", "runtime", []string{"write ", "= 67108864"}},
		{"clone of init", "runtime", []string{"clone(", "CLONE_NEWNS", "CLONE_NEWPID", "CLONE_NEWNET", "CLONE_NEWUTS", "CLONE_NEWIPC"}},
		{"init into its cgroup, by itself", "init", []string{"memory/", `/tasks, "0")`}},
	}
	if cgroupV2() {
		start = []traceStep{
			{"overlay mount", "runtime", []string{`mount("overlay"`, `"overlay"`, "lowerdir="}},
			{"memory limit", "runtime", []string{"write ", "memory.max = 67108864"}},
			{"clone of init into its cgroup", "runtime", []string{"clone3(", "CLONE_NEWNS", "CLONE_NEWPID", "CLONE_NEWNET", "CLONE_NEWUTS", "CLONE_NEWIPC", "CLONE_INTO_CGROUP"}},
		}
	}
	for _, rec := range recs {
		if strings.Contains(rec.Call, "cgroup.procs = ") {
			t.Errorf("init gets into its cgroup by itself or at birth, yet the trace moves a process: %+v", rec)
		}
	}
	assertTraceOrder(t, recs, append(start, []traceStep{
		{"cgroup namespace", "init", []string{"unshare(CLONE_NEWCGROUP)"}},
		{"hostname", "init", []string{`sethostname("traced")`}},
		{"private mounts", "init", []string{`mount("", "/", "", MS_REC|MS_PRIVATE`}},
		{"mount of proc", "init", []string{`mount("proc", `, `"proc", MS_`, ` is the handle of /proc`}},
		{"/dev/pts", "init", []string{`"devpts"`}},
		{"pivot_root", "init", []string{`pivot_root(".", ".")`}},
		{"old root detached", "init", []string{`umount2(".", MNT_DETACH)`}},
		{"start: open the FIFO", "runtime", []string{"exec.fifo", "O_RDONLY"}},
		{"bounding set", "init", []string{"PR_CAPBSET_DROP"}},
		// Without no_new_privs (Docker's default) the filter goes in
		// while init still has CAP_SYS_ADMIN: before the user switch.
		{"seccomp", "init", []string{"seccomp(SECCOMP_SET_MODE_FILTER"}},
		{"user", "init", []string{"setresuid(0, 0, 0)"}},
		{"capabilities", "init", []string{"capset("}},
		{"execve", "init", []string{`execve("/bin/true"`}},
		// The veth pair dies with the network namespace: nothing to trace.
		{"teardown: cgroup", "runtime", []string{"rmdir /sys/fs/cgroup/"}},
		{"teardown: state", "runtime", []string{"rmdir " + stateRoot}},
		{"teardown: overlay", "runtime", []string{"umount2(", "/rootfs", "MNT_DETACH"}},
	}...))
	// The network goes in while init builds its root filesystem: after
	// the clone, before the start, in any order with init's steps.
	assertTraceOrder(t, recs, []traceStep{
		{"clone of init", "runtime", []string{"CLONE_NEWNET"}},
		{"veth pair, one end born in the container", "runtime", []string{"ip link add ", "type veth peer name eth0", "netns /proc/"}},
		{"container address", "runtime", []string{"addr add ", "dev eth0"}},
		{"start: open the FIFO", "runtime", []string{"exec.fifo", "O_RDONLY"}},
		{"execve", "init", []string{`execve("/bin/true"`}},
	})
	for _, rec := range recs {
		if rec.Side == "" || rec.Area == "" || rec.What == "" || rec.Call == "" || rec.TMs < 0 || rec.DurMs < 0 {
			t.Errorf("incomplete record: %+v", rec)
		}
	}
}

// The trace goes to stderr: the container's stdout is exactly its own.
// Text records name the step, the call and the man page, without colour
// when stderr is no terminal.
func TestTraceLeavesStdoutAlone(t *testing.T) {
	r := run(t, 0, "run", "--trace", "--rm", "busybox", "echo", "hi")
	if r.stdout != "hi\n" {
		t.Errorf("stdout with --trace: %q, want %q", r.stdout, "hi\n")
	}
	for _, want := range []string{"[rootfs]", "pivot_root(\".\", \".\")", "pivot_root(2)", " init ", " runtime ", `execve("/bin/echo"`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("text trace lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "\x1b[") {
		t.Errorf("colour codes in a trace to a pipe:\n%s", r.stderr)
	}
	// Without --trace, nothing.
	if r := run(t, 0, "run", "--rm", "busybox", "echo", "hi"); r.stderr != "" {
		t.Errorf("stderr without --trace: %q", r.stderr)
	}
}

// MINIRUN_TRACE=1 and MINIRUN_TRACE_FORMAT=json do what the flags do
// (and no_new_privs shows in its place).
func TestTraceFromEnvironment(t *testing.T) {
	t.Setenv("MINIRUN_TRACE", "1")
	t.Setenv("MINIRUN_TRACE_FORMAT", "json")
	r := run(t, 0, "run", "--rm", "--network", "none", "--security-opt", "no-new-privileges", "busybox", "true")
	assertTraceOrder(t, parseTrace(t, r.stderr), []traceStep{
		{"clone of init", "runtime", []string{"clone", "CLONE_NEWPID"}},
		{"pivot_root", "init", []string{`pivot_root(".", ".")`}},
		{"capabilities", "init", []string{"capset("}},
		// With no_new_privs, the filter goes in last, after it.
		{"no_new_privs", "init", []string{"PR_SET_NO_NEW_PRIVS"}},
		{"seccomp", "init", []string{"seccomp(SECCOMP_SET_MODE_FILTER"}},
		{"execve", "init", []string{`execve("/bin/true"`}},
	})
}

// exec --trace shows the setns(2) of each namespace nsenter.c joined, then
// the exec'd process's own steps up to its execve.
func TestTraceExecSetns(t *testing.T) {
	startExecTarget(t, "tr-exec")
	r := run(t, 0, "exec", "--trace", "--trace-format", "json", "tr-exec", "true")
	recs := parseTrace(t, r.stderr)
	assertTraceOrder(t, recs, []traceStep{
		{"exec-init started", "runtime", []string{`"exec-init"`}},
		{"setns ipc", "runtime", []string{"setns(", "/ns/ipc", "CLONE_NEWIPC"}},
		{"setns uts", "runtime", []string{"setns(", "/ns/uts", "CLONE_NEWUTS"}},
		{"setns net", "runtime", []string{"setns(", "/ns/net", "CLONE_NEWNET"}},
		{"setns pid", "runtime", []string{"setns(", "/ns/pid", "CLONE_NEWPID"}},
		{"setns cgroup", "runtime", []string{"setns(", "/ns/cgroup", "CLONE_NEWCGROUP"}},
		{"setns mnt", "runtime", []string{"setns(", "/ns/mnt", "CLONE_NEWNS"}},
		{"capabilities", "exec", []string{"capset("}},
		{"execve", "exec", []string{`execve("/bin/true"`}},
	})
}

// The OCI verbs trace too: create shows the clone and init's mounts,
// start the FIFO, delete the teardown.
func TestTraceOCIVerbs(t *testing.T) {
	b := bundle(t, []string{"true"}, nil)
	id := "tr-oci"
	r := minirunFiles(t, "create", "--trace", "--trace-format", "json", "--bundle", b, id)
	if r.code != 0 {
		t.Fatalf("create: %d\n%s", r.code, r.stderr)
	}
	defer minirun(t, "", "delete", "--force", id)
	assertTraceOrder(t, parseTrace(t, r.stderr), []traceStep{
		{"clone of init", "runtime", []string{"clone", "CLONE_NEWPID"}},
		{"pivot_root", "init", []string{`pivot_root(".", ".")`}},
	})
	r = run(t, 0, "start", "--trace", "--trace-format", "json", id)
	assertTraceOrder(t, parseTrace(t, r.stderr), []traceStep{
		{"start: open the FIFO", "runtime", []string{"exec.fifo", "O_RDONLY"}},
	})
	waitUntil(t, id+" stopped", func() bool {
		return strings.Contains(minirun(t, "", "state", id).stdout, `"stopped"`)
	})
	r = run(t, 0, "delete", "--trace", "--trace-format", "json", id)
	assertTraceOrder(t, parseTrace(t, r.stderr), []traceStep{
		{"cgroup removed", "runtime", []string{"rmdir "}},
		{"state removed", "runtime", []string{"rmdir " + stateRoot}},
	})
}

// A reader of the trace that goes away (`2>&1 | head -1`) must not kill
// minirun halfway: the container still runs and is still removed.
func TestTraceReaderGone(t *testing.T) {
	cmd := exec.Command(bin, "run", "--trace", "--rm", "busybox", "sh", "-c", "sleep 0.2; echo done")
	cmd.Env = minirunEnv()
	var out bytes.Buffer
	cmd.Stdout = &out
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close() // the reader is gone after one line
	if err != nil || !strings.Contains(line, "ms") {
		t.Fatalf("first trace line %q: %v", line, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("minirun died when its trace reader went away: %v (stdout %q)", err, out.String())
	}
	if out.String() != "done\n" {
		t.Errorf("stdout %q, want %q", out.String(), "done\n")
	}
	assertClean(t)
}

// run -d: the monitor's launcher creates the container; its steps and
// init's come back to the `run` that started it.
func TestTraceDetached(t *testing.T) {
	r := run(t, 0, "run", "-d", "--trace", "--trace-format", "json", "--name", "tr-detached", "--network", "none", "busybox", "sleep", "100")
	defer run(t, 0, "rm", "-f", "tr-detached")
	assertTraceOrder(t, parseTrace(t, r.stderr), []traceStep{
		{"overlay mount", "runtime", []string{`mount("overlay"`}},
		{"clone of init", "launch", []string{"clone", "CLONE_NEWPID"}},
		{"pivot_root", "init", []string{`pivot_root(".", ".")`}},
		{"start: open the FIFO", "launch", []string{"exec.fifo", "O_RDONLY"}},
	})
	if id := strings.TrimSpace(r.stdout); len(id) != 64 {
		t.Errorf("run -d --trace stdout %q: want the container ID alone", r.stdout)
	}
}

// cgroupV2 tells whether this host has the pure cgroup v2 hierarchy at
// /sys/fs/cgroup (the VM), not v1 controllers (this machine).
func cgroupV2() bool {
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}
