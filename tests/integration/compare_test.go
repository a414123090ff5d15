package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minirun/minirun/probe"
)

// The same bundle under minirun and under runc: every field the probe
// reports must be equal, or differ exactly as probe/allowlist-runc.json
// says (with the reason). A new difference fails, and so does an entry
// that no longer differs: the allowlist is exact.
func TestCompareRuncAllowlist(t *testing.T) {
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc is not installed (apt-get install runc): nothing to compare with")
	}
	allow, err := probe.RuncAllowlist()
	if err != nil {
		t.Fatal(err)
	}
	var diffs []probe.Difference
	// 1. runc's classic use: `minirun spec`'s config.json, run by both.
	mine, other := probeSpecBundle(t)
	diffs = append(diffs, probe.Diff(mine, other, false)...)
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
// (busybox rootfs, the probe copied in) under minirun, then runc.
func probeSpecBundle(t *testing.T) (mine, other probe.Report) {
	t.Helper()
	dir := t.TempDir()
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
	var cfg map[string]any
	b, _ := os.ReadFile(cfgPath)
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	proc := cfg["process"].(map[string]any)
	proc["args"] = []string{"/.minirun-probe", "probe"}
	proc["terminal"] = false
	cfg["linux"].(map[string]any)["cgroupsPath"] = cgroupParent + "/compare-" + filepath.Base(dir)
	b, _ = json.Marshal(cfg)
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
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc is not installed (apt-get install runc)")
	}
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
