package engine

import (
	"fmt"
	"strings"

	"github.com/minirun/minirun/rootfs"
	"github.com/minirun/minirun/security"
)

// gatherPrivileged gathers what --privileged takes from the host: the
// capabilities minirun itself may grant (its bounding set) and the device
// nodes of /dev. Docker asks for every capability the kernel knows and
// fails when the host's bounding set lacks one (a VM or a container
// without CAP_SYS_RESOURCE, say); minirun warns and leaves those out.
func (o *RunOptions) gatherPrivileged() error {
	if !o.Privileged {
		return nil
	}
	o.security.HostCapabilities = security.BoundingCapabilities()
	if missing := missingCapabilities(o.security.HostCapabilities); len(missing) > 0 && o.Stderr != nil {
		fmt.Fprintf(o.Stderr, "minirun: warning: --privileged: this host cannot grant %s (not in minirun's capability bounding set); the container runs without\n",
			strings.Join(missing, ", "))
	}
	devs, err := rootfs.HostDevices("/dev")
	if err != nil {
		return fmt.Errorf("--privileged: list the host's devices: %w", err)
	}
	o.security.HostDevices = devs
	return nil
}

// missingCapabilities are those the running kernel knows but have is
// without.
func missingCapabilities(have []string) []string {
	last := security.LastCap()
	var out []string
	for _, n := range security.CapabilityNames() {
		if c, _ := security.CapabilityNumber(n); c <= last && !contains(have, n) {
			out = append(out, n)
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
