// Device access: which device nodes a container may create and open.
//
// Why a container must not open arbitrary devices, even as root. A device node
// (/dev/null, /dev/sda) is a file that holds no data: its type, character or
// block, and two numbers, major:minor, name a driver inside the kernel; the
// path is only a label. Whoever has CAP_MKNOD can create a node with any
// numbers anywhere (mknod(2)). A container's root that runs
//
//	mknod /tmp/disk b 8 0
//
// holds a door to the host's first disk: reading it reads the host's
// filesystem blocks, past every mount namespace, chroot and pivot_root.
// Dropping CAP_MKNOD is not enough either, since a node can arrive in a
// volume or a bind mount. So the kernel has a separate check whenever a
// device node is opened or created: the device cgroup. It looks only at
// (type, major, minor, access), not at the path and not at capabilities, and
// root in a container is subject to it like everyone else; a denied open or
// mknod fails with EPERM. Docker's default list (DefaultDeviceRules) lets a
// container create any node (m) but open only the harmless ones: null, zero,
// full, random, urandom, tty, the pseudo-terminals and tun.
//
// The rules come from the OCI config, linux.resources.devices
// (specs.LinuxDeviceCgroup): {allow, type "a"|"c"|"b", major, minor (absent =
// any), access, a subset of "rwm"} where r is open for reading, w open for
// writing and m mknod. What a list means here, identically in DeviceAllowed,
// in the cgroup v1 writes and in the eBPF program:
//
//   - The rules are read in order. For each single access letter (r, w or m)
//     the LAST rule that matches the device and whose access contains that
//     letter decides, allow or deny. A rule matches a device when its type is
//     the device's type or "a" (empty means "a"), and its major and minor are
//     the device's or wildcards.
//   - When no rule decides, the access is denied. That is what runc does on
//     cgroup v2 (an empty list denies everything), and real lists start with
//     "deny a *:* rwm" anyway, which decides everything until a later rule
//     says otherwise.
//   - An open for reading and writing (O_RDWR) needs both r and w.
//   - Type "a" with a major or minor, or with less than "rwm", means the
//     same rule for both c and b.
//
// Cgroup v1: the devices controller (man 7 cgroups; the kernel's
// Documentation/admin-guide/cgroup-v1/devices.rst). Every directory of the
// devices hierarchy (/sys/fs/cgroup/devices/...) has three files:
//
//	devices.allow  write "c 1:3 rwm" to allow a device, "a" to allow all
//	devices.deny   write "b 8:* r" to deny, "a" to deny all
//	devices.list   read back what is allowed ("a *:* rwm" when everything)
//
// Its state is a default, allow or deny, plus a list of exceptions; writing
// "a" sets the default and empties the list. A new cgroup starts with a copy
// of its parent's state and can never allow more than its parent. The
// kernel's model is poorer than an ordered rule list (it cannot punch a hole
// into a wildcard), so SetDevicesV1 (devices_v1.go) simulates what the kernel
// will end up with and refuses lists it cannot express exactly.
//
// Cgroup v2 has no devices.* files at all (Documentation/admin-guide/
// cgroup-v2.rst, "Device controller"). Instead one loads an eBPF program of
// type BPF_PROG_TYPE_CGROUP_DEVICE and attaches it to the cgroup directory
// (man 2 bpf: BPF_PROG_LOAD, BPF_PROG_ATTACH). On every open and mknod of a
// device node by a process in that cgroup, or below it, the kernel runs the
// program on struct bpf_cgroup_dev_ctx {access_type, major, minor}; it
// returns 1 to allow and 0 to deny. AttachDeviceFilter (devices_v2.go)
// compiles the rule list into such a program; DeviceProgramListing shows it.

package cgroups

