package doctor

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/namespaces"
)

// nsInfo is one namespace kind: what minirun gives a container with it, the
// kernel option that builds it and whether `minirun run` needs it.
type nsInfo struct {
	t       namespaces.Type
	config  string // CONFIG_*_NS
	what    string
	needed  bool // every `minirun run` uses it
	minimum string
}

var nsKinds = []nsInfo{
	{namespaces.Mount, "(always built)", "its own mount table: the container's root filesystem, /proc, /dev", true, "2.4.19"},
	{namespaces.UTS, "CONFIG_UTS_NS", "its own hostname", true, "2.6.19"},
	{namespaces.IPC, "CONFIG_IPC_NS", "its own System V IPC and POSIX message queues", true, "2.6.19"},
	{namespaces.PID, "CONFIG_PID_NS", "its own process numbers: the command is PID 1", true, "3.8"},
	{namespaces.Network, "CONFIG_NET_NS", "its own network stack: interfaces, routes, ports", true, "2.6.29"},
	{namespaces.Cgroup, "CONFIG_CGROUPS", "a /proc/self/cgroup and /sys/fs/cgroup rooted at its own cgroup", true, "4.6"},
	{namespaces.User, "CONFIG_USER_NS", "its own user IDs: root inside, an unprivileged user outside (--userns, rootless mode)", false, "3.8"},
	{namespaces.Time, "CONFIG_TIME_NS", "its own CLOCK_MONOTONIC and CLOCK_BOOTTIME offsets (OCI linux.timeOffsets)", false, "5.6"},
}

func namespaceChecks() []Check {
	var cs []Check
	for _, k := range nsKinds {
		k := k
		cs = append(cs, Check{
			ID:    "namespaces." + string(k.t),
			Group: "namespaces",
			Title: "new " + string(k.t) + " namespace",
			Run:   func(e *Env, r *Result) { checkNamespace(e, r, k) },
		})
	}
	return cs
}

func checkNamespace(e *Env, r *Result, k nsInfo) {
	flag, _ := namespaces.CloneFlag(k.t)
	r.Why = "From this namespace a container gets " + k.what + "."
	probe := flag
	if e.Rootless() {
		if k.t == namespaces.Time {
			r.set(Skip, "a user can only make a time namespace inside a user namespace of its own, from a single-threaded process; probed as root only")
			return
		}
		// Without privileges every namespace but the user namespace needs
		// a user namespace of its own first: rootless runtimes ask for both
		// at once, and so does this probe.
		probe |= unix.CLONE_NEWUSER
	}
	err := e.Host.Unshare(probe)
	call := "clone(" + namespaces.FlagNames(probe) + ") in a child process"
	if probe&unix.CLONE_NEWTIME != 0 {
		call = "unshare(" + namespaces.FlagNames(probe) + ") in a throwaway thread"
	}
	if err == nil {
		r.evidence("%s: ok", call)
		r.set(OK, "created and thrown away")
		return
	}
	r.evidence("%s: %v", call, err)
	bad := Fail
	if !k.needed {
		bad = Warn
	}
	switch {
	case errors.Is(err, unix.EINVAL):
		r.set(bad, "the kernel does not know this namespace (EINVAL): it was built without "+k.config+" or is older than "+k.minimum)
		r.Fix = []string{"use a kernel built with " + k.config + "=y (every distribution kernel has it; custom and embedded kernels may not)"}
		if k.t == namespaces.Time {
			r.Fix = append(r.Fix, "or leave linux.timeOffsets out of config.json: nothing else needs it")
		}
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES):
		if e.Rootless() || k.t == namespaces.User {
			// What is missing then is rootless mode or --userns; `sudo
			// minirun run` still works.
			userNSReasons(e, r)
			r.set(Warn, "refused (EPERM): the user namespace checks below say why")
			return
		}
		r.set(bad, "refused (EPERM) although running as root: minirun itself runs inside a restricted container (no CAP_SYS_ADMIN, a seccomp filter, or a user namespace that does not own this one)")
		r.Fix = []string{"run minirun on the host, or in a container started with --privileged (docker run --privileged ...)"}
	case errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EUSERS):
		r.set(bad, "the per-user limit of this namespace kind is reached (ENOSPC): /proc/sys/user/max_"+procLimitName(k.t)+"_namespaces")
		r.Fix = []string{"sysctl -w user.max_" + procLimitName(k.t) + "_namespaces=15000"}
	default:
		r.set(bad, "unexpected error: "+err.Error())
	}
}

// procLimitName is the name in /proc/sys/user/max_<name>_namespaces.
func procLimitName(t namespaces.Type) string {
	switch t {
	case namespaces.Network:
		return "net"
	case namespaces.Mount:
		return "mnt"
	}
	return string(t)
}
