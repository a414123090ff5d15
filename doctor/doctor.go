package doctor

import (
	"fmt"
	"strings"
)

// Status is the verdict of one check.
type Status string

// The four verdicts. Only Fail makes `minirun doctor` exit 1: a Warn is a
// feature that is missing or a trap a tutorial falls into, not something
// that stops `minirun run`.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip" // does not apply here (e.g. a root-only probe run by a user)
)

// Result is what one check found.
type Result struct {
	ID       string   `json:"id"`       // stable name, e.g. "mount.propagation"
	Group    string   `json:"group"`    // "namespaces", "mounts", "cgroups", ...
	Title    string   `json:"title"`    // what is checked, in plain words
	Status   Status   `json:"status"`   // ok, warn, fail, skip
	Message  string   `json:"message"`  // the verdict in one sentence
	Evidence []string `json:"evidence"` // what was read: "file: value", "syscall: errno"
	Why      string   `json:"why,omitempty"`
	Fix      []string `json:"fix,omitempty"` // commands or steps, one per element
}

// Check is one entry of the list: its identity and the function that
// looks at the host.
type Check struct {
	ID    string
	Group string
	Title string
	Run   func(e *Env, r *Result)
}

// Options say what is being checked for.
type Options struct {
	// DataRoot is minirun's --data-root (overlay upper directories live
	// there).
	DataRoot string
	// Bridge is the default network's bridge, named in fixes.
	Bridge string
	// SubIDUser owns the subordinate IDs --userns=auto hands out
	// (engine.SubIDUser); SubUIDFile and SubGIDFile are where they are
	// (/etc/subuid and /etc/subgid unless overridden).
	SubIDUser              string
	SubUIDFile, SubGIDFile string
}

// Env is what every check gets: the host (through the seam) and the options.
type Env struct {
	Host *Host
	Opts Options

	mountinfo []mountEntry // parsed once, lazily
	mountErr  error
	parsed    bool
}

// Rootless tells whether the checks run as an ordinary user.
func (e *Env) Rootless() bool { return e.Host.UID != 0 }

// Mounts returns the parsed /proc/self/mountinfo.
func (e *Env) Mounts() ([]mountEntry, error) {
	if !e.parsed {
		e.parsed = true
		b, err := e.Host.ReadFile("/proc/self/mountinfo")
		if err != nil {
			e.mountErr = err
		} else {
			e.mountinfo = parseMountinfo(string(b))
		}
	}
	return e.mountinfo, e.mountErr
}

// readTrim reads a small file (a sysctl) and trims it.
func (e *Env) readTrim(path string) (string, error) {
	b, err := e.Host.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

// Checks is the list, in the order they are printed.
func Checks() []Check {
	var all []Check
	all = append(all, namespaceChecks()...)
	all = append(all, mountChecks()...)
	all = append(all, cgroupChecks()...)
	all = append(all, networkChecks()...)
	all = append(all, userChecks()...)
	all = append(all, securityChecks()...)
	all = append(all, runtimeChecks()...)
	return all
}

// Run runs every check against h and returns the results in order.
func Run(h *Host, o Options) []Result {
	if o.Bridge == "" {
		o.Bridge = "minirun0"
	}
	if o.DataRoot == "" {
		o.DataRoot = "/var/lib/minirun"
	}
	if o.SubIDUser == "" {
		o.SubIDUser = "containers"
	}
	if o.SubUIDFile == "" {
		o.SubUIDFile = "/etc/subuid"
	}
	if o.SubGIDFile == "" {
		o.SubGIDFile = "/etc/subgid"
	}
	e := &Env{Host: h, Opts: o}
	var out []Result
	for _, c := range Checks() {
		r := Result{ID: c.ID, Group: c.Group, Title: c.Title, Status: OK, Evidence: []string{}}
		c.Run(e, &r)
		out = append(out, r)
	}
	return out
}

// Failed tells whether any result is a Fail (exit code 1 of the command).
func Failed(rs []Result) bool {
	for _, r := range rs {
		if r.Status == Fail {
			return true
		}
	}
	return false
}

// set fills in a verdict.
func (r *Result) set(s Status, msg string) { r.Status, r.Message = s, msg }

// evidence appends one line of what was read.
func (r *Result) evidence(format string, a ...any) {
	r.Evidence = append(r.Evidence, fmt.Sprintf(format, a...))
}
