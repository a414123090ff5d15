package oci

import (
	"fmt"
	"sort"
	"strings"

	profiles "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minirun/minirun/security"
)

// Security is what --cap-add, --cap-drop and --security-opt ask for.
type Security struct {
	CapAdd, CapDrop []string
	// Seccomp is "" for Docker's default profile, "unconfined" for none,
	// or the JSON text of a profile (Docker's format).
	Seccomp string
	// NoNewPrivileges overrides the default when set.
	NoNewPrivileges *bool
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
	caps, err := Capabilities(spec.Process.Capabilities.Bounding, s.CapAdd, s.CapDrop)
	if err != nil {
		return err
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
		if spec.Linux.Seccomp, err = profiles.GetDefaultProfile(spec); err != nil {
			return fmt.Errorf("Docker's default seccomp profile: %w", err)
		}
	default:
		if spec.Linux.Seccomp, err = profiles.LoadProfile(s.Seccomp, spec); err != nil {
			return fmt.Errorf("--security-opt seccomp: %w", err)
		}
	}
	return nil
}
