package container

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minirun/minirun/cgroups"
	"github.com/minirun/minirun/namespaces"
	"github.com/minirun/minirun/rootfs"
	"github.com/minirun/minirun/security"
	"github.com/minirun/minirun/security/seccomp"
)

// Validate checks a spec before anything is created, and refuses fields
// minirun cannot honour yet rather than silently ignoring them.
func Validate(s *specs.Spec) error {
	_, err := validate(s)
	return err
}

// validate is Validate that also returns the compiled seccomp filter of
// linux.seccomp (nil without one): compiling is how the profile is checked,
// and the program is what init installs.
func validate(s *specs.Spec) (*seccomp.Filter, error) {
	if s.Root == nil || s.Root.Path == "" {
		return nil, errors.New("config.json: root.path is required")
	}
	if s.Process == nil || len(s.Process.Args) == 0 {
		return nil, errors.New("config.json: process.args must name the program to run")
	}
	if err := capabilitiesGrantable(s.Process.Capabilities); err != nil {
		return nil, err
	}
	if s.Process.Cwd == "" || !filepath.IsAbs(s.Process.Cwd) {
		return nil, fmt.Errorf("config.json: process.cwd %q must be an absolute path", s.Process.Cwd)
	}
	if s.Linux == nil {
		return nil, errors.New("config.json: the linux section is required on Linux")
	}
	if !strings.HasPrefix(s.Version, "1.") {
		return nil, fmt.Errorf("config.json: unsupported ociVersion %q (minirun runs 1.x up to %s)", s.Version, specs.Version)
	}
	seen := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range s.Linux.Namespaces {
		if _, err := namespaces.CloneFlag(namespaces.Type(ns.Type)); err != nil {
			return nil, fmt.Errorf("config.json: %w", err)
		}
		if seen[ns.Type] {
			return nil, fmt.Errorf("config.json: namespace %q is listed twice", ns.Type)
		}
		seen[ns.Type] = true
		if ns.Path != "" {
			switch ns.Type {
			case specs.NetworkNamespace, specs.UTSNamespace, specs.IPCNamespace, specs.CgroupNamespace, specs.PIDNamespace, specs.MountNamespace:
			default:
				return nil, fmt.Errorf("config.json: joining an existing %s namespace (%s) is not supported yet", ns.Type, ns.Path)
			}
		}
	}
	if !seen[specs.MountNamespace] {
		// Without one, these would change the host's own mounts.
		switch {
		case len(s.Linux.MaskedPaths) > 0 || len(s.Linux.ReadonlyPaths) > 0:
			return nil, errors.New("config.json: linux.maskedPaths and linux.readonlyPaths need a mount namespace")
		case s.Root.Readonly:
			return nil, errors.New("config.json: root.readonly needs a mount namespace")
		case s.Linux.RootfsPropagation != "":
			return nil, errors.New("config.json: linux.rootfsPropagation needs a mount namespace")
		}
	}
	if seen[specs.UserNamespace] && (len(s.Linux.UIDMappings) == 0 || len(s.Linux.GIDMappings) == 0) {
		return nil, errors.New("config.json: a user namespace needs uidMappings and gidMappings")
	}
	if s.Linux.RootfsPropagation != "" {
		if _, ok := rootfs.PropagationFlag(s.Linux.RootfsPropagation); !ok {
			return nil, fmt.Errorf("config.json: unknown rootfsPropagation %q", s.Linux.RootfsPropagation)
		}
	}
	if c := s.Process.Capabilities; c != nil {
		for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
			if _, err := security.CapSetOf(set); err != nil {
				return nil, fmt.Errorf("config.json: %w", err)
			}
		}
	}
	for _, rl := range s.Process.Rlimits {
		if _, err := security.RlimitNumber(rl.Type); err != nil {
			return nil, fmt.Errorf("config.json: %w", err)
		}
	}
	for _, m := range s.Mounts {
		if !filepath.IsAbs(m.Destination) {
			return nil, fmt.Errorf("config.json: mount destination %q is not an absolute path", m.Destination)
		}
	}
	if err := validateHooks(s.Hooks); err != nil {
		return nil, err
	}
	var filter *seccomp.Filter
	if s.Linux.Seccomp != nil {
		f, err := seccomp.Compile(s.Linux.Seccomp)
		if err != nil {
			return nil, fmt.Errorf("config.json: linux.%w", err)
		}
		filter = f
	}
	if r := s.Linux.Resources; r != nil {
		if len(r.Rdma) > 0 {
			return nil, errors.New("config.json: linux.resources.rdma is not supported")
		}
		if err := cgroups.ValidateDeviceRules(r.Devices); err != nil {
			return nil, fmt.Errorf("config.json: linux.resources.devices: %w", err)
		}
	}
	return filter, nil
}

// capabilitiesGrantable refuses, at create, capabilities that the runtime
// itself does not hold in its bounding set: init inherits that set and
// could never raise them, so capset(2) would fail only after start, with
// the container already half made. (A host without CAP_SYS_RESOURCE, as
// some VMs are, cannot give it to any container.)
func capabilitiesGrantable(c *specs.LinuxCapabilities) error {
	if c == nil {
		return nil
	}
	// Only the capabilities asked for are looked up: one prctl(2) each.
	have := map[string]bool{}
	for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
		for _, n := range set {
			name, err := security.NormalizeCapability(n)
			if err != nil {
				return fmt.Errorf("config.json: process.capabilities: %w", err)
			}
			in, seen := have[name]
			if !seen {
				in = security.InBoundingSet(name)
				have[name] = in
			}
			if !in {
				return fmt.Errorf("config.json: process.capabilities asks for %s, which this host cannot grant: it is not in minirun's own capability bounding set (drop it, e.g. --cap-drop %s)", name, strings.TrimPrefix(name, "CAP_"))
			}
		}
	}
	return nil
}
