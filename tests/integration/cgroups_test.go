package integration

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// These run on whatever cgroups the host has (v1 on this project's
// hybrid machines); the cgroup-v2 VM runs the cgroups package's own tests.

func TestOOMKill(t *testing.T) {
	r := minirun(t, "", "run", "--rm", "-m", "64m", "busybox", "sh", "-c", "head -c 200m /dev/zero | tail")
	if r.code != 137 || !strings.Contains(r.stderr, "OOMKilled") {
		t.Fatalf("exit %d, stderr %q: want 137 and OOMKilled", r.code, r.stderr)
	}
	assertClean(t)
}

func TestPidsLimit(t *testing.T) {
	// The command: the shell dies when fork fails past 20.
	r := minirun(t, "", "run", "--rm", "--pids-limit", "20", "busybox", "sh", "-c", "for i in $(seq 50); do sleep 5 & done")
	if r.code == 0 || !strings.Contains(r.stderr, "can't fork") {
		t.Fatalf("exit %d, stderr %q: want fork failures", r.code, r.stderr)
	}
	// Then count: an inner shell forks until it fails; the outer one reads
	// the counters with builtins only (no fork left to spend).
	r = minirun(t, "", "run", "--rm", "--pids-limit", "20", "busybox", "sh", "-c",
		`sh -c 'for i in $(seq 50); do sleep 5 & done' 2>/dev/null; d=/sys/fs/cgroup/pids; [ -d $d ] || d=/sys/fs/cgroup; read n < $d/pids.current; read m < $d/pids.max; echo $n $m`)
	f := strings.Fields(r.stdout)
	if r.code != 0 || len(f) != 2 || f[1] != "20" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if n, _ := strconv.Atoi(f[0]); n > 20 || n < 15 {
		t.Fatalf("pids.current = %d: want the limit reached and never passed", n)
	}
	assertClean(t)
}

func TestCPUQuotaThrottles(t *testing.T) {
	r := run(t, 0, "run", "--rm", "--cpus", "0.5", "busybox", "sh", "-c",
		"yes >/dev/null & sleep 1; kill $!; cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.stat 2>/dev/null || cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.stat")
	if !strings.Contains(r.stdout, "50000") {
		t.Errorf("quota not 50000: %q", r.stdout)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "nr_throttled" {
			if n, _ := strconv.Atoi(f[1]); n == 0 {
				t.Errorf("a busy loop at 0.5 CPU was never throttled:\n%s", r.stdout)
			}
			return
		}
	}
	t.Errorf("no nr_throttled in cpu.stat:\n%s", r.stdout)
}

func TestCpusetAndShares(t *testing.T) {
	r := run(t, 0, "run", "--rm", "--cpuset-cpus", "0", "--cpu-shares", "512", "--memory-reservation", "32m",
		"-m", "64m", "--memory-swap", "128m", "busybox", "sh", "-c",
		"grep Cpus_allowed_list /proc/self/status; cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/memory/memory.soft_limit_in_bytes /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/cpu.weight /sys/fs/cgroup/memory.low /sys/fs/cgroup/memory.max")
	f := strings.Fields(r.stdout)
	if len(f) != 5 || f[1] != "0" {
		t.Fatalf("got %q", r.stdout)
	}
	if f[2] != "512" && f[2] != "20" { // v1 shares, or v2 weight
		t.Errorf("cpu shares/weight %s", f[2])
	}
	if f[3] != strconv.Itoa(32<<20) || f[4] != strconv.Itoa(64<<20) {
		t.Errorf("memory reservation/limit %s %s", f[3], f[4])
	}
}

// Docker's device allowlist: mknod of a disk is allowed (c/b *:* m), but
// opening it is not.
func TestDeviceAllowlist(t *testing.T) {
	r := run(t, 0, "run", "--rm", "busybox", "sh", "-c",
		"mknod /tmp/disk b 7 0 && echo mknod-ok; head -c1 /tmp/disk 2>&1; head -c1 /dev/zero | wc -c")
	if !strings.Contains(r.stdout, "mknod-ok") || !strings.Contains(r.stdout, "Operation not permitted") || !strings.HasSuffix(r.stdout, "1\n") {
		t.Fatalf("got %q", r.stdout)
	}
}

