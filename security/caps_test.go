package security

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestNormalizeCapability(t *testing.T) {
	for in, want := range map[string]string{"net_admin": "CAP_NET_ADMIN", "CAP_CHOWN": "CAP_CHOWN", " sys_admin ": "CAP_SYS_ADMIN"} {
		got, err := NormalizeCapability(in)
		if err != nil || got != want {
			t.Errorf("NormalizeCapability(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := NormalizeCapability("CAP_FLY"); err == nil {
		t.Error("CAP_FLY accepted")
	}
}

// Docker's default set prints as a80425fb in /proc/self/status.
func TestDockerDefaultMask(t *testing.T) {
	s, err := CapSetOf([]string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
		"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
		"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"})
	if err != nil {
		t.Fatal(err)
	}
	if s != 0xa80425fb {
		t.Fatalf("mask = %x, want a80425fb", uint64(s))
	}
}

func TestRlimitNumber(t *testing.T) {
	if _, err := RlimitNumber("nofile"); err != nil {
		t.Fatal(err)
	}
	if _, err := RlimitNumber("RLIMIT_BOGUS"); err == nil {
		t.Fatal("bogus rlimit accepted")
	}
}

// InBoundingSet agrees with BoundingCapabilities, one name at a time.
func TestInBoundingSet(t *testing.T) {
	in := map[string]bool{}
	for _, n := range BoundingCapabilities() {
		in[n] = true
		if !InBoundingSet(n) {
			t.Errorf("InBoundingSet(%s) = false; BoundingCapabilities lists it", n)
		}
	}
	for _, n := range CapabilityNames() {
		if !in[n] && InBoundingSet(n) {
			t.Errorf("InBoundingSet(%s) = true; BoundingCapabilities leaves it out", n)
		}
	}
	if InBoundingSet("CAP_NO_SUCH_THING") {
		t.Error("an unknown name is in the bounding set")
	}
}

// LastCap finds by prctl(2) what the kernel prints in cap_last_cap.
func TestLastCap(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Skip(err)
	}
	want, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got := LastCap(); got != want {
		t.Errorf("LastCap() = %d, /proc/sys/kernel/cap_last_cap says %d", got, want)
	}
}
