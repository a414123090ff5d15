package cgroups

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestConversions(t *testing.T) {
	for shares, want := range map[uint64]uint64{2: 1, 1024: 39, 262144: 10000, 512: 20} {
		if got := ConvertSharesToWeight(shares); got != want {
			t.Errorf("shares %d -> weight %d, want %d", shares, got, want)
		}
	}
	if ConvertBlkioToIOWeight(10) != 1 || ConvertBlkioToIOWeight(1000) != 10000 {
		t.Error("blkio weight conversion")
	}
}

func TestResolvePath(t *testing.T) {
	cases := []struct{ p, own, want string }{
		{"/minirun/abc", "/x", "/minirun/abc"},
		{"minirun/abc", "/x/y", "/x/y/minirun/abc"},
		{"abc", "/", "/abc"},
	}
	for _, c := range cases {
		if got, err := ResolvePath(c.p, c.own); err != nil || got != c.want {
			t.Errorf("ResolvePath(%q, %q) = %q, %v", c.p, c.own, got, err)
		}
	}
	if _, err := ResolvePath("../escape", "/x"); err == nil {
		t.Error("'..' accepted")
	}
}

// TestManagerOnHost exercises the host's real cgroups (v1 on a hybrid or
// legacy host, v2 on a unified one) below this test's own cgroup.
func TestManagerOnHost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups below its own")
	}
	mode := DetectMode()
	if mode == Unavailable {
		t.Fatal("no cgroup filesystem at /sys/fs/cgroup")
	}
	t.Logf("host: %s", mode)
	m := testCgroup(t, "c1")
	limit := int64(64 << 20)
	pids := int64(10)
	quota, period := int64(50000), uint64(100000)
	shares := uint64(512)
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &limit},
		Pids:   &specs.LinuxPids{Limit: &pids},
		CPU:    &specs.LinuxCPU{Quota: &quota, Period: &period, Shares: &shares, Cpus: "0"},
	}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer sleeper.Wait()
	if err := m.Apply(sleeper.Process.Pid); err != nil {
		sleeper.Process.Kill()
		t.Fatal(err)
	}
	got, err := m.Pids()
	if err != nil || len(got) != 1 || got[0] != sleeper.Process.Pid {
		t.Errorf("Pids = %v, %v; want [%d]", got, err, sleeper.Process.Pid)
	}
	// What the kernel reports, in the process's own view.
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", sleeper.Process.Pid))
	if !strings.Contains(string(status), "Cpus_allowed_list:\t0\n") {
		t.Errorf("cpuset not applied:\n%s", status)
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.MemoryLimit != uint64(limit) || st.PidsLimit != 10 || st.Pids != 1 {
		t.Errorf("stats: %+v", st)
	}
	if mode == Unified {
		checkFile(t, m.(*v2).dir, "cpu.max", "50000 100000")
		checkFile(t, m.(*v2).dir, "cpu.weight", "20")
	} else {
		v := m.(*v1)
		checkFile(t, v.dir("cpu"), "cpu.cfs_quota_us", "50000")
		checkFile(t, v.dir("cpu"), "cpu.shares", "512")
		checkFile(t, v.dir("memory"), "memory.limit_in_bytes", strconv.FormatInt(limit, 10))
	}
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	// Destroy must kill the process left inside.
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { sleeper.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Destroy left the process alive")
	}
	assertGone(t, m.Config())
}

func checkFile(t *testing.T, dir, file, want string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil || strings.TrimSpace(string(b)) != want {
		t.Errorf("%s/%s = %q, %v; want %q", dir, file, b, err, want)
	}
}

func assertGone(t *testing.T, c Config) {
	t.Helper()
	for _, d := range c.Created {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s still exists", d)
		}
	}
}

// A bad limit is refused with the file, the value and the mode named.
func TestWriteErrorNamesEverything(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	m, err := New(fmt.Sprintf("minirun-test-%d/bad", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Destroy()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	r := &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "99"}}
	err = m.Set(r)
	if err == nil || !strings.Contains(err.Error(), "cpuset.cpus = 99") || !strings.Contains(err.Error(), "cgroup v") {
		t.Fatalf("error %v: want the file, value and mode", err)
	}
}

