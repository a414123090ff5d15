package cgroups

// Cgroup v1 devices controller. The kernel (security/device_cgroup.c) keeps,
// per cgroup, a default behaviour and a list of exceptions:
//
//   - "a" written to devices.allow: default allow, empty list (a copy of the
//     parent's exceptions, in fact; see below).
//   - "a" written to devices.deny: default deny, empty list.
//   - "c 1:3 rw" written to the file that goes AGAINST the default
//     (devices.allow when the default is deny, devices.deny when it is allow)
//     adds an exception, merged into one with exactly the same type,
//     major and minor if there is one.
//   - written to the file that goes WITH the default, it removes those
//     letters from the exception with exactly the same type, major and minor,
//     and silently does nothing when there is none.
//
// An access is then checked so: with default deny, allowed when ONE exception
// covers the device and all letters asked for; with default allow, denied
// when any exception covers the device and any letter asked for.
//
// So an ordered list maps onto this exactly as long as no rule has to cut
// into a broader rule of the opposite verdict: "deny a; allow c 1:* rwm; deny
// c 1:3 w" cannot be written, since removing "c 1:3 w" does not touch the
// exception "c 1:* rwm". runc handles this the same way: its
// devicesemulator keeps the kernel's model in memory, applies every rule to
// it, returns an error for a rule that would punch a hole into a wildcard
// ("not supported by devices cgroupv1"), and then writes only the difference
// between the cgroup's current devices.list and the emulated target. We do
// not compute a difference: we reset the cgroup with "a" and write every
// rule, and to find out whether the result equals the ordered list we run
// the kernel's model (devV1State below) and compare its answers with
// devAllowedAccess on every device class the rules can tell apart.
//
// What we cannot see: with default allow, devices.list shows only "a *:*
// rwm", not the deny exceptions; and "a" written to devices.allow copies the
// parent's deny exceptions into the cgroup. Both only ever deny more, never
// allow more, than the list asks for; a child can never allow more than its
// parent anyway.

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// devV1Write is one line written to devices.allow or devices.deny.
type devV1Write struct {
	allow bool // devices.allow, else devices.deny
	rule  devRule
	reset bool // the line is "a": set the default, clear the exceptions
}

func (w devV1Write) file() string {
	if w.allow {
		return "devices.allow"
	}
	return "devices.deny"
}

// line is what is written: "a", or "c 1:3 rwm" in the kernel's syntax.
func (w devV1Write) line() string {
	if w.reset {
		return "a"
	}
	r := w.rule
	return fmt.Sprintf("%c %s:%s %s", r.typ, devNumString(r.major), devNumString(r.minor), r.access)
}

// devV1State is the kernel's model of one devices cgroup.
type devV1State struct {
	allowByDefault bool
	exceptions     []devRule // typ 'c' or 'b'; allow is not used
}

func devSameKey(a, b devRule) bool {
	return a.typ == b.typ && a.major == b.major && a.minor == b.minor
}

// apply does what the kernel does for one write (devcgroup_update_access).
func (s *devV1State) apply(w devV1Write) {
	if w.reset {
		s.allowByDefault = w.allow
		s.exceptions = nil
		return
	}
	if w.allow == s.allowByDefault {
		// dev_exception_rm: remove the letters from the exception with the
		// very same key; nothing else.
		kept := s.exceptions[:0]
		for _, ex := range s.exceptions {
			if devSameKey(ex, w.rule) {
				ex.access &^= w.rule.access
				if ex.access == 0 {
					continue
				}
			}
			kept = append(kept, ex)
		}
		s.exceptions = kept
		return
	}
	// dev_exception_add: merge into the same key or append.
	for i := range s.exceptions {
		if devSameKey(s.exceptions[i], w.rule) {
			s.exceptions[i].access |= w.rule.access
			return
		}
	}
	ex := w.rule
	ex.allow = !s.allowByDefault
	s.exceptions = append(s.exceptions, ex)
}

// allowed is the kernel's check (devcgroup_legacy_check_permission).
func (s *devV1State) allowed(typ byte, major, minor int64, want devAccess) bool {
	if s.allowByDefault {
		for _, ex := range s.exceptions { // match_exception_partial
			if ex.matchesDevice(typ, major, minor) && ex.access&want != 0 {
				return false
			}
		}
		return true
	}
	for _, ex := range s.exceptions { // match_exception
		if ex.matchesDevice(typ, major, minor) && want&^ex.access == 0 {
			return true
		}
	}
	return false
}

// list is what devices.list will show, one line per entry.
func (s *devV1State) list() []string {
	if s.allowByDefault {
		return []string{"a *:* rwm"}
	}
	out := make([]string, 0, len(s.exceptions))
	for _, ex := range s.exceptions {
		out = append(out, devV1Write{rule: ex}.line())
	}
	return out
}

