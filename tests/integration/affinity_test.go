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
// itself ran on (as runc does); the runc verbs run pinned to one CPU
// (affinity/doc.go), and a hook, the user's program too, gets the CPUs of
// whoever ran minirun back.
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
	cmd := exec.Command(bin, "run", "--bundle", b, "cpus2")
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
		t.Fatalf("minirun pinned to CPU %d: %v\n%s", cpus[len(cpus)-1], err, out.String())
	}
	if got := cpusAllowed(out.String()); got != all {
		t.Errorf("started by a minirun pinned to CPU %d, the container may run on CPUs %q, want %q", cpus[len(cpus)-1], got, all)
	}
	h, _ = os.ReadFile(filepath.Join(dir, "hook"))
	if got, want := cpusAllowed(string(h)), strconv.Itoa(cpus[len(cpus)-1]); got != want {
		t.Errorf("the createRuntime hook of a pinned minirun may run on CPUs %q, want %q", got, want)
	}

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
