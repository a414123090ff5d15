package doctor

import (
	"os"
	"strconv"
	"strings"

	"github.com/minirun/minirun/idmap"
)

func userChecks() []Check {
	return []Check{
		{ID: "user.userns_sysctls", Group: "user namespaces", Title: "unprivileged users may create user namespaces", Run: checkUserNSSysctls},
		{ID: "user.subuid_auto", Group: "user namespaces", Title: "subordinate IDs for --userns=auto", Run: checkSubUIDAuto},
		{ID: "user.subuid", Group: "user namespaces", Title: "the user has subordinate IDs in /etc/subuid and /etc/subgid", Run: checkSubUID},
		{ID: "user.newuidmap", Group: "user namespaces", Title: "newuidmap and newgidmap are installed and privileged", Run: checkNewUIDMap},
	}
}

// A sysctl that can forbid user namespaces, and the value that does.
type usernsKnob struct {
	path, bad, what, fix string
}

var usernsKnobs = []usernsKnob{
	{"/proc/sys/user/max_user_namespaces", "0", "the kernel allows no user namespace at all",
		"sysctl -w user.max_user_namespaces=15000"},
	{"/proc/sys/kernel/unprivileged_userns_clone", "0", "Debian's patch: only root may create user namespaces",
		"sysctl -w kernel.unprivileged_userns_clone=1   (and in /etc/sysctl.d/ to keep it)"},
	{"/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1", "Ubuntu ≥ 23.10: AppArmor lets only programs with a profile that allows `userns` create them unprivileged",
		"give minirun an AppArmor profile: printf 'abi <abi/4.0>,\\ninclude <tunables/global>\\nprofile minirun /usr/local/bin/minirun flags=(unconfined) {\\n  userns,\\n}\\n' > /etc/apparmor.d/minirun; apparmor_parser -r /etc/apparmor.d/minirun   (or, host-wide: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)"},
}

// userNSReasons adds to r what each knob says, with the fixes of those that
// forbid. It returns whether one forbids.
func userNSReasons(e *Env, r *Result) bool {
	forbidden := false
	for _, k := range usernsKnobs {
		v, err := e.readTrim(k.path)
		if err != nil {
			continue // this kernel has no such knob
		}
		r.evidence("%s: %s", k.path, v)
		if v == k.bad {
			forbidden = true
			r.evidence("  → %s", k.what)
			r.Fix = append(r.Fix, k.fix)
		}
	}
	if mode, err := seccompField(e); err == nil && mode == "2" {
		r.evidence("/proc/self/status Seccomp: 2 (a seccomp filter is applied to minirun itself; Docker's default profile refuses unshare and clone with CLONE_NEWUSER)")
	}
	return forbidden
}

func checkUserNSSysctls(e *Env, r *Result) {
	r.Why = "A user namespace lets a process be root inside while it stays an ordinary user outside: it is what " +
		"rootless mode and --userns are built on. Several kernels and distributions restrict it, because it also " +
		"exposes more kernel code to unprivileged users."
	if userNSReasons(e, r) {
		if e.Rootless() {
			r.set(Warn, "user namespaces are restricted: rootless mode cannot start")
		} else {
			r.set(Warn, "unprivileged user namespaces are restricted: `sudo minirun run` is not affected; rootless mode is")
		}
		return
	}
	if len(r.Evidence) == 0 {
		r.set(Skip, "none of the known sysctls exist here")
		return
	}
	r.set(OK, "no sysctl forbids them")
}

// subIDs checks one owner's ranges in the subordinate ID files: each file
// needs a single range of at least 65536 IDs (a container's 0-65535).
// It returns whether both have one.
func subIDs(e *Env, r *Result, owner string, uid int) bool {
	good := true
	for _, f := range []string{e.Opts.SubUIDFile, e.Opts.SubGIDFile} {
		b, err := e.Host.ReadFile(f)
		if err != nil {
			r.evidence("%s: %v", f, err)
			good = false
			continue
		}
		id := ""
		if uid >= 0 {
			id = strconv.Itoa(uid)
		}
		rs, err := idmap.Parse(strings.NewReader(string(b)), owner, id)
		switch {
		case err != nil:
			r.evidence("%s: %v", f, err)
			good = false
		case len(rs) == 0:
			r.evidence("%s: no entry for %s", f, owner)
			good = false
		case idmap.Largest(rs) < 65536:
			r.evidence("%s: %s has %s, the largest range %d IDs: fewer than 65536", f, owner, rangesString(rs), idmap.Largest(rs))
			good = false
		default:
			r.evidence("%s: %s has %s", f, owner, rangesString(rs))
		}
	}
	return good
}