// devV1Plan turns rules into the writes SetDevicesV1 makes and the
// devices.list expected afterwards, or an error when v1 cannot express the
// rules exactly. It touches no file.
func devV1Plan(rules []specs.LinuxDeviceCgroup) ([]devV1Write, []string, error) {
	rs, err := parseDevRules(rules)
	if err != nil {
		return nil, nil, err
	}
	var writes []devV1Write
	for _, r := range rs {
		switch {
		case r.everything():
			// "a" on its own: the kernel ignores whatever follows "a" on
			// the line, so only a rule for everything may be written so.
			writes = append(writes, devV1Write{allow: r.allow, rule: r, reset: true})
		case r.typ == 'a':
			for _, typ := range []byte{'c', 'b'} {
				rr := r
				rr.typ = typ
				writes = append(writes, devV1Write{allow: r.allow, rule: rr})
			}
		default:
			writes = append(writes, devV1Write{allow: r.allow, rule: r})
		}
	}
	if len(writes) == 0 || !writes[0].reset {
		// Nothing matched means deny (see devices.go), and the cgroup
		// starts with a copy of its parent's state: reset it first.
		writes = append([]devV1Write{{allow: false, reset: true, rule: devRule{typ: 'a', major: devWildcard, minor: devWildcard, access: devAccAll}}}, writes...)
	}
	var st devV1State
	for _, w := range writes {
		st.apply(w)
	}
	if err := devV1Compare(rs, &st); err != nil {
		return nil, nil, err
	}
	return writes, st.list(), nil
}

// devV1Compare checks that the kernel's model answers like the ordered list
// for every device and every combination of access letters. Rules only
// compare numbers for equality, so it suffices to try each major and minor
// that a rule names plus one that none names.
func devV1Compare(rs []devRule, st *devV1State) error {
	majors, minors := devSampleNumbers(rs)
	for _, typ := range []byte{'c', 'b'} {
		for _, major := range majors {
			for _, minor := range minors {
				allowed := devAllowedAccess(rs, typ, major, minor)
				for want := devAccess(1); want <= devAccAll; want++ {
					list := want&^allowed == 0
					v1 := st.allowed(typ, major, minor, want)
					if list == v1 {
						continue
					}
					verdict := func(b bool) string {
						if b {
							return "allow"
						}
						return "deny"
					}
					return fmt.Errorf("device rules cannot be expressed exactly with the cgroup v1 devices controller: "+
						"for %c %d:%d access %q the rules %s but v1 would %s "+
						"(v1 cannot cut an exception out of a broader rule, nor allow r and w from two different rules in one open; "+
						"write the rules so that a deny follows only an allow of exactly the same type:major:minor or a rule for everything)",
						typ, major, minor, want, verdict(list), verdict(v1))
				}
			}
		}
	}
	return nil
}

// devSampleNumbers returns the majors and minors the rules name, each list
// with one more number that no rule names.
func devSampleNumbers(rs []devRule) (majors, minors []int64) {
	add := func(list []int64, n int64) []int64 {
		if n == devWildcard || slices.Contains(list, n) {
			return list
		}
		return append(list, n)
	}
	for _, r := range rs {
		majors = add(majors, r.major)
		minors = add(minors, r.minor)
	}
	other := func(list []int64) []int64 {
		for n := int64(0); ; n++ {
			if !slices.Contains(list, n) {
				return append(list, n)
			}
		}
	}
	return other(majors), other(minors)
}

// SetDevicesV1 programs a cgroup v1 devices cgroup directory (for example
// /sys/fs/cgroup/devices/x/y). It resets the cgroup by writing "a" to
// devices.deny (the first rule, when the list starts with a deny-all; else
// first of all, since no matching rule means deny), then writes every rule in
// order to devices.allow or devices.deny in the kernel's syntax ("c 1:3 rwm",
// "c *:* m", "b 8:* r"). A rule for everything is written as "a"; a type "a"
// rule with numbers or fewer letters as a c line and a b line. Rules v1
// cannot express exactly give an error before anything is written.
// Afterwards it reads devices.list back and checks that it shows what the
// rules allow (with default allow the kernel shows just "a *:* rwm").
func SetDevicesV1(dir string, rules []specs.LinuxDeviceCgroup) error {
	writes, want, err := devV1Plan(rules)
	if err != nil {
		return err
	}
	// devices.allow and devices.deny take one rule per write(2): each is
	// opened once and written as often as it takes.
	fds := map[string]int{}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, w := range writes {
		path := filepath.Join(dir, w.file())
		fd, ok := fds[path]
		if !ok {
			if fd, err = openFile(path, unix.O_WRONLY); err != nil {
				return fmt.Errorf("cgroup v1 devices: %w", err)
			}
			fds[path] = fd
		}
		if err := writeFD(fd, path, w.line()); err != nil {
			return fmt.Errorf("cgroup v1 devices: write %q: %w", w.line(), err)
		}
	}
	data, err := readValue(filepath.Join(dir, "devices.list"))
	if err != nil {
		return fmt.Errorf("cgroup v1 devices: read back: %w", err)
	}
	var got []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			got = append(got, l)
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		return fmt.Errorf("cgroup v1 devices: %s shows [%s] but the rules allow [%s] (does a parent cgroup deny some of them?)",
			filepath.Join(dir, "devices.list"), strings.Join(got, ", "), strings.Join(want, ", "))
	}
	return nil
}
