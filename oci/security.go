package oci

import (
	"fmt"
	"sort"
	"strings"

	profiles "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minirun/minirun/security"
	"github.com/minirun/minirun/security/seccomp"
)

// Security is what --cap-add, --cap-drop and --security-opt ask for.
type Security struct {
	CapAdd, CapDrop []string
	// Seccomp is "" for Docker's default profile, "unconfined" for none,
	// or the JSON text of a profile (Docker's format).
	Seccomp string
	// NoNewPrivileges overrides the default when set.
	NoNewPrivileges *bool

	// Privileged is docker run --privileged: every capability (those of
	// HostCapabilities), no seccomp filter unless Seccomp names a profile,
	// no_new_privs off unless NoNewPrivileges says otherwise, no masked or
	// read-only paths, /sys and the cgroup filesystem read-write, every
	// device allowed by the device cgroup and HostDevices created in /dev.
	// --cap-drop still applies afterwards, as in Docker.
	Privileged bool
	// HostCapabilities are the capabilities the runtime can grant (its own
	// bounding set); a privileged container gets these. Nil means every
	// capability minirun knows.
	HostCapabilities []string
	// HostDevices are the host's device nodes (rootfs.HostDevices), given
	// to a privileged container.
	HostDevices []specs.LinuxDevice
}

// AllowAllDevices is the device cgroup rule of a privileged container:
// "a *:* rwm".
var AllowAllDevices = specs.LinuxDeviceCgroup{Allow: true, Access: "rwm"}

// privileged turns Docker's defaults into those of --privileged, for
// everything but the capabilities and seccomp (see apply). It runs before
// the caller's mounts and device rules are added.
func (s Security) privileged(spec *specs.Spec) {
	if !s.Privileged {
		return
	}
	spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths = nil, nil
	for i, m := range spec.Mounts {
		if m.Destination != "/sys" && m.Destination != "/sys/fs/cgroup" {
			continue
		}
		opts := make([]string, 0, len(m.Options))
		for _, o := range m.Options {
			if o != "ro" {
				opts = append(opts, o)
			}
		}
		spec.Mounts[i].Options = append(opts, "rw")
	}
	spec.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{AllowAllDevices}
	spec.Linux.Devices = append(spec.Linux.Devices, s.HostDevices...)
}

// Capabilities applies --cap-add/--cap-drop to a capability list, as
// Docker does: ALL in --cap-drop empties it first, ALL in --cap-add takes
// every capability; names may be given with or without CAP_, in any case.
func Capabilities(base, add, drop []string) ([]string, error) {
	norm := func(list []string) ([]string, bool, error) {
		var out []string
		all := false
		for _, c := range list {
			if strings.EqualFold(strings.TrimSpace(c), "ALL") {
				all = true
				continue
			}
			n, err := security.NormalizeCapability(c)
			if err != nil {
				return nil, false, err
			}
			out = append(out, n)
		}
		return out, all, nil
	}
	addList, addAll, err := norm(add)
	if err != nil {
		return nil, fmt.Errorf("--cap-add: %w", err)
	}
	dropList, dropAll, err := norm(drop)
	if err != nil {
		return nil, fmt.Errorf("--cap-drop: %w", err)
	}
	set := map[string]bool{}
	if !dropAll {
		for _, c := range base {
			set[c] = true
		}
	}
	if addAll {
		for _, c := range security.CapabilityNames() {
			set[c] = true
		}
	}
	for _, c := range addList {
		set[c] = true
	}
	for _, c := range dropList {
		if !addAll || !contains(addList, c) {
			delete(set, c)
		}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}

func intersect(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// apply sets the process's capabilities, no_new_privs and the seccomp
// filter. The filter comes last: Docker's profile allows some system calls
// only to holders of a capability (CAP_SYS_ADMIN may mount, ...), so it is
// evaluated against the final capability set.
func (s Security) apply(spec *specs.Spec) error {
	base := spec.Process.Capabilities.Bounding
	// Docker leaves no_new_privs off unless --security-opt
	// no-new-privileges asks for it (a setuid program in the image still
	// works, within the bounding set); `minirun spec` writes runc's true.
	spec.Process.NoNewPrivileges = false
	if s.Privileged {
		base = s.HostCapabilities
		if base == nil {
			base = security.CapabilityNames()
		}
	}
	caps, err := Capabilities(base, s.CapAdd, s.CapDrop)
	if err != nil {
		return err
	}
	if s.Privileged && s.HostCapabilities != nil {
		// --cap-add ALL with --privileged: still no more than the host has.
		caps = intersect(caps, s.HostCapabilities)
	}
	c := spec.Process.Capabilities
	c.Bounding, c.Effective, c.Permitted = caps, append([]string(nil), caps...), append([]string(nil), caps...)
	// Inheritable and ambient stay empty (CVE-2022-29162: inheritable
	// capabilities would survive execve of a file with inheritable file caps).
	c.Inheritable, c.Ambient = nil, nil
	if s.NoNewPrivileges != nil {
		spec.Process.NoNewPrivileges = *s.NoNewPrivileges
	}
	switch s.Seccomp {
	case "unconfined":
		spec.Linux.Seccomp = nil
	case "":
		if s.Privileged {
			spec.Linux.Seccomp = nil // Docker: no filter unless one is asked for
			break
		}
		if spec.Linux.Seccomp, err = profiles.GetDefaultProfile(spec); err != nil {
			return fmt.Errorf("Docker's default seccomp profile: %w", err)
		}
	default:
		if spec.Linux.Seccomp, err = profiles.LoadProfile(s.Seccomp, spec); err != nil {
			return fmt.Errorf("--security-opt seccomp: %w", err)
		}
		if bad := seccomp.UnknownNames(spec.Linux.Seccomp); len(bad) > 0 {
			return fmt.Errorf("--security-opt seccomp: the profile names system calls no Linux architecture has: %s (check the spelling; `ausyscall --dump` lists this machine's)", strings.Join(bad, ", "))
		}
	}
	return nil
}