// Inside the cgroup namespace the container's cgroup is the root, and the
// cgroup filesystem is read-only.
func TestCgroupNamespaceView(t *testing.T) {
	r := run(t, 0, "run", "--rm", "-m", "64m", "busybox", "sh", "-c",
		"cat /proc/self/cgroup; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; mkdir /sys/fs/cgroup/x 2>/dev/null || echo read-only")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	for _, l := range lines[:len(lines)-2] {
		if !strings.HasSuffix(l, ":/") {
			t.Errorf("/proc/self/cgroup line %q: want the namespace root /", l)
		}
	}
	if lines[len(lines)-2] != strconv.Itoa(64<<20) || lines[len(lines)-1] != "read-only" {
		t.Errorf("got %q", r.stdout)
	}
}

func TestIOThrottleOnLoopDevice(t *testing.T) {
	img := t.TempDir() + "/disk.img"
	if err := os.WriteFile(img, make([]byte, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	// `losetup -f` then `losetup DEV FILE`: works with util-linux and busybox.
	out, err := exec.Command("losetup", "-f").Output()
	if err != nil {
		t.Fatalf("losetup -f: %v", err)
	}
	loop := strings.TrimSpace(string(out))
	if out, err := exec.Command("losetup", loop, img).CombinedOutput(); err != nil {
		t.Fatalf("losetup %s: %v %s", loop, err, out)
	}
	defer exec.Command("losetup", "-d", loop).Run()
	r := run(t, 0, "run", "--rm", "--device-read-bps", loop+":1mb", "busybox", "sh", "-c",
		"cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device 2>/dev/null || cat /sys/fs/cgroup/io.max")
	if !strings.Contains(r.stdout, "1048576") && !strings.Contains(r.stdout, "rbps=1048576") {
		t.Fatalf("throttle not applied: %q", r.stdout)
	}
}

func TestBadLimits(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-m", "10q"}, "invalid size"},
		{[]string{"-m", "1k"}, "minimum memory limit"},
		{[]string{"--cpus", "-1"}, "--cpus"},
		{[]string{"--cpuset-cpus", "99"}, "not available on this host"},
		{[]string{"--pids-limit", "-5"}, "--pids-limit"},
		{[]string{"--memory-swap", "32m", "-m", "64m"}, "at least --memory"},
		{[]string{"--device-read-bps", "/dev/null:1mb"}, "not a block device"},
	}
	for _, c := range cases {
		args := append(append([]string{"run", "--rm"}, c.args...), "busybox", "true")
		r := minirun(t, "", args...)
		if r.code != 125 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("minirun %v: exit %d, %q; want 125 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	assertClean(t)
}

// stats reads a running container's cgroup.
func TestStats(t *testing.T) {
	cmd := exec.Command(bin, "run", "--rm", "--name", "statsme", "-m", "64m", "--pids-limit", "30", "busybox", "sh", "-c", "trap 'exit 0' TERM; sleep 30 & echo ready; wait")
	cmd.Env = minirunEnv()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM) // forwarded to the container's trap
		cmd.Wait()
		assertClean(t)
	}()
	buf := make([]byte, 6)
	if _, err := out.Read(buf); err != nil {
		t.Fatal(err)
	}
	r := run(t, 0, "stats", "--no-stream", "statsme")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "CONTAINER ID") || !strings.Contains(lines[1], "statsme") ||
		!strings.Contains(lines[1], "/ 64MiB") {
		t.Fatalf("stats output:\n%s", r.stdout)
	}
	if f := strings.Fields(lines[1]); f[len(f)-2] != "2" {
		t.Errorf("PIDS column %q, want 2 (sh and sleep)", f[len(f)-2])
	}
	if r := minirun(t, "", "stats", "--no-stream", "nosuch"); r.code != 125 || !strings.Contains(r.stderr, "no such container") {
		t.Errorf("unknown container: %d %q", r.code, r.stderr)
	}
}
