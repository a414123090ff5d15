package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	profiles "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func statusField(out, field string) string {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Docker's default seccomp profile is on by default (a new user
// namespace is denied without CAP_SYS_ADMIN); seccomp=unconfined turns it
// off; a profile file of one's own is applied; exec'd processes get the
// container's filter too.
func TestSeccompDefaultAndOptions(t *testing.T) {
	r := minirun(t, "", "run", "--rm", "--network", "none", "busybox", "sh", "-c", "cat /proc/self/status; unshare -U true; echo rc=$?")
	if statusField(r.stdout, "Seccomp") != "2" || !strings.Contains(r.stdout, "rc=1") || !strings.Contains(r.stderr, "Operation not permitted") {
		t.Errorf("default profile: Seccomp %q, out %q err %q", statusField(r.stdout, "Seccomp"), r.stdout[strings.Index(r.stdout, "rc="):], r.stderr)
	}
	r = run(t, 0, "run", "--rm", "--network", "none", "--security-opt", "seccomp=unconfined", "busybox", "sh", "-c", "cat /proc/self/status; unshare -U true; echo rc=$?")
	if statusField(r.stdout, "Seccomp") != "0" || !strings.Contains(r.stdout, "rc=0") {
		t.Errorf("unconfined: Seccomp %q, %q", statusField(r.stdout, "Seccomp"), r.stderr)
	}
	profile := filepath.Join(t.TempDir(), "profile.json")
	os.WriteFile(profile, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`), 0o644)
	r = minirun(t, "", "run", "--rm", "--network", "none", "--security-opt", "seccomp="+profile, "busybox", "sh", "-c", "mkdir /tmp/x; echo rc=$?; touch /tmp/y && echo touched")
	if !strings.Contains(r.stdout, "rc=1") || !strings.Contains(r.stdout, "touched") || !strings.Contains(r.stderr, "Operation not permitted") {
		t.Errorf("own profile: %q %q", r.stdout, r.stderr)
	}
	// exec'd processes are filtered like the container.
	run(t, 0, "run", "-d", "--name", "secx", "--network", "none", "busybox", "sleep", "60")
	defer minirun(t, "", "rm", "-f", "secx")
	if r := run(t, 0, "exec", "secx", "cat", "/proc/self/status"); statusField(r.stdout, "Seccomp") != "2" {
		t.Errorf("exec: Seccomp %q", statusField(r.stdout, "Seccomp"))
	}
	for _, bad := range []string{"seccomp=/nonexistent.json", "seccomp", "bogus=1", "no-new-privileges=maybe"} {
		if r := minirun(t, "", "run", "--rm", "--security-opt", bad, "busybox", "true"); r.code != 125 {
			t.Errorf("--security-opt %s: exit %d %q", bad, r.code, r.stderr)
		}
	}
	run(t, 0, "rm", "-f", "secx")
	assertClean(t)
}

// --cap-add/--cap-drop: the bounding, effective and permitted sets follow;
// inheritable and ambient stay empty; no-new-privileges can be turned off.
func TestCapabilitiesFlags(t *testing.T) {
	r := run(t, 0, "run", "--rm", "--network", "none", "--cap-drop", "ALL", "--cap-add", "net_bind_service", "--security-opt", "no-new-privileges=false",
		"busybox", "cat", "/proc/self/status")
	for field, want := range map[string]string{"CapEff": "0000000000000400", "CapPrm": "0000000000000400", "CapBnd": "0000000000000400",
		"CapInh": "0000000000000000", "CapAmb": "0000000000000000", "NoNewPrivs": "0"} {
		if got := statusField(r.stdout, field); got != want {
			t.Errorf("%s = %s, want %s", field, got, want)
		}
	}
	r = run(t, 0, "run", "--rm", "--network", "none", "--cap-drop", "NET_RAW", "--cap-drop", "CAP_CHOWN", "busybox", "cat", "/proc/self/status")
	if got := statusField(r.stdout, "CapEff"); got != "00000000a80405fa" {
		t.Errorf("Docker's set without NET_RAW and CHOWN: CapEff %s", got)
	}
	if r := minirun(t, "", "run", "--rm", "--cap-add", "CAP_BOGUS", "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "CAP_BOGUS") {
		t.Errorf("unknown capability: %d %q", r.code, r.stderr)
	}
	assertClean(t)
}

// A capability the runtime itself lacks (this host has no
// CAP_SYS_RESOURCE in its bounding set) is refused at create with the
// reason, instead of failing capset(2) after start; dropping it works.
func TestCapabilityHostCannotGrant(t *testing.T) {
	own, _ := os.ReadFile("/proc/self/status")
	last, _ := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	full := fmt.Sprintf("%016x", uint64(1)<<(mustAtoi(t, strings.TrimSpace(string(last)))+1)-1)
	r := minirun(t, "", "run", "--rm", "--network", "none", "--cap-add", "ALL", "busybox", "true")
	if statusField(string(own), "CapBnd") == full {
		if r.code != 0 {
			t.Errorf("--cap-add ALL on a host with every capability: %d %q", r.code, r.stderr)
		}
	} else if r.code != 125 || !strings.Contains(r.stderr, "cannot grant") {
		t.Errorf("--cap-add ALL on a host without every capability: exit %d %q, want 125 and the reason", r.code, r.stderr)
	}
	assertClean(t)
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The process of a default `run` has exactly Docker's documented security
// settings in /proc/self/status: the 14 default capabilities (0xa80425fb:
// CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
// NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP) as the
// effective, permitted and bounding sets, empty inheritable and ambient
// sets (CVE-2022-29162), seccomp in filter mode (2) with one filter, and
// NoNewPrivs 0 as Docker leaves it unless --security-opt no-new-privileges
// (then 1).
func TestSecurityDefaultStatus(t *testing.T) {
	r := run(t, 0, "run", "--rm", "--network", "none", "busybox", "cat", "/proc/self/status")
	for field, want := range map[string]string{
		"CapEff": "00000000a80425fb", "CapPrm": "00000000a80425fb", "CapBnd": "00000000a80425fb",
		"CapInh": "0000000000000000", "CapAmb": "0000000000000000",
		"Seccomp": "2", "Seccomp_filters": "1", "NoNewPrivs": "0",
	} {
		if got := statusField(r.stdout, field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	r = run(t, 0, "run", "--rm", "--network", "none", "--security-opt", "no-new-privileges", "busybox", "cat", "/proc/self/status")
	if got := statusField(r.stdout, "NoNewPrivs"); got != "1" {
		t.Errorf("with --security-opt no-new-privileges: NoNewPrivs = %q, want 1", got)
	}
	assertClean(t)
}

// buildSysprobe builds testdata/sysprobe (static), which makes the raw
// system calls busybox has no tool for.
func buildSysprobe(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no Go toolchain to build testdata/sysprobe")
	}
	probe := filepath.Join(t.TempDir(), "sysprobe")
	build := exec.Command("go", "build", "-o", probe, "./tests/integration/testdata/sysprobe")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build sysprobe: %v\n%s", err, out)
	}
	return probe
}

// Docker's default profile denies the kernel keyring (add_key, keyctl,
// request_key: keys are not namespaced, a container could read or fill
// the host's) with EPERM; with seccomp=unconfined the same calls reach the
// kernel, which shows the test measures the filter.
func TestSeccompDefaultDeniesKeyring(t *testing.T) {
	probe := buildSysprobe(t)
	r := run(t, 0, "run", "--rm", "--network", "none", "-v", probe+":/sysprobe:ro", "busybox", "/sysprobe", "keys")
	for _, call := range []string{"add_key", "keyctl", "request_key"} {
		if !strings.Contains(r.stdout, call+"=EPERM\n") {
			t.Errorf("default profile: want %s=EPERM, got %q", call, r.stdout)
		}
	}
	r = run(t, 0, "run", "--rm", "--network", "none", "--security-opt", "seccomp=unconfined", "-v", probe+":/sysprobe:ro", "busybox", "/sysprobe", "keys")
	if !strings.Contains(r.stdout, "add_key=ok") {
		t.Errorf("seccomp=unconfined: want add_key=ok (the kernel's answer), got %q", r.stdout)
	}
	assertClean(t)
}

// ptrace under Docker's default profile, asserting what Docker does:
// moby's profile allows ptrace (with process_vm_readv/writev) on kernels
// >= 4.8, because since 4.8 the kernel re-runs seccomp after a tracer
// changes a system call, so ptrace can no longer bypass the filter. What
// keeps a container from tracing the host is then the kernel's ptrace
// access check (man 2 ptrace, "Ptrace access mode checking"): without
// CAP_SYS_PTRACE a tracer's permitted capabilities must include the
// tracee's. So:
//   - inside, a process may trace its own child (same credentials): ok;
//   - a container that shares the host's PID namespace (an OCI bundle
//     without a pid namespace, as `docker run --pid host`) sees a host root
//     process but cannot PTRACE_SEIZE or PTRACE_ATTACH it: EPERM;
//   - with CAP_SYS_PTRACE added (and the profile Docker derives for it) the
//     same attach succeeds, which shows EPERM came from that check.
func TestSeccompDefaultPtrace(t *testing.T) {
	probe := buildSysprobe(t)
	r := run(t, 0, "run", "--rm", "--network", "none", "-v", probe+":/sysprobe:ro", "busybox", "/sysprobe", "ptrace-child")
	if !strings.Contains(r.stdout, "seize=ok") {
		t.Errorf("tracing its own child inside the container: %q %q, want seize=ok (Docker allows ptrace on kernels >= 4.8)", r.stdout, r.stderr)
	}

	host := exec.Command("sleep", "60")
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { host.Process.Kill(); host.Wait() }()
	for _, tc := range []struct {
		caps []string
		want []string
	}{
		{nil, []string{"seize=EPERM", "attach=EPERM"}},
		{[]string{"CAP_SYS_PTRACE"}, []string{"seize=ok"}},
	} {
		rootfs := rootfsCopy(t)
		b, err := os.ReadFile(probe)
		if err != nil || os.WriteFile(filepath.Join(rootfs, "sysprobe"), b, 0o755) != nil {
			t.Fatalf("copy sysprobe into the rootfs: %v", err)
		}
		bd := bundle(t, []string{"/sysprobe", "ptrace", strconv.Itoa(host.Process.Pid)}, func(s *specs.Spec) {
			s.Root.Path = rootfs
			var ns []specs.LinuxNamespace
			for _, n := range s.Linux.Namespaces {
				if n.Type != specs.PIDNamespace {
					ns = append(ns, n)
				}
			}
			s.Linux.Namespaces = ns
			c := s.Process.Capabilities
			c.Bounding = append(c.Bounding, tc.caps...)
			c.Effective = append(c.Effective, tc.caps...)
			c.Permitted = append(c.Permitted, tc.caps...)
			prof, err := profiles.GetDefaultProfile(s)
			if err != nil {
				t.Fatal(err)
			}
			s.Linux.Seccomp = prof
		})
		r := minirunFiles(t, "run", "--bundle", bd, fmt.Sprintf("ptrace-%d", os.Getpid()))
		for _, w := range tc.want {
			if !strings.Contains(r.stdout, w+"\n") {
				t.Errorf("caps %v: tracing host pid %d: want %s, got %q (stderr %q)", tc.caps, host.Process.Pid, w, r.stdout, r.stderr)
			}
		}
	}
	// The host process is untraced and alive.
	st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", host.Process.Pid))
	if statusField(string(st), "TracerPid") != "0" {
		t.Errorf("the host process is traced: %s", statusField(string(st), "TracerPid"))
	}
	assertClean(t)
}
