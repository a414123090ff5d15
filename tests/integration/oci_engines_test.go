package integration

// What podman and dockerd ask of the OCI verbs beyond the lifecycle: a
// seccomp filter in config.json, the --log file, sysctls under a read-only
// /proc/sys, and /sys/fs/cgroup without a cgroup namespace. The engines
// themselves drive minirun in tests/engines.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func uintp(v uint) *uint { return &v }

// A filter from config.json applies to the container's process and to
// every process exec'd into it; conditions on arguments are honoured.
func TestOCISeccomp(t *testing.T) {
	b := bundle(t, []string{"sh", "-c", "sleep 30"}, func(s *specs.Spec) {
		s.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64, specs.ArchARM},
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: uintp(18)}, // EXDEV
				// setpriority(which, who, 5): only that value is refused.
				{Names: []string{"setpriority"}, Action: specs.ActErrno, ErrnoRet: uintp(13), // EACCES
					Args: []specs.LinuxSeccompArg{{Index: 2, Value: 5, Op: specs.OpEqualTo}}},
			},
		}
	})
	defer minirun(t, "", "delete", "--force", "seccomp1")
	if r := minirunFiles(t, "create", "--bundle", b, "seccomp1"); r.code != 0 {
		t.Fatalf("create: %d %s", r.code, r.stderr)
	}
	run(t, 0, "start", "seccomp1")
	r := minirun(t, "", "exec", "seccomp1", "sh", "-c",
		"grep Seccomp: /proc/1/status /proc/self/status; mkdir /tmp/x; renice 3 -p $$ >/dev/null && echo nice3; renice 5 -p $$ || echo nice5-refused")
	for _, want := range []string{"/proc/1/status:Seccomp:\t2", "/proc/self/status:Seccomp:\t2", "Invalid cross-device link", "nice3", "nice5-refused"} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("want %q in: %q %q", want, r.stdout, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(busybox, "tmp/x")); err == nil {
		os.Remove(filepath.Join(busybox, "tmp/x"))
		t.Error("mkdir succeeded under the filter")
	}
}

// A profile minirun cannot honour fails at create, before anything exists.
func TestOCISeccompRefused(t *testing.T) {
	b := bundle(t, []string{"true"}, func(s *specs.Spec) {
		s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: "SCMP_ACT_BOGUS"}}}
	})
	r := minirunFiles(t, "create", "--bundle", b, "seccomp2")
	if r.code != 125 || !strings.Contains(r.stderr, "linux.seccomp") || !strings.Contains(r.stderr, "SCMP_ACT_BOGUS") {
		t.Fatalf("want 125 naming the action: %d %q", r.code, r.stderr)
	}
	if e := entries(stateRoot); len(e) > 0 {
		t.Fatalf("a refused create left state: %v", e)
	}
}

// containerd's shim reads the runtime's error from --log (JSON lines with
// level, msg and time) and fails with "unable to retrieve OCI runtime
// error" if the file does not exist; podman reads stderr.
func TestOCILogFile(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log.json")
	b := bundle(t, []string{"nosuch"}, nil)
	r := minirunFiles(t, "--log", log, "--log-format", "json", "create", "--bundle", b, "logged1")
	if r.code != 127 || !strings.Contains(r.stderr, "executable file not found in $PATH") {
		t.Fatalf("create: want 127 and the error on stderr: %d %q", r.code, r.stderr)
	}
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	var entry struct{ Level, Msg, Time string }
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &entry); err != nil {
		t.Fatalf("last log line %q: %v", lines[len(lines)-1], err)
	}
	if _, terr := time.Parse(time.RFC3339Nano, entry.Time); entry.Level != "error" || !strings.Contains(entry.Msg, "executable file not found in $PATH") || terr != nil {
		t.Errorf("log entry %+v (time: %v)", entry, terr)
	}
	// Created by every command, even one that succeeds (runc does so).
	ok := filepath.Join(dir, "ok.json")
	run(t, 0, "--log="+ok, "--log-format=json", "delete", "--force", "never-existed")
	if fi, err := os.Stat(ok); err != nil || fi.Size() != 0 {
		t.Errorf("log of a successful command: %v %v", fi, err)
	}
	if r := minirun(t, "", "--log-format", "xml", "list"); r.code == 0 {
		t.Error("--log-format xml accepted")
	}
}

// Sysctls are written before /proc/sys becomes read-only (Docker sets
// net.ipv4.ip_unprivileged_port_start for every container).
func TestOCISysctlReadonlyProcSys(t *testing.T) {
	b := bundle(t, []string{"cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"}, func(s *specs.Spec) {
		s.Linux.Sysctl = map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"}
	})
	if r := run(t, 0, "run", "--bundle", b, "sysctl1"); strings.TrimSpace(r.stdout) != "0" {
		t.Fatalf("want 0: %q", r.stdout)
	}
}

// Without a cgroup namespace (Docker's and podman's default on cgroup v1)
// /sys/fs/cgroup/<controller> is the container's own cgroup, as with
// runc, not the host's whole hierarchy.
func TestOCICgroupMountWithoutNamespace(t *testing.T) {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		t.Skip("cgroup v2 host: runc mounts the whole cgroup2 tree there too")
	}
	limit := int64(64 << 20)
	pids := int64(30)
	b := bundle(t, []string{"sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max"}, func(s *specs.Spec) {
		var ns []specs.LinuxNamespace
		for _, n := range s.Linux.Namespaces {
			if n.Type != specs.CgroupNamespace {
				ns = append(ns, n)
			}
		}
		s.Linux.Namespaces = ns
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &pids}
	})
	r := minirun(t, "", "run", "--bundle", b, "cgmount1")
	if f := strings.Fields(r.stdout); len(f) < 2 || f[0] != "67108864" || f[1] != "30" {
		t.Fatalf("want the container's limits 67108864 and 30: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// A PID namespace given by path (docker run --pid container:X, a podman
// pod): the second container's processes are born in the first one's.
func TestOCIJoinPIDNamespace(t *testing.T) {
	b := bundle(t, []string{"sleep", "30"}, nil)
	defer minirun(t, "", "delete", "--force", "pidns1")
	if r := minirunFiles(t, "create", "--bundle", b, "pidns1"); r.code != 0 {
		t.Fatalf("create: %d %s", r.code, r.stderr)
	}
	run(t, 0, "start", "pidns1")
	pid := state(t, "pidns1").Pid
	b2 := bundle(t, []string{"ps", "-o", "pid,args"}, func(s *specs.Spec) {
		for i, n := range s.Linux.Namespaces {
			if n.Type == specs.PIDNamespace {
				s.Linux.Namespaces[i].Path = "/proc/" + raw2(pid) + "/ns/pid"
			}
		}
	})
	r := run(t, 0, "run", "--bundle", b2, "pidns2")
	if !strings.Contains(r.stdout, "1 sleep 30") {
		t.Fatalf("want the first container's init as PID 1: %q", r.stdout)
	}
}
