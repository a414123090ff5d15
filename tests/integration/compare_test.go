package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minirun/minirun/probe"
)

// The same bundle under minirun and under runc: every field the probe
// reports must be equal, or differ exactly as probe/allowlist-runc.json
// says (with the reason). A new difference fails, and so does an entry
// that no longer differs: the allowlist is exact.
func TestCompareRuncAllowlist(t *testing.T) {
	needRunc(t)
	allow, err := probe.RuncAllowlist()
	if err != nil {
		t.Fatal(err)
	}
	var diffs []probe.Difference
	// 1. runc's classic use: `minirun spec`'s config.json, run by both.
	mine, other := probeSpecBundle(t, nil)
	diffs = append(diffs, probe.Diff(mine, other, false)...)
	// 2. The same with the process settings a spec can carry.
	m, o := probeSpecBundle(t, func(s *specs.Spec) {
		p := s.Process
		umask := uint32(0o027)
		p.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 20}, Umask: &umask}
		p.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 2048, Soft: 1024}, {Type: "RLIMIT_NPROC", Hard: 100, Soft: 100}}
		adj := 100
		p.OOMScoreAdj = &adj
		p.NoNewPrivileges = false
		p.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_KILL"},
			Effective: []string{"CAP_NET_BIND_SERVICE"}, Permitted: []string{"CAP_NET_BIND_SERVICE", "CAP_KILL"},
			Inheritable: []string{"CAP_NET_BIND_SERVICE"}, Ambient: []string{"CAP_NET_BIND_SERVICE"}}
		p.Cwd = "/tmp"
		p.Env = append(p.Env, "FOO=bar")
		s.Root.Readonly = true
		s.Domainname = "example.org"
		s.Linux.Sysctl = map[string]string{"net.ipv4.ip_unprivileged_port_start": "80", "net.ipv4.ping_group_range": "0 100"}
		limit, pids, quota, period, shares := int64(64<<20), int64(50), int64(50000), uint64(100000), uint64(512)
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &pids}
		s.Linux.Resources.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period, Shares: &shares}
	})
	diffs = append(diffs, probe.Diff(m, o, false)...)
	if m["status.Uid"] != "1000 1000 1000 1000" || m["rlimit.NOFILE"] != "1024/2048" || m["caps.CapAmb"] != "NET_BIND_SERVICE" {
		t.Errorf("the process settings did not reach the probe: uid %q, nofile %q, ambient %q", m["status.Uid"], m["rlimit.NOFILE"], m["caps.CapAmb"])
	}
	// 3. A user namespace: container root is host UID 100000.
	m, o = probeSpecBundle(t, func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	})
	diffs = append(diffs, probe.Diff(m, o, false)...)
	if m["userns.uid_map"] != "0 100000 65536" {
		t.Errorf("userns.uid_map under minirun = %q", m["userns.uid_map"])
	}
	// 2. Docker-style: the container `minirun run busybox` would make,
	// through `minirun compare` itself.
	r := run(t, 0, "compare", "--format", "json", "busybox")
	var out struct {
		Fields []probe.Difference `json:"fields"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("compare --format json: %v\n%s", err, r.stdout)
	}
	diffs = append(diffs, out.Fields...)
	// The probe must have seen something real, under both.
	for _, f := range []string{"status.Pid", "caps.CapEff", "mount./.fstype", "net.interfaces"} {
		if mine[f] == "" || other[f] == "" {
			t.Errorf("field %s missing from a report: minirun %q, runc %q", f, mine[f], other[f])
		}
	}
	if mine["status.Pid"] != "1" {
		t.Errorf("the probe is not PID 1 under minirun: %q", mine["status.Pid"])
	}
	unexplained, stale := probe.Check(dedupe(diffs), allow)
	for _, d := range unexplained {
		t.Errorf("a difference the allowlist does not explain (fix minirun, or add it to probe/allowlist-runc.json with the reason):\n"+
			"  {\"field\": %q, \"minirun\": %q, \"runc\": %q, \"reason\": \"...\"}", d.Field, d.A, d.B)
	}
	for _, e := range stale {
		t.Errorf("allowlist entry %q (minirun %q, runc %q) no longer matches a difference: remove or update it", e.Field, e.Minirun, e.Runc)
	}
	assertClean(t)
}

// probeSpecBundle runs the probe in a bundle made by `minirun spec`
// (busybox rootfs, the probe copied in), changed by edit, under minirun,
// then runc.
func probeSpecBundle(t *testing.T, edit func(*specs.Spec)) (mine, other probe.Report) {
	t.Helper()
	// Searchable by all: in a user namespace both runtimes reach the
	// rootfs as the container's root (host UID 100000), which t.TempDir's
	// 0700 directories would keep out.
	dir, err := os.MkdirTemp("", "minirun-compare-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	rootfs := filepath.Join(dir, "rootfs")
	os.MkdirAll(rootfs, 0o755)
	if out, err := exec.Command("tar", "-x", "-f", os.Getenv("MINIRUN_TEST_BUSYBOX_TAR_RESOLVED"), "-C", rootfs).CombinedOutput(); err != nil {
		t.Fatalf("unpack busybox: %v\n%s", err, out)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, ".minirun-probe"), exe, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, 0, "spec", "--bundle", dir)
	cfgPath := filepath.Join(dir, "config.json")
	var cfg specs.Spec
	b, _ := os.ReadFile(cfgPath)
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Process.Args = []string{"/.minirun-probe", "probe"}
	cfg.Process.Terminal = false
	cfg.Linux.CgroupsPath = cgroupParent + "/compare-" + filepath.Base(dir)
	if edit != nil {
		edit(&cfg)
	}
	b, _ = json.Marshal(&cfg)
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	norm := []string{dir, "<bundle>", "compare-minirun", "<runtime-id>", "compare-runc", "<runtime-id>"}
	r := run(t, 0, "run", "--bundle", dir, "compare-minirun")
	mine = parseReport(t, "minirun", r.stdout).Normalize(norm...)
	runcRoot := filepath.Join(dir, "runc-state")
	c := exec.Command("runc", "--root", runcRoot, "run", "--bundle", dir, "compare-runc")
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		exec.Command("runc", "--root", runcRoot, "delete", "--force", "compare-runc").Run()
		t.Fatalf("runc run: %v\n%s", err, errb.String())
	}
	other = parseReport(t, "runc", out.String()).Normalize(norm...)
	return mine, other
}

// needRunc skips without runc, except in CI (.ci/run installs it), where
// a skipped comparison would hide every new difference.
func needRunc(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("runc"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("runc is not installed, and CI must compare with it: %v (.ci/run installs Debian's runc)", err)
		}
		t.Skip("runc is not installed (apt-get install runc): nothing to compare with")
	}
}

// dedupe drops a difference seen in both cases.
func dedupe(ds []probe.Difference) []probe.Difference {
	seen := map[probe.Difference]bool{}
	var out []probe.Difference
	for _, d := range ds {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

func parseReport(t *testing.T, runtime, s string) probe.Report {
	t.Helper()
	var r probe.Report
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("the probe under %s: %v\n%s", runtime, err, strings.TrimSpace(s))
	}
	return r
}

// compare's other ends: --check's exit code, a bad --runtime, and Docker
// without a daemon, each with a message that says what to do.
func TestCompareCommand(t *testing.T) {
	needRunc(t)
	r := run(t, 0, "compare", "--check", "--", "busybox", "sh", "-c", "echo hello; exit 3")
	if !strings.Contains(r.stdout, "0 not explained by the allowlist") {
		t.Errorf("compare --check: want every difference explained:\n%s", r.stdout)
	}
	r = run(t, 0, "compare", "--all", "--format", "json", "busybox", "sh", "-c", "echo hello; exit 3")
	var out struct {
		Fields []probe.Difference `json:"fields"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	got := map[string]probe.Difference{}
	for _, f := range out.Fields {
		got[f.Field] = f
	}
	if d := got["command.output"]; d.A != "hello" || d.B != "hello" {
		t.Errorf("command.output: %+v, want hello under both", d)
	}
	if d := got["command.exit"]; d.A != "3" || d.B != "3" {
		t.Errorf("command.exit: %+v, want 3 under both", d)
	}
	r = run(t, 125, "compare", "--runtime", "lxc", "busybox")
	if !strings.Contains(r.stderr, "want runc, crun or docker") {
		t.Errorf("compare --runtime lxc: %q", r.stderr)
	}
	if _, err := exec.LookPath("docker"); err == nil && exec.Command("docker", "info").Run() != nil {
		r = run(t, 125, "compare", "--runtime", "docker", "busybox")
		if !strings.Contains(r.stderr, "no Docker daemon is reachable") {
			t.Errorf("compare --runtime docker without a daemon: %q", r.stderr)
		}
	}
	assertClean(t)
}
