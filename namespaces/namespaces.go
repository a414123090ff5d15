package namespaces

import (
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/trace"
)

// Type is a namespace kind as the OCI runtime spec names it.
type Type string

// The namespace types of the OCI runtime spec (config-linux.md).
const (
	PID     Type = "pid"
	Network Type = "network"
	Mount   Type = "mount"
	IPC     Type = "ipc"
	UTS     Type = "uts"
	User    Type = "user"
	Cgroup  Type = "cgroup"
	Time    Type = "time"
)

var flags = map[Type]uintptr{
	PID:     unix.CLONE_NEWPID,
	Network: unix.CLONE_NEWNET,
	Mount:   unix.CLONE_NEWNS,
	IPC:     unix.CLONE_NEWIPC,
	UTS:     unix.CLONE_NEWUTS,
	User:    unix.CLONE_NEWUSER,
	Cgroup:  unix.CLONE_NEWCGROUP,
	Time:    unix.CLONE_NEWTIME,
}

var flagNames = map[Type]string{
	PID: "CLONE_NEWPID", Network: "CLONE_NEWNET", Mount: "CLONE_NEWNS", IPC: "CLONE_NEWIPC",
	UTS: "CLONE_NEWUTS", User: "CLONE_NEWUSER", Cgroup: "CLONE_NEWCGROUP", Time: "CLONE_NEWTIME",
}

// procNames maps a type to its file name in /proc/<pid>/ns/.
var procNames = map[Type]string{
	PID: "pid", Network: "net", Mount: "mnt", IPC: "ipc", UTS: "uts", User: "user", Cgroup: "cgroup", Time: "time",
}

// CloneFlag returns the CLONE_NEW* flag of a namespace type.
func CloneFlag(t Type) (uintptr, error) {
	f, ok := flags[t]
	if !ok {
		return 0, fmt.Errorf("unknown namespace type %q (known: pid, network, mount, ipc, uts, user, cgroup, time)", t)
	}
	return f, nil
}

// ProcName is the file name of a namespace type under /proc/<pid>/ns.
func ProcName(t Type) string { return procNames[t] }

// FlagNames prints clone flags the way the man page spells them, for traces
// and error messages: "CLONE_NEWNS|CLONE_NEWPID".
func FlagNames(f uintptr) string {
	var names []string
	for _, t := range []Type{Mount, UTS, IPC, User, PID, Network, Cgroup, Time} {
		if f&flags[t] != 0 {
			names = append(names, flagNames[t])
		}
	}
	return strings.Join(names, "|")
}

// Inode returns the namespace identity of a process, e.g. "pid:[4026531836]".
func Inode(pid int, t Type) (string, error) {
	p := fmt.Sprintf("/proc/%d/ns/%s", pid, ProcName(t))
	if pid == 0 {
		p = "/proc/self/ns/" + ProcName(t)
	}
	return os.Readlink(p)
}

// Unshare moves the calling thread into new namespaces (unshare(2)).
func Unshare(f uintptr) error {
	end := trace.StepFn("namespaces", "enter new namespaces", "unshare(2), namespaces(7)", func() string { return "unshare(" + FlagNames(f) + ")" })
	err := unix.Unshare(int(f))
	end(err)
	if err != nil {
		return fmt.Errorf("unshare(%s): %w", FlagNames(f), err)
	}
	return nil
}

// Join enters the namespace that path (a /proc/<pid>/ns/<type> file or a
// bind mount of one) refers to, with setns(2).
func Join(path string, t Type) error {
	f, err := CloneFlag(t)
	if err != nil {
		return err
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", path, err)
	}
	defer unix.Close(fd)
	end := trace.StepFn("namespaces", "join an existing namespace", "setns(2)", func() string { return fmt.Sprintf("setns(open(%q), %s)", path, FlagNames(f)) })
	err = unix.Setns(fd, int(f))
	end(err)
	if err != nil {
		return fmt.Errorf("setns(%s, %s): %w", path, FlagNames(f), err)
	}
	return nil
}

// SetHostname sets the UTS namespace's hostname (sethostname(2)).
func SetHostname(name string) error {
	end := trace.StepFn("namespaces", "set the hostname (UTS namespace)", "sethostname(2), uts_namespaces(7)", func() string { return fmt.Sprintf("sethostname(%q)", name) })
	err := unix.Sethostname([]byte(name))
	end(err)
	if err != nil {
		return fmt.Errorf("sethostname(%q): %w", name, err)
	}
	return nil
}

// SetDomainname sets the UTS namespace's NIS domain name (setdomainname(2)).
func SetDomainname(name string) error {
	end := trace.StepFn("namespaces", "set the NIS domain name", "setdomainname(2)", func() string { return fmt.Sprintf("setdomainname(%q)", name) })
	err := unix.Setdomainname([]byte(name))
	end(err)
	if err != nil {
		return fmt.Errorf("setdomainname(%q): %w", name, err)
	}
	return nil
}

// UnshareTime creates a time namespace for the calling thread's future
// children and sets its clock offsets ("monotonic" and "boottime", in
// seconds and nanoseconds) through /proc/self/timens_offsets. That file
// speaks for the process's main thread, so call this on the main thread.
func UnshareTime(offsets map[string]specs.LinuxTimeOffset) error {
	if err := Unshare(unix.CLONE_NEWTIME); err != nil {
		return err
	}
	var b strings.Builder
	for clock, o := range offsets {
		fmt.Fprintf(&b, "%s %d %d\n", clock, o.Secs, o.Nanosecs)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := os.WriteFile("/proc/self/timens_offsets", []byte(b.String()), 0); err != nil {
		return fmt.Errorf("write timens_offsets %q: %w", b.String(), err)
	}
	return nil
}
