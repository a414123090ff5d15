package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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
