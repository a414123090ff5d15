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
