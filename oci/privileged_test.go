package oci

import (
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestBuildSpecPrivileged(t *testing.T) {
	devs := []specs.LinuxDevice{{Path: "/dev/vda", Type: "b", Major: 254, Minor: 0}}
	host := []string{"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"}
	rc := RunConfig{Args: []string{"sh"}, Hostname: "h", Rootfs: "/r",
		Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Type: "b", Access: "w"}}},
		Security:  Security{Privileged: true, HostCapabilities: host, HostDevices: devs, CapDrop: []string{"net_admin"}}}
	s, err := BuildSpec(rc)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}
	c := s.Process.Capabilities
	if !reflect.DeepEqual(c.Bounding, want) || !reflect.DeepEqual(c.Effective, want) || !reflect.DeepEqual(c.Permitted, want) || c.Inheritable != nil || c.Ambient != nil {
		t.Errorf("capabilities %+v, want %v", c, want)
	}
	if s.Linux.Seccomp != nil || s.Process.NoNewPrivileges {
		t.Errorf("seccomp %v, no_new_privs %v", s.Linux.Seccomp != nil, s.Process.NoNewPrivileges)
	}
	if s.Linux.MaskedPaths != nil || s.Linux.ReadonlyPaths != nil {
		t.Errorf("masked %v, read-only %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	for _, m := range s.Mounts {
		if m.Destination == "/sys" || m.Destination == "/sys/fs/cgroup" {
			if contains(m.Options, "ro") || !contains(m.Options, "rw") {
				t.Errorf("%s: %v", m.Destination, m.Options)
			}
		}
	}
	// Allow everything, then the caller's own rules.
	if d := s.Linux.Resources.Devices; len(d) != 2 || !reflect.DeepEqual(d[0], AllowAllDevices) || d[1].Type != "b" {
		t.Errorf("device rules %+v", d)
	}
	if !reflect.DeepEqual(s.Linux.Devices, devs) {
		t.Errorf("devices %+v", s.Linux.Devices)
	}

	// --cap-add ALL stays within the host's set; an explicit profile and
	// no-new-privileges are kept.
	on := true
	rc.Security = Security{Privileged: true, HostCapabilities: host, CapAdd: []string{"ALL"}, NoNewPrivileges: &on,
		Seccomp: `{"defaultAction":"SCMP_ACT_ALLOW"}`}
	if s, err = BuildSpec(rc); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Process.Capabilities.Bounding, host) || s.Linux.Seccomp == nil || !s.Process.NoNewPrivileges {
		t.Errorf("caps %v, seccomp %v, nnp %v", s.Process.Capabilities.Bounding, s.Linux.Seccomp != nil, s.Process.NoNewPrivileges)
	}

	// Without HostCapabilities: every capability minirun knows.
	rc.Security = Security{Privileged: true}
	if s, err = BuildSpec(rc); err != nil {
		t.Fatal(err)
	}
	if len(s.Process.Capabilities.Bounding) < 40 {
		t.Errorf("caps %v", s.Process.Capabilities.Bounding)
	}

	// Not privileged: Docker's defaults are untouched.
	rc.Security = Security{}
	if s, err = BuildSpec(rc); err != nil {
		t.Fatal(err)
	}
	if len(s.Linux.MaskedPaths) == 0 || len(s.Linux.ReadonlyPaths) == 0 || s.Linux.Seccomp == nil || len(s.Linux.Devices) != 0 ||
		reflect.DeepEqual(s.Linux.Resources.Devices[0], AllowAllDevices) {
		t.Errorf("default spec changed: %+v", s.Linux)
	}
	for _, m := range s.Mounts {
		if (m.Destination == "/sys" || m.Destination == "/sys/fs/cgroup") && !contains(m.Options, "ro") {
			t.Errorf("default %s: %v", m.Destination, m.Options)
		}
	}
}
