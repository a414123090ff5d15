package security

import "golang.org/x/sys/unix"

// BoundingCapabilities returns the names of the capabilities in the calling
// thread's bounding set (prctl(PR_CAPBSET_READ)), in the kernel's order:
// what a process started from here can hold at most. A capability the
// running kernel does not know (above cap_last_cap) is not in it.
func BoundingCapabilities() []string {
	last := LastCap()
	var out []string
	for _, n := range CapabilityNames() {
		c := capNames[n]
		if c > last {
			continue
		}
		if r, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err == nil && r == 1 {
			out = append(out, n)
		}
	}
	return out
}

// InBoundingSet tells whether the calling thread's bounding set holds the
// capability named name (as CapabilityNames spells it): one
// prctl(PR_CAPBSET_READ). An unknown name, or one above cap_last_cap, is
// not in it.
func InBoundingSet(name string) bool {
	c, ok := capNames[name]
	if !ok || c > LastCap() {
		return false
	}
	r, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
	return err == nil && r == 1
}