import (
	"fmt"
	"math"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// devAccess is a set of access letters as bits. The values are the kernel's
// BPF_DEVCG_ACC_* (the v1 controller's ACC_* are the same numbers).
type devAccess uint8

const (
	devAccMknod devAccess = 1 // m: mknod(2)
	devAccRead  devAccess = 2 // r: open(2) for reading
	devAccWrite devAccess = 4 // w: open(2) for writing
	devAccAll             = devAccMknod | devAccRead | devAccWrite
)

// String gives the letters in the kernel's order, "rwm".
func (a devAccess) String() string {
	var b strings.Builder
	if a&devAccRead != 0 {
		b.WriteByte('r')
	}
	if a&devAccWrite != 0 {
		b.WriteByte('w')
	}
	if a&devAccMknod != 0 {
		b.WriteByte('m')
	}
	return b.String()
}

// devWildcard stands for an absent major or minor (and for -1, which runc
// and some OCI configs use to mean the same).
const devWildcard int64 = -1

// devRule is one validated rule: typ is 'a', 'c' or 'b'.
type devRule struct {
	allow        bool
	typ          byte
	major, minor int64
	access       devAccess
}

func devNumString(n int64) string {
	if n == devWildcard {
		return "*"
	}
	return fmt.Sprint(n)
}

// String is the kernel's syntax with the verdict in front: "allow c 1:3 rwm".
func (r devRule) String() string {
	verdict := "deny"
	if r.allow {
		verdict = "allow"
	}
	return fmt.Sprintf("%s %c %s:%s %s", verdict, r.typ, devNumString(r.major), devNumString(r.minor), r.access)
}

// everything reports whether the rule matches every device and every access:
// it overrides all rules before it.
func (r devRule) everything() bool {
	return r.typ == 'a' && r.major == devWildcard && r.minor == devWildcard && r.access == devAccAll
}

// matchesDevice ignores the access letters.
func (r devRule) matchesDevice(typ byte, major, minor int64) bool {
	return (r.typ == 'a' || r.typ == typ) &&
		(r.major == devWildcard || r.major == major) &&
		(r.minor == devWildcard || r.minor == minor)
}

func devPtrString(p *int64) string {
	if p == nil {
		return "*"
	}
	return fmt.Sprint(*p)
}

// devSpecRuleString prints a rule as given, valid or not, for error messages.
func devSpecRuleString(r specs.LinuxDeviceCgroup) string {
	verdict := "deny"
	if r.Allow {
		verdict = "allow"
	}
	typ := r.Type
	if typ == "" {
		typ = "a"
	}
	return fmt.Sprintf("%s %s %s:%s %q", verdict, typ, devPtrString(r.Major), devPtrString(r.Minor), r.Access)
}

// devNumber checks a major or minor: absent or -1 is the wildcard; anything
// else must fit the kernel's u32 and must not be 2^32-1, which the v1
// controller stores as its wildcard.
func devNumber(what string, p *int64) (int64, error) {
	if p == nil || *p == devWildcard {
		return devWildcard, nil
	}
	if *p < 0 || *p >= math.MaxUint32 {
		return 0, fmt.Errorf("%s %d out of range (0 to %d, or absent/-1 for any)", what, *p, uint32(math.MaxUint32-1))
	}
	return *p, nil
}

// parseDevRules validates rules and converts them; errors name the rule by
// its position (counting from 0) and its text.
func parseDevRules(rules []specs.LinuxDeviceCgroup) ([]devRule, error) {
	out := make([]devRule, 0, len(rules))
	for i, sr := range rules {
		r, err := parseDevRule(sr)
		if err != nil {
			return nil, fmt.Errorf("device rule %d (%s): %w", i, devSpecRuleString(sr), err)
		}
		out = append(out, r)
	}
	return out, nil
}

func parseDevRule(sr specs.LinuxDeviceCgroup) (devRule, error) {
	r := devRule{allow: sr.Allow}
	switch sr.Type {
	case "", "a":
		r.typ = 'a'
	case "c", "b":
		r.typ = sr.Type[0]
	default:
		return r, fmt.Errorf("type %q is not a (all), c (char) or b (block)", sr.Type)
	}
	var err error
	if r.major, err = devNumber("major", sr.Major); err != nil {
		return r, err
	}
	if r.minor, err = devNumber("minor", sr.Minor); err != nil {
		return r, err
	}
	if sr.Access == "" {
		return r, fmt.Errorf("access is empty: give a subset of \"rwm\"")
	}
	for _, c := range sr.Access {
		switch c {
		case 'r':
			r.access |= devAccRead
		case 'w':
			r.access |= devAccWrite
		case 'm':
			r.access |= devAccMknod
		default:
			return r, fmt.Errorf("access %q: %q is not one of r, w, m", sr.Access, c)
		}
	}
	return r, nil
}

func devInt64(v int64) *int64 { return &v }

// DefaultDeviceRules is Docker's (and runc's) default device allowlist, in
// the order it applies: first deny everything, then allow creating any node
// (m, so that images with device nodes in them unpack) and opening a few
// harmless devices.
func DefaultDeviceRules() []specs.LinuxDeviceCgroup {
	rwm := func(typ string, major, minor int64) specs.LinuxDeviceCgroup {
		r := specs.LinuxDeviceCgroup{Allow: true, Type: typ, Access: "rwm"}
		if major != devWildcard {
			r.Major = devInt64(major)
		}
		if minor != devWildcard {
			r.Minor = devInt64(minor)
		}
		return r
	}
	return []specs.LinuxDeviceCgroup{
		{Allow: false, Type: "a", Access: "rwm"}, // deny all
		{Allow: true, Type: "c", Access: "m"},    // mknod of any char device
		{Allow: true, Type: "b", Access: "m"},    // mknod of any block device
		rwm("c", 1, 3),                           // /dev/null
		rwm("c", 1, 8),                           // /dev/random
		rwm("c", 1, 7),                           // /dev/full
		rwm("c", 5, 0),                           // /dev/tty
		rwm("c", 5, 1),                           // /dev/console (Docker allows it too)
		rwm("c", 1, 5),                           // /dev/zero
		rwm("c", 1, 9),                           // /dev/urandom
		rwm("c", 136, devWildcard),               // /dev/pts/*
		rwm("c", 5, 2),                           // /dev/ptmx
		rwm("c", 10, 200),                        // /dev/net/tun
	}
}

// ValidateDeviceRules checks every rule: type a, c, b or empty (= a); access
// a non-empty subset of "rwm"; major and minor absent or -1 (any) or a number
// the kernel can hold. The error names the first bad rule.
func ValidateDeviceRules(rules []specs.LinuxDeviceCgroup) error {
	_, err := parseDevRules(rules)
	return err
}

// devAllowedAccess returns the set of access letters the rules allow for one
// device: a forward pass where an allow rule adds its letters and a deny rule
// removes them, which is "the last matching rule wins, for each letter". The
// eBPF program computes exactly this, in the same order.
func devAllowedAccess(rules []devRule, typ byte, major, minor int64) devAccess {
	var allowed devAccess // nothing matched yet: deny
	for _, r := range rules {
		if !r.matchesDevice(typ, major, minor) {
			continue
		}
		if r.allow {
			allowed |= r.access
		} else {
			allowed &^= r.access
		}
	}
	return allowed
}

// DeviceAllowed evaluates the rules for one access the way the kernel
// program will: typ is 'c' or 'b', access one of 'r', 'w', 'm'. The last
// rule that matches the device and contains the access letter decides; none
// means deny. Invalid rules or arguments give false.
func DeviceAllowed(rules []specs.LinuxDeviceCgroup, typ byte, major, minor int64, access byte) bool {
	rs, err := parseDevRules(rules)
	if err != nil || (typ != 'c' && typ != 'b') {
		return false
	}
	var want devAccess
	switch access {
	case 'r':
		want = devAccRead
	case 'w':
		want = devAccWrite
	case 'm':
		want = devAccMknod
	default:
		return false
	}
	return devAllowedAccess(rs, typ, major, minor)&want != 0
}
