package probe

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Absent stands for a field one report has and the other has not.
const Absent = "<absent>"

// Difference is one field whose value differs between two reports.
type Difference struct {
	Field string `json:"field"`
	A     string `json:"minirun"`
	B     string `json:"other"`
}

// Normalize replaces, in every value, each old string by its new one
// (pairs as strings.NewReplacer takes them): a container's ID, its bundle
// directory — what differs between two runs of one container by design.
func (r Report) Normalize(oldnew ...string) Report {
	rep := strings.NewReplacer(oldnew...)
	out := Report{}
	for k, v := range r {
		out[rep.Replace(k)] = rep.Replace(v)
	}
	return out
}

// Diff returns the fields whose values differ, sorted by field; with all,
// every field (the equal ones too).
func Diff(a, b Report, all bool) []Difference {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var out []Difference
	for k := range keys {
		va, ok := a[k]
		if !ok {
			va = Absent
		}
		vb, ok := b[k]
		if !ok {
			vb = Absent
		}
		if va != vb || all {
			out = append(out, Difference{k, va, vb})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// AllowEntry is one known difference between minirun and runc on the
// same bundle, with why it is there. Field may hold * (any characters,
// / included); Any as a value matches every value. Host, if set, is the
// only kind of host the entry applies to (HostCgroupMode).
type AllowEntry struct {
	Field   string `json:"field"`
	Minirun string `json:"minirun"`
	Runc    string `json:"runc"`
	Host    string `json:"host,omitempty"`
	Reason  string `json:"reason"`
}

// Any matches every value in an allowlist entry.
const Any = "any"

func (e AllowEntry) matches(d Difference) bool {
	return globMatch(e.Field, d.Field) && (e.Minirun == Any || e.Minirun == d.A) && (e.Runc == Any || e.Runc == d.B)
}

// globMatch matches s against a pattern whose * stands for any characters.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return true
}

// HostCgroupMode is "cgroup-v2" on a host whose /sys/fs/cgroup is the
// unified hierarchy, else "cgroup-v1" (v1 or hybrid).
func HostCgroupMode() string {
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "cgroup-v2"
	}
	return "cgroup-v1"
}

// ForHost keeps the entries that apply to a host of this kind.
func ForHost(l []AllowEntry, host string) []AllowEntry {
	var out []AllowEntry
	for _, e := range l {
		if e.Host == "" || e.Host == host {
			out = append(out, e)
		}
	}
	return out
}

//go:embed allowlist-runc.json
var allowlistRunc []byte

// RuncAllowlist is the committed list of differences between minirun and
// runc on the same bundle that are known and explained
// (probe/allowlist-runc.json; docs/COMPARE.md), the entries for this host.
func RuncAllowlist() ([]AllowEntry, error) {
	l, err := ParseAllowlist(allowlistRunc)
	return ForHost(l, HostCgroupMode()), err
}

// ParseAllowlist reads an allowlist; every entry needs a field, both values
// and a reason.
func ParseAllowlist(b []byte) ([]AllowEntry, error) {
	var l []AllowEntry
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("allowlist: %w", err)
	}
	for i, e := range l {
		if e.Field == "" || e.Minirun == "" || e.Runc == "" || strings.TrimSpace(e.Reason) == "" {
			return nil, fmt.Errorf("allowlist entry %d (%q): field, minirun, runc and reason are all required", i, e.Field)
		}
		if e.Host != "" && e.Host != "cgroup-v1" && e.Host != "cgroup-v2" {
			return nil, fmt.Errorf("allowlist entry %d (%q): host %q: want cgroup-v1 or cgroup-v2", i, e.Field, e.Host)
		}
	}
	return l, nil
}

// Explain finds the allowlist entry that explains d, if any.
func Explain(l []AllowEntry, d Difference) (AllowEntry, bool) {
	for _, e := range l {
		if e.matches(d) {
			return e, true
		}
	}
	return AllowEntry{}, false
}

// Check holds diffs against the allowlist exactly: unexplained are the
// differences no entry explains, stale the entries that explain no
// difference any more (the runtimes agree now, or differ otherwise).
func Check(diffs []Difference, l []AllowEntry) (unexplained []Difference, stale []AllowEntry) {
	used := make([]bool, len(l))
	for _, d := range diffs {
		found := false
		for i, e := range l {
			if e.matches(d) {
				used[i], found = true, true
			}
		}
		if !found {
			unexplained = append(unexplained, d)
		}
	}
	for i, e := range l {
		if !used[i] {
			stale = append(stale, e)
		}
	}
	return unexplained, stale
}
