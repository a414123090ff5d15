package doctor

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

func securityChecks() []Check {
	return []Check{
		{ID: "security.seccomp", Group: "security", Title: "seccomp filters can be installed", Run: checkSeccomp},
	}
}

func runtimeChecks() []Check {
	return []Check{
		{ID: "runtime.nsenter", Group: "runtime", Title: "this binary can `exec` into a container (cgo, nsenter)", Run: checkNsenter},
	}
}

// seccompField is the Seccomp line of /proc/self/status: 0 none, 1 strict,
// 2 filter.
func seccompField(e *Env) (string, error) {
	b, err := e.Host.ReadFile("/proc/self/status")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Seccomp:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", errors.New("no Seccomp line (kernel without CONFIG_SECCOMP)")
}

var seccompActions = []struct {
	name string
	val  uint32
	need bool // Docker's default profile uses it
}{
	{"SECCOMP_RET_ERRNO", unix.SECCOMP_RET_ERRNO, true},
	{"SECCOMP_RET_KILL_PROCESS", unix.SECCOMP_RET_KILL_PROCESS, false},
	{"SECCOMP_RET_LOG", unix.SECCOMP_RET_LOG, false},
	{"SECCOMP_RET_USER_NOTIF", unix.SECCOMP_RET_USER_NOTIF, false},
}

func checkSeccomp(e *Env, r *Result) {
	r.Why = "minirun applies Docker's default seccomp profile to every container: a BPF filter that makes about " +
		"fifty dangerous system calls (kexec_load, open_by_handle_at, mount without CAP_SYS_ADMIN...) fail with " +
		"EPERM. It needs a kernel built with CONFIG_SECCOMP_FILTER."
	if m, err := e.Host.SeccompMode(); err != nil {
		r.evidence("prctl(PR_GET_SECCOMP): %v", err)
		if errors.Is(err, unix.EINVAL) {
			r.set(Fail, "the kernel has no seccomp (CONFIG_SECCOMP): every container with a seccomp profile fails to start")
			r.Fix = []string{"a kernel with CONFIG_SECCOMP=y and CONFIG_SECCOMP_FILTER=y", "or run with --security-opt seccomp=unconfined (no filter: weaker)"}
			return
		}
	} else {
		r.evidence("prctl(PR_GET_SECCOMP): %d", m)
	}
	var missing []string
	for _, a := range seccompActions {
		err := e.Host.SeccompActionAvail(a.val)
		if err == nil {
			r.evidence("seccomp(SECCOMP_GET_ACTION_AVAIL, %s): available", a.name)
			continue
		}
		r.evidence("seccomp(SECCOMP_GET_ACTION_AVAIL, %s): %v", a.name, err)
		if a.need {
			r.set(Fail, "seccomp filters are not available ("+a.name+": "+err.Error()+"): every container with a seccomp profile fails to start")
			r.Fix = []string{"a kernel with CONFIG_SECCOMP_FILTER=y", "or run with --security-opt seccomp=unconfined (no filter: weaker)"}
			return
		}
		missing = append(missing, a.name)
	}
	mode, err := seccompField(e)
	if err == nil {
		r.evidence("/proc/self/status Seccomp: %s", mode)
	}
	if mode == "2" {
		r.set(Warn, "minirun itself runs under a seccomp filter (inside a container?): its containers' filters stack on it, and whatever it forbids (often unshare, mount, keyctl) fails in minirun too")
		r.Fix = []string{"run the outer container with --security-opt seccomp=unconfined, or minirun on the host"}
		return
	}
	if len(missing) > 0 {
		r.set(Warn, "seccomp works, but this kernel lacks "+strings.Join(missing, ", ")+": profiles using them fail")
		r.Fix = []string{"a kernel ≥ 5.0 has them all"}
		return
	}
	r.set(OK, "seccomp filters with every action")
}

func checkNsenter(e *Env, r *Result) {
	r.Why = "`minirun exec` must enter the container's namespaces, and a Go program cannot: before main() runs " +
		"the Go runtime has started several threads, and setns(2) into a mount or user namespace refuses a " +
		"multi-threaded process (EINVAL). So minirun carries a C constructor (namespaces/nsenter/nsenter.c) that " +
		"runs when the binary starts, before the Go runtime exists, joins the namespaces and clones; runc's " +
		"nsexec works the same way. The go tool only compiles C with cgo: `CGO_ENABLED=0 go build` leaves it out."
	r.evidence("nsenter C constructor linked in: %v", e.Host.Cgo)
	if !e.Host.Cgo {
		r.set(Fail, "this binary was built without cgo: `minirun exec` and joining a mount namespace by path cannot work")
		r.Fix = []string{"make build   (CGO_ENABLED=1, needs gcc)", fmt.Sprintf("or: CGO_ENABLED=1 go build -o bin/minirun ./cmd/minirun")}
		return
	}
	r.set(OK, "built with cgo: exec joins namespaces before the Go runtime starts")
}

// RootlessNote tells a user running doctor without root what rootless mode
// has and has not, whatever the checks found.
const RootlessNote = `You are not root: minirun runs your containers in rootless mode (docs/ROOTLESS.md),
inside a user namespace of your own, as podman does:
  it has:      every namespace (inside the user namespace), overlayfs (kernel ≥ 5.11),
               seccomp, capabilities that are real inside and nothing outside,
               root inside mapped to you, other users to your /etc/subuid range
               (with newuidmap/newgidmap);
  it has not:  veths and bridges on the host (networking goes through slirp4netns,
               a user-mode TCP/IP stack: slower, no ping without
               net.ipv4.ping_group_range), ports below 1024 (net.ipv4.ip_unprivileged_port_start),
               cgroup limits unless cgroup v2 delegates controllers to you, devices
               you cannot open yourself, and nothing of the host's firewall.
Root-only probes (veth/bridge, nftables, overlay on the data root) are skipped.`
