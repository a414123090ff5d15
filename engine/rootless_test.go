package engine

import (
	"os"
	"slices"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minirun/minirun/oci"
)

func TestMapped(t *testing.T) {
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
	for id, want := range map[string]bool{"0": true, "1": true, "65536": true, "65537": false, "x": false, "-1": false} {
		if got := mapped(maps, id); got != want {
			t.Errorf("mapped(%s) = %v, want %v", id, got, want)
		}
	}
	if mapped(maps[:1], "5") {
		t.Error("gid 5 is not in a one-ID map")
	}
}

func TestLimitsRequested(t *testing.T) {
	if limitsRequested(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}) {
		t.Error("device rules alone are no limits")
	}
	n := int64(64 << 20)
	if !limitsRequested(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &n}}) {
		t.Error("a memory limit is a limit")
	}
}

// RootlessSpec: a user namespace with the caller's own IDs first, devpts
// without an unmapped gid, ping_group_range inside the map, no host
// devices, and a user the map lacks refused.
func TestRootlessSpec(t *testing.T) {
	s := oci.Default()
	s.Linux.Sysctl = map[string]string{"net.ipv4.ping_group_range": "0 2147483647"}
	s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/sda", Type: "b", Major: 8}}
	if err := RootlessSpec(s); err != nil {
		t.Fatal(err)
	}
	if n := userNamespaces(s); n != 1 {
		t.Errorf("%d user namespaces", n)
	}
	if m := s.Linux.UIDMappings[0]; m.ContainerID != 0 || int(m.HostID) != os.Geteuid() || m.Size != 1 {
		t.Errorf("first uid map %+v", m)
	}
	for _, m := range s.Mounts {
		if m.Type == "devpts" && slices.Contains(m.Options, "gid=5") && !mapped(s.Linux.GIDMappings, "5") {
			t.Errorf("devpts keeps gid=5: %v", m.Options)
		}
	}
	var n uint32
	for _, m := range s.Linux.GIDMappings {
		n += m.Size
	}
	if want := "0 " + strconv.Itoa(int(n)-1); s.Linux.Sysctl["net.ipv4.ping_group_range"] != want {
		t.Errorf("ping_group_range %q, want %q", s.Linux.Sysctl["net.ipv4.ping_group_range"], want)
	}
	if len(s.Linux.Devices) != 0 {
		t.Errorf("host devices kept: %v", s.Linux.Devices)
	}
	// Idempotent: a second pass adds no second user namespace.
	if err := RootlessSpec(s); err != nil {
		t.Fatal(err)
	}
	if n := userNamespaces(s); n != 1 {
		t.Errorf("after a second pass: %d user namespaces", n)
	}
	s2 := oci.Default()
	s2.Process.User.UID = 1 << 30
	if err := RootlessSpec(s2); err == nil {
		t.Error("a uid outside the map was accepted")
	}
}

func userNamespaces(s *specs.Spec) int {
	n := 0
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			n++
		}
	}
	return n
}
