package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cpusAllowed is the Cpus_allowed_list line of a /proc/<pid>/status text.
func cpusAllowed(status string) string {
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// The container gets every CPU its cgroup allows, whatever CPUs minirun
// itself ran on (as runc does since 1.3.1), and so does an exec'd process;
// the runc verbs run pinned to one CPU (affinity/doc.go), and a hook, the
// user's program too, gets the CPUs of whoever ran minirun back.
func TestCPUAffinity(t *testing.T) {
	var mine unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mine); err != nil {
		t.Fatal(err)
	}
	if mine.Count() < 2 {
		t.Skip("needs a machine with two CPUs or more")
	}
	self, _ := os.ReadFile("/proc/self/status")
	all := cpusAllowed(string(self))
	var cpus []int
	for i := 0; i < 1024; i++ {
		if mine.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	dir := t.TempDir()
	// The createRuntime hook runs in the runtime: its parent is minirun.
	hook := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c",
		"cat /proc/self/status > " + filepath.Join(dir, "hook") + "; cat /proc/$PPID/status > " + filepath.Join(dir, "runtime")}}
	show := []string{"cat", "/proc/self/status"}

	b := bundle(t, show, func(s *specs.Spec) { s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{hook}} })
	r := run(t, 0, "run", "--bundle", b, "cpus1")
	if got := cpusAllowed(r.stdout); got != all {
		t.Errorf("the container may run on CPUs %q, want all of %q", got, all)
	}
	h, _ := os.ReadFile(filepath.Join(dir, "hook"))
	if got := cpusAllowed(string(h)); got != all {
		t.Errorf("the createRuntime hook may run on CPUs %q, want those of its caller, %q", got, all)
	}
	rt, _ := os.ReadFile(filepath.Join(dir, "runtime"))
	if got := cpusAllowed(string(rt)); got == "" || strings.ContainsAny(got, ",-") {
		t.Errorf("the runtime (the hook's parent) may run on CPUs %q, want one CPU", got)
	}

	// minirun itself pinned to the last CPU (taskset -c N minirun ...):
	// the container still gets all of them.
	var last unix.CPUSet
	last.Set(cpus[len(cpus)-1])
	pinned := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = minirunEnv()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		runtime.LockOSThread()
		err := unix.SchedSetaffinity(0, &last)
		if err == nil {
			err = cmd.Start() // the child gets this thread's CPUs
			unix.SchedSetaffinity(0, &mine)
		}
		runtime.UnlockOSThread()
		if err == nil {
			err = cmd.Wait()
		}
		if err != nil {
			t.Fatalf("minirun %v pinned to CPU %d: %v\n%s", args, cpus[len(cpus)-1], err, out.String())
		}
		return out.String()
	}
	if got := cpusAllowed(pinned("run", "--bundle", b, "cpus2")); got != all {
		t.Errorf("started by a minirun pinned to CPU %d, the container may run on CPUs %q, want %q", cpus[len(cpus)-1], got, all)
	}
	h, _ = os.ReadFile(filepath.Join(dir, "hook"))
	if got, want := cpusAllowed(string(h)), strconv.Itoa(cpus[len(cpus)-1]); got != want {
		t.Errorf("the createRuntime hook of a pinned minirun may run on CPUs %q, want %q", got, want)
	}

	// So does a process `minirun exec` starts in a running container.
	sleeper := bundle(t, []string{"sleep", "30"}, nil)
	defer minirun(t, "", "delete", "--force", "cpus4")
	if r := minirunFiles(t, "create", "--bundle", sleeper, "cpus4"); r.code != 0 {
		t.Fatalf("create: exit %d: %s", r.code, r.stderr)
	}
	run(t, 0, "start", "cpus4")
	if got := cpusAllowed(pinned("exec", "cpus4", "cat", "/proc/self/status")); got != all {
		t.Errorf("exec'd by a minirun pinned to CPU %d, the process may run on CPUs %q, want %q", cpus[len(cpus)-1], got, all)
	}
	run(t, 0, "delete", "--force", "cpus4")

	// The cgroup's cpuset narrows it.
	first := strconv.Itoa(cpus[0])
	b = bundle(t, show, func(s *specs.Spec) {
		s.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: first}}
	})
	r = run(t, 0, "run", "--bundle", b, "cpus3")
	if got := cpusAllowed(r.stdout); got != first {
		t.Errorf("with cpuset.cpus %s the container may run on CPUs %q", first, got)
	}
	assertClean(t)
}
