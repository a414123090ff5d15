package security

import (
	"fmt"
	"math/bits"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/trace"
)

// capNames maps every capability the kernel headers know to its number.
var capNames = map[string]int{
	"CAP_CHOWN":              unix.CAP_CHOWN,
	"CAP_DAC_OVERRIDE":       unix.CAP_DAC_OVERRIDE,
	"CAP_DAC_READ_SEARCH":    unix.CAP_DAC_READ_SEARCH,
	"CAP_FOWNER":             unix.CAP_FOWNER,
	"CAP_FSETID":             unix.CAP_FSETID,
	"CAP_KILL":               unix.CAP_KILL,
	"CAP_SETGID":             unix.CAP_SETGID,
	"CAP_SETUID":             unix.CAP_SETUID,
	"CAP_SETPCAP":            unix.CAP_SETPCAP,
	"CAP_LINUX_IMMUTABLE":    unix.CAP_LINUX_IMMUTABLE,
	"CAP_NET_BIND_SERVICE":   unix.CAP_NET_BIND_SERVICE,
	"CAP_NET_BROADCAST":      unix.CAP_NET_BROADCAST,
	"CAP_NET_ADMIN":          unix.CAP_NET_ADMIN,
	"CAP_NET_RAW":            unix.CAP_NET_RAW,
	"CAP_IPC_LOCK":           unix.CAP_IPC_LOCK,
	"CAP_IPC_OWNER":          unix.CAP_IPC_OWNER,
	"CAP_SYS_MODULE":         unix.CAP_SYS_MODULE,
	"CAP_SYS_RAWIO":          unix.CAP_SYS_RAWIO,
	"CAP_SYS_CHROOT":         unix.CAP_SYS_CHROOT,
	"CAP_SYS_PTRACE":         unix.CAP_SYS_PTRACE,
	"CAP_SYS_PACCT":          unix.CAP_SYS_PACCT,
	"CAP_SYS_ADMIN":          unix.CAP_SYS_ADMIN,
	"CAP_SYS_BOOT":           unix.CAP_SYS_BOOT,
	"CAP_SYS_NICE":           unix.CAP_SYS_NICE,
	"CAP_SYS_RESOURCE":       unix.CAP_SYS_RESOURCE,
	"CAP_SYS_TIME":           unix.CAP_SYS_TIME,
	"CAP_SYS_TTY_CONFIG":     unix.CAP_SYS_TTY_CONFIG,
	"CAP_MKNOD":              unix.CAP_MKNOD,
	"CAP_LEASE":              unix.CAP_LEASE,
	"CAP_AUDIT_WRITE":        unix.CAP_AUDIT_WRITE,
	"CAP_AUDIT_CONTROL":      unix.CAP_AUDIT_CONTROL,
	"CAP_SETFCAP":            unix.CAP_SETFCAP,
	"CAP_MAC_OVERRIDE":       unix.CAP_MAC_OVERRIDE,
	"CAP_MAC_ADMIN":          unix.CAP_MAC_ADMIN,
	"CAP_SYSLOG":             unix.CAP_SYSLOG,
	"CAP_WAKE_ALARM":         unix.CAP_WAKE_ALARM,
	"CAP_BLOCK_SUSPEND":      unix.CAP_BLOCK_SUSPEND,
	"CAP_AUDIT_READ":         unix.CAP_AUDIT_READ,
	"CAP_PERFMON":            unix.CAP_PERFMON,
	"CAP_BPF":                unix.CAP_BPF,
	"CAP_CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
}

// CapabilityNames lists every known capability name, sorted by number.
func CapabilityNames() []string {
	names := make([]string, 0, len(capNames))
	for n := range capNames {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return capNames[names[i]] < capNames[names[j]] })
	return names
}

// NormalizeCapability accepts "NET_ADMIN", "net_admin" or "CAP_NET_ADMIN" and
// returns the canonical "CAP_NET_ADMIN", or an error naming the bad value.
func NormalizeCapability(name string) (string, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	if _, ok := capNames[n]; !ok {
		return "", fmt.Errorf("unknown capability %q (see man 7 capabilities for the names)", name)
	}
	return n, nil
}

// CapabilityNumber returns the kernel's number for a canonical name.
func CapabilityNumber(name string) (int, error) {
	n, err := NormalizeCapability(name)
	if err != nil {
		return 0, err
	}
	return capNames[n], nil
}

// LastCap is the highest capability number the running kernel knows
// (/proc/sys/kernel/cap_last_cap), found once per process: dropping the
// bounding set asks for it once a capability. prctl(PR_CAPBSET_READ)
// answers for a number the kernel knows and fails with EINVAL above it,
// so six calls find it by halving 0-63; reading the sysctl file instead
// takes ~25 µs here. The file is the fallback should prctl be refused.
var LastCap = sync.OnceValue(func() int {
	known := func(c int) (bool, error) {
		_, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if err == unix.EINVAL {
			return false, nil
		}
		return err == nil, err
	}
	lo, hi := 0, 63 // lo is known; above hi nothing is
	ok, err := known(lo)
	for err == nil && ok && lo < hi {
		mid := (lo + hi + 1) / 2
		var k bool
		if k, err = known(mid); k {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if err == nil && ok {
		return lo
	}
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return n
		}
	}
	return unix.CAP_LAST_CAP
})