// Raising memory and memory+swap together must write memsw first (the
// kernel keeps limit <= memsw.limit at every step), lowering them the
// limit first: `update`, or a cgroup that already exists.
func TestMemoryAndSwapBothWays(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups below its own")
	}
	if DetectMode() == Unified {
		t.Skip("cgroup v1 only: v2 has separate memory.max and memory.swap.max")
	}
	m, err := New(fmt.Sprintf("minirun-test-%d/memsw", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("Destroy: %v", err)
		}
	})
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(m.Config().Dirs["memory"], "memory.memsw.limit_in_bytes")); err != nil {
		t.Skip("no swap accounting on this kernel")
	}
	for _, mb := range []int64{48, 144, 32} {
		v := mb << 20
		if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &v, Swap: &v}}); err != nil {
			t.Fatalf("limit = memsw = %d MiB: %v", mb, err)
		}
	}
}

// On v1 a process moves itself in through the tasks files SelfJoinFiles
// opened (what cgroups/cgjoin's constructor does in init); on v2 there are
// none (CloneInto instead).
func TestSelfJoinFilesOnHost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups below its own")
	}
	m := testCgroup(t, "self")
	files, paths, ok, err := SelfJoinFiles(m)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config().Mode == Unified {
		if ok || len(files) > 0 {
			t.Fatalf("cgroup v2: SelfJoinFiles = %v, %v; want none", paths, ok)
		}
		return
	}
	if !ok || len(files) != len(m.Config().Dirs) {
		t.Fatalf("SelfJoinFiles = %v, ok %v; want the tasks file of each of %d hierarchies", paths, ok, len(m.Config().Dirs))
	}
	var script strings.Builder
	for i, p := range paths {
		if !strings.HasSuffix(p, "/tasks") {
			t.Errorf("%s: not a tasks file", p)
		}
		fmt.Fprintf(&script, "echo 0 >/proc/self/fd/%d && ", 3+i) // (dash: no >&N past 9)
	}
	script.WriteString("exec sleep 60")
	// sh is one thread: "0" moves the writer, which then becomes sleep.
	sleeper := exec.Command("sh", "-c", script.String())
	sleeper.ExtraFiles = files
	sleeper.Stderr = os.Stderr
	// (The descriptors' numbers are 3 on, in the order of paths.)
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		f.Close()
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := m.Pids()
		if len(got) == 1 && got[0] == sleeper.Process.Pid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Pids = %v; want [%d] (the process did not move itself in)", got, sleeper.Process.Pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", sleeper.Process.Pid))
	in := 0
	for _, line := range strings.Split(strings.TrimSpace(string(cg)), "\n") {
		if strings.HasSuffix(line, fmt.Sprintf("/minirun-test-%d/self", os.Getpid())) {
			in++
		}
	}
	if in != len(m.Config().Dirs) {
		t.Errorf("in the cgroup in %d hierarchies, want %d:\n%s", in, len(m.Config().Dirs), cg)
	}
}

// testCgroup creates minirun-test-<pid>/name below this process's own
// cgroup, destroyed (and checked gone) when the test ends.
func testCgroup(t *testing.T, name string) Manager {
	t.Helper()
	m, err := New(fmt.Sprintf("minirun-test-%d/%s", os.Getpid(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("Destroy: %v", err)
		}
		assertGone(t, m.Config())
	})
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	return m
}

// mkdirs creates what is missing of a path, top first, and reports
// exactly the directories it made.
func TestMkdirs(t *testing.T) {
	root := t.TempDir()
	j := func(p ...string) string { return filepath.Join(append([]string{root}, p...)...) }
	got, err := mkdirs(root, j("a", "b", "c"))
	if want := []string{j("a"), j("a", "b"), j("a", "b", "c")}; err != nil || !slices.Equal(got, want) {
		t.Errorf("mkdirs a/b/c = %v, %v; want %v", got, err, want)
	}
	if got, err := mkdirs(root, j("a", "b", "c")); err != nil || len(got) != 0 {
		t.Errorf("mkdirs of an existing path = %v, %v; want nothing made", got, err)
	}
	if got, err := mkdirs(root, j("a", "b", "d")); err != nil || !slices.Equal(got, []string{j("a", "b", "d")}) {
		t.Errorf("mkdirs a/b/d = %v, %v", got, err)
	}
	if err := os.WriteFile(j("f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := mkdirs(root, j("f", "x")); err == nil || len(got) != 0 {
		t.Errorf("mkdirs through a file = %v, %v; want an error", got, err)
	}
}
