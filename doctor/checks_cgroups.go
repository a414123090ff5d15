package doctor

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/cgroups"
)

func cgroupChecks() []Check {
	return []Check{
		{ID: "cgroups.mode", Group: "cgroups", Title: "how the host mounts cgroups (v1, v2 or hybrid)", Run: checkCgroupMode},
		{ID: "cgroups.controllers", Group: "cgroups", Title: "the controllers minirun limits with", Run: checkControllers},
		{ID: "cgroups.delegation", Group: "cgroups", Title: "cgroup v2 controllers delegated to the user (rootless limits)", Run: checkDelegation},
	}
}

// wsl tells whether the kernel is WSL2's ("...-microsoft-standard-WSL2").
func wsl(e *Env) (string, bool) {
	rel, err := e.Host.Uname()
	if err != nil {
		return "", false
	}
	return rel, strings.Contains(strings.ToLower(rel), "microsoft")
}

func cgroupFSName(t int64) string {
	if t == unix.CGROUP2_SUPER_MAGIC {
		return "cgroup2"
	}
	if t == unix.CGROUP_SUPER_MAGIC {
		return "cgroup (v1)"
	}
	return fsName(t)
}

// v1Controllers lists the cgroup v1 hierarchies of the mount table.
func v1Controllers(ms []mountEntry) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range ms {
		if m.FSType != "cgroup" {
			continue
		}
		name := filepath.Base(m.Point)
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func checkCgroupMode(e *Env, r *Result) {
	mode := cgroups.DetectModeWith(e.Host.Statfs)
	for _, p := range []string{cgroups.Root, cgroups.Root + "/unified"} {
		if t, err := e.Host.Statfs(p); err == nil {
			r.evidence("statfs %s: %s", p, cgroupFSName(t))
		} else if p == cgroups.Root {
			r.evidence("statfs %s: %v", p, err)
		}
	}
	ms, _ := e.Mounts()
	if v1 := v1Controllers(ms); len(v1) > 0 {
		r.evidence("cgroup v1 hierarchies mounted: %s", strings.Join(v1, " "))
	}
	rel, isWSL := wsl(e)
	r.Why = "cgroups are how the kernel counts and limits a group of processes (--memory, --cpus, --pids-limit). " +
		"v1 has one tree per controller (/sys/fs/cgroup/memory/...); v2 has a single tree whose files differ " +
		"(memory.max instead of memory.limit_in_bytes, cgroup.subtree_control to hand controllers down). " +
		"minirun speaks both; tutorials and tools usually speak one."
	switch mode {
	case cgroups.Unified:
		r.set(OK, "cgroup v2 only (unified): the modern layout; tutorials written for v1 do not apply as they are")
		r.Why += " A v1 tutorial fails on this host: there is no /sys/fs/cgroup/memory/ directory. Its v2 names: " +
			"mkdir /sys/fs/cgroup/memory/demo → mkdir /sys/fs/cgroup/demo (after `echo +memory > cgroup.subtree_control` " +
			"in the parent), memory.limit_in_bytes → memory.max, cpu.cfs_quota_us/cpu.cfs_period_us → cpu.max " +
			"(\"50000 100000\"), cpu.shares → cpu.weight, tasks → cgroup.procs; a process may only sit in a leaf cgroup."
	case cgroups.Hybrid:
		b, _ := e.Host.ReadFile(filepath.Join(cgroups.Root, "unified", "cgroup.controllers"))
		v2 := strings.TrimSpace(string(b))
		r.evidence("%s/unified/cgroup.controllers: %q", cgroups.Root, v2)
		if v2 == "" {
			v2 = "none"
		}
		msg := "hybrid: the controllers minirun limits with are on cgroup v1; cgroup v2 is mounted at /sys/fs/cgroup/unified (systemd tracks services there) with controllers: " + v2
		r.Why += " On a hybrid host minirun uses the v1 controllers. A v2 tutorial fails here: `echo +memory > " +
			"cgroup.subtree_control` in the v2 tree is refused with ENOENT (memory is bound to v1, so it is not in " +
			"cgroup.controllers), memory.max does not exist, and rootless " +
			"limits (which need v2 delegation) are not available."
		if isWSL {
			r.evidence("kernel release: %s (WSL2)", rel)
			msg = "WSL2 with hybrid cgroups: " + msg
			r.Fix = []string{
				"WSL2: in %UserProfile%\\.wslconfig, [wsl2] kernelCommandLine = cgroup_no_v1=all   then `wsl --shutdown`",
				"and in /etc/wsl.conf, [boot] systemd=true   so that systemd mounts a clean v2 tree",
			}
		} else {
			r.Fix = []string{
				"to switch the host to v2 only, boot with systemd.unified_cgroup_hierarchy=1 (e.g. in GRUB_CMDLINE_LINUX of /etc/default/grub, then update-grub and reboot)",
				"nothing is needed for minirun as root: it uses the v1 controllers",
			}
		}
		r.set(Warn, msg)
	case cgroups.Legacy:
		r.set(Warn, "cgroup v1 only: limits work as root; rootless mode gets no limits (v1 cannot be delegated safely)")
		r.Why += " Tutorials written for v2 (cgroup.subtree_control, memory.max) do not apply here."
		r.Fix = []string{"boot with systemd.unified_cgroup_hierarchy=1 (kernel ≥ 4.15, systemd ≥ 226) to get v2"}
		if isWSL {
			r.evidence("kernel release: %s (WSL2)", rel)
			r.Fix = append(r.Fix, "WSL2: kernelCommandLine = cgroup_no_v1=all in .wslconfig, systemd=true in /etc/wsl.conf, then `wsl --shutdown`")
		}
	default:
		r.set(Fail, "no cgroup filesystem at /sys/fs/cgroup: minirun cannot place a container in a cgroup")
		r.Fix = []string{
			"mount -t cgroup2 none /sys/fs/cgroup   (v2)",
			"or, inside a container, start it with the host's cgroups: docker run --cgroupns=private --privileged ...",
		}
	}
}

func checkControllers(e *Env, r *Result) {
	mode := cgroups.DetectModeWith(e.Host.Statfs)
	want := []string{"cpu", "memory", "pids"}
	var have []string
	switch mode {
	case cgroups.Unified:
		b, err := e.Host.ReadFile(filepath.Join(cgroups.Root, "cgroup.controllers"))
		if err != nil {
			r.evidence("%s/cgroup.controllers: %v", cgroups.Root, err)
			r.set(Skip, "cannot read the root's controllers")
			return
		}
		r.evidence("%s/cgroup.controllers: %s", cgroups.Root, strings.TrimSpace(string(b)))
		have = strings.Fields(string(b))
	case cgroups.Hybrid, cgroups.Legacy:
		want = append(want, "devices", "freezer")
		ms, _ := e.Mounts()
		for _, m := range ms {
			if m.FSType == "cgroup" {
				// the controllers are the superblock options: "rw,cpu,cpuacct"
				f := strings.Fields(m.Line)
				for _, o := range strings.Split(f[len(f)-1], ",") {
					if o != "rw" && o != "ro" {
						have = append(have, o)
					}
				}
			}
		}
		r.evidence("v1 hierarchies' options: %s", strings.Join(have, ","))
	default:
		r.set(Skip, "no cgroups")
		return
	}
	r.Why = "memory limits --memory, cpu --cpus/--cpu-shares, pids --pids-limit; on v1 devices is the device " +
		"allowlist and freezer is `pause`."
	var missing []string
	for _, w := range want {
		if !contains(have, w) {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		r.set(Warn, "missing controllers: "+strings.Join(missing, " ")+": the matching options fail")
		r.Fix = []string{"a kernel built with CONFIG_MEMCG, CONFIG_CGROUP_PIDS, CONFIG_CGROUP_SCHED; on some boards (Raspberry Pi) add cgroup_enable=memory cgroup_memory=1 to the kernel command line"}
		return
	}
	r.set(OK, "present: "+strings.Join(want, " "))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func checkDelegation(e *Env, r *Result) {
	mode := cgroups.DetectModeWith(e.Host.Statfs)
	r.Why = "A user may only write to cgroups systemd has delegated to it: with cgroup v2 that is the user's " +
		"user@UID.service, and cgroup.subtree_control there lists the controllers its children may use. Without " +
		"memory/pids/cpu there, rootless containers run without limits (podman's \"cgroup v2 delegation\" error)."
	if mode != cgroups.Unified {
		r.set(Skip, "cgroup v1 (or hybrid): cgroups cannot be delegated safely to a user; rootless containers get no limits")
		return
	}
	if e.Host.User == "" {
		r.set(Skip, "running as root: containers are limited through the root's own cgroup tree (run with sudo to check your user's delegation)")
		return
	}
	uid := e.Host.UserUID
	p := fmt.Sprintf("%s/user.slice/user-%d.slice/user@%d.service/cgroup.subtree_control", cgroups.Root, uid, uid)
	b, err := e.Host.ReadFile(p)
	if err != nil {
		r.evidence("%s: %v", p, err)
		r.set(Warn, "no systemd user manager cgroup for "+e.Host.User+": nothing is delegated")
		r.Fix = []string{"log in through a real session (ssh, console) or `loginctl enable-linger " + e.Host.User + "`, so that systemd starts user@" + fmt.Sprint(uid) + ".service"}
		return
	}
	have := strings.Fields(string(b))
	r.evidence("%s: %q", p, strings.TrimSpace(string(b)))
	var missing []string
	for _, w := range []string{"cpu", "memory", "pids"} {
		if !contains(have, w) {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		r.set(Warn, "not delegated to "+e.Host.User+": "+strings.Join(missing, " "))
		r.Fix = []string{
			"mkdir -p /etc/systemd/system/user@.service.d",
			"printf '[Service]\\nDelegate=cpu cpuset io memory pids\\n' > /etc/systemd/system/user@.service.d/delegate.conf",
			"systemctl daemon-reload   (then log out and in again)",
		}
		return
	}
	r.set(OK, "cpu, memory and pids are delegated to "+e.Host.User)
}