func rangesString(rs []idmap.Range) string {
	var out []string
	for _, x := range rs {
		out = append(out, x.String())
	}
	return strings.Join(out, ", ")
}

const subIDWhy = " Each container needs one range of 65536 IDs (0-65535: nobody is 65534); with fewer, " +
	"`apt-get` or `chown` in a container fail with EINVAL."

func checkSubUIDAuto(e *Env, r *Result) {
	owner := e.Opts.SubIDUser
	r.Why = "`minirun run --userns=auto` runs a container in a user namespace of its own: its root is an " +
		"ordinary host user. The host IDs come from the ranges of the user \"" + owner + "\" in /etc/subuid and " +
		"/etc/subgid (as podman does); the user need not exist. Each container gets a block of them that no " +
		"other container has, so a container's root that escapes owns nothing on the host." + subIDWhy
	if e.Rootless() {
		r.set(Skip, "--userns=auto is for minirun as root")
		return
	}
	if subIDs(e, r, owner, -1) {
		r.set(OK, "\""+owner+"\" has subordinate UIDs and GIDs for --userns=auto")
		return
	}
	r.set(Warn, "no range of 65536 subordinate IDs for \""+owner+"\": --userns=auto refuses to run (the default, --userns=host, is not affected)")
	r.Fix = []string{
		"echo " + owner + ":100000:1048576 >> " + e.Opts.SubUIDFile + "   (room for 16 containers; a range no user has)",
		"echo " + owner + ":100000:1048576 >> " + e.Opts.SubGIDFile,
	}
}

func checkSubUID(e *Env, r *Result) {
	r.Why = "A rootless container maps more than one user: root inside is the user itself, and the other IDs " +
		"come from the user's ranges in /etc/subuid and /etc/subgid, written into the namespace's uid_map by " +
		"the setuid helpers newuidmap/newgidmap." + subIDWhy
	if e.Host.User == "" {
		r.set(Skip, "running as root (not through sudo): only rootless mode needs the user's own subordinate IDs")
		return
	}
	if subIDs(e, r, e.Host.User, e.Host.UserUID) {
		r.set(OK, e.Host.User+" has at least 65536 subordinate UIDs and GIDs")
		return
	}
	r.set(Warn, e.Host.User+" lacks a range of 65536 subordinate IDs: rootless containers would map a single user")
	r.Fix = []string{"usermod --add-subuids 100000-165535 --add-subgids 100000-165535 " + e.Host.User + "   (pick a range no other user has)"}
}

func checkNewUIDMap(e *Env, r *Result) {
	r.Why = "Writing more than one line into another process's uid_map needs CAP_SETUID in the parent namespace. " +
		"newuidmap and newgidmap (package uidmap, from shadow) are setuid-root helpers that do it after checking " +
		"/etc/subuid and /etc/subgid."
	if e.Host.User == "" && !e.Rootless() {
		r.set(Skip, "running as root (not through sudo): root writes uid_map itself")
		return
	}
	bad := false
	for _, bin := range []string{"newuidmap", "newgidmap"} {
		p, err := e.Host.LookPath(bin)
		if err != nil {
			r.evidence("%s: not found in PATH", bin)
			bad = true
			continue
		}
		mode, uid, err := e.Host.StatOwner(p)
		if err != nil {
			r.evidence("stat %s: %v", p, err)
			bad = true
			continue
		}
		switch {
		case mode&os.ModeSetuid != 0 && uid == 0:
			r.evidence("%s: %s, setuid root", p, mode)
		default:
			if c, err := e.Host.Getxattr(p, "security.capability"); err == nil && len(c) > 0 {
				r.evidence("%s: %s, file capabilities (security.capability, %d bytes)", p, mode, len(c))
			} else {
				r.evidence("%s: %s, owner %d, neither setuid root nor file capabilities", p, mode, uid)
				bad = true
			}
		}
	}
	if bad {
		r.set(Warn, "rootless mode needs newuidmap and newgidmap, setuid root or with cap_setuid/cap_setgid")
		r.Fix = []string{"apt-get install uidmap   (dnf install shadow-utils)", "or: chmod u+s /usr/bin/newuidmap /usr/bin/newgidmap"}
		return
	}
	r.set(OK, "both installed and privileged")
}