// CapSet is a set of capabilities as a bitmask, the way the kernel prints
// them in /proc/<pid>/status (CapEff: 00000000a80425fb).
type CapSet uint64

// CapSetOf turns names into a bitmask. Unknown names are an error.
func CapSetOf(names []string) (CapSet, error) {
	var s CapSet
	for _, n := range names {
		num, err := CapabilityNumber(n)
		if err != nil {
			return 0, err
		}
		s |= 1 << uint(num)
	}
	return s, nil
}

// Has reports whether capability number c is in the set.
func (s CapSet) Has(c int) bool { return s&(1<<uint(c)) != 0 }

// Caps are the five capability sets of a process, as bitmasks.
type Caps struct {
	Bounding, Effective, Permitted, Inheritable, Ambient CapSet
}

// DropBounding removes from the calling thread's bounding set every
// capability not in keep: prctl(PR_CAPBSET_DROP). Needs CAP_SETPCAP.
func DropBounding(keep CapSet) error {
	last := LastCap()
	end := trace.StepFn("security", "drop capabilities from the bounding set", "capabilities(7)", func() string {
		return fmt.Sprintf("prctl(PR_CAPBSET_DROP, cap) for each cap not in %#016x (%d of %d kept)", uint64(keep), bits.OnesCount64(uint64(keep)), last+1)
	})
	err := dropBounding(keep, last)
	end(err)
	return err
}

func dropBounding(keep CapSet, last int) error {
	for c := 0; c <= last; c++ {
		if keep.Has(c) {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			if err == unix.EINVAL { // the kernel does not know this one
				continue
			}
			return fmt.Errorf("prctl(PR_CAPBSET_DROP, %d): %w", c, err)
		}
	}
	return nil
}

// KeepCaps sets or clears PR_SET_KEEPCAPS: with it set, switching from uid 0
// to another uid keeps the permitted set instead of clearing it.
func KeepCaps(on bool) error {
	v := uintptr(0)
	if on {
		v = 1
	}
	end := trace.StepFn("security", "keep capabilities across the uid change", "prctl(2)", func() string {
		return fmt.Sprintf("prctl(PR_SET_KEEPCAPS, %d)", v)
	})
	err := unix.Prctl(unix.PR_SET_KEEPCAPS, v, 0, 0, 0)
	end(err)
	if err != nil {
		return fmt.Errorf("prctl(PR_SET_KEEPCAPS, %d): %w", v, err)
	}
	return nil
}

// ApplyCaps sets the effective, permitted and inheritable sets of the calling
// thread with capset(2), then raises the ambient ones.
func ApplyCaps(c Caps) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := 0; i < 2; i++ {
		data[i].Effective = uint32(c.Effective >> (32 * i))
		data[i].Permitted = uint32(c.Permitted >> (32 * i))
		data[i].Inheritable = uint32(c.Inheritable >> (32 * i))
	}
	end := trace.StepFn("security", "set the capabilities", "capset(2), capabilities(7)", func() string {
		return fmt.Sprintf("capset(v3, effective=%#016x, permitted=%#016x, inheritable=%#016x) (%d capabilities)",
			uint64(c.Effective), uint64(c.Permitted), uint64(c.Inheritable), bits.OnesCount64(uint64(c.Permitted)))
	})
	err := unix.Capset(&hdr, &data[0])
	end(err)
	if err != nil {
		return fmt.Errorf("capset(effective=%016x, permitted=%016x, inheritable=%016x): %w",
			uint64(c.Effective), uint64(c.Permitted), uint64(c.Inheritable), err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("prctl(PR_CAP_AMBIENT_CLEAR_ALL): %w", err)
	}
	// The kernel accepts an ambient capability only if it is permitted and
	// inheritable too. Like runc, minirun skips the others instead of
	// failing: `runc spec` itself lists ambient capabilities with an empty
	// inheritable set.
	raisable := c.Ambient & c.Permitted & c.Inheritable
	for n := 0; n <= LastCap(); n++ {
		if !raisable.Has(n) {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(n), 0, 0); err != nil {
			return fmt.Errorf("prctl(PR_CAP_AMBIENT_RAISE, %d): %w", n, err)
		}
	}
	return nil
}

// SetNoNewPrivs sets prctl(PR_SET_NO_NEW_PRIVS, 1) on the calling thread.
func SetNoNewPrivs() error {
	end := trace.Step("security", "forbid gaining privileges (setuid files)", "prctl(PR_SET_NO_NEW_PRIVS, 1)", "prctl(2)")
	err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	end(err)
	if err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	return nil
}
