package namespaces

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// RootlessMappings are the ID maps of an ordinary user's container: uid
// and gid 0 inside are the user's own IDs outside. That one line each is
// the map an unprivileged process may write itself into its child's
// /proc/PID/uid_map (after "deny" in /proc/PID/setgroups for the gid
// map): a process may map only its own IDs without CAP_SETUID in the
// parent namespace (man 7 user_namespaces, "Defining user and group ID
// mappings"). Inside, root has every capability over what the namespace
// owns (its mount, network, UTS ... namespaces), and nothing over the
// host: the kernel checks the host's uid, the user's, outside.
//
// When /etc/subuid and /etc/subgid delegate a range to the user and the
// setuid helpers newuidmap and newgidmap are installed, IDs 1..N map to
// that range too (as rootless podman does), and full is true: only the
// helpers may write such maps (WriteMapsWithHelpers).
func RootlessMappings() (uids, gids []specs.LinuxIDMapping, full bool) {
	uid, gid := os.Geteuid(), os.Getegid()
	uids = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(uid), Size: 1}}
	gids = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(gid), Size: 1}}
	if _, err := exec.LookPath("newuidmap"); err != nil {
		return uids, gids, false
	}
	if _, err := exec.LookPath("newgidmap"); err != nil {
		return uids, gids, false
	}
	name := userName(uid)
	if name == "" {
		return uids, gids, false // newuidmap refuses a user /etc/passwd does not name
	}
	us, uc, okU := SubIDRange("/etc/subuid", name, uid)
	gs, gc, okG := SubIDRange("/etc/subgid", name, uid)
	if !okU || !okG {
		return uids, gids, false
	}
	uids = append(uids, specs.LinuxIDMapping{ContainerID: 1, HostID: us, Size: uc})
	gids = append(gids, specs.LinuxIDMapping{ContainerID: 1, HostID: gs, Size: gc})
	return uids, gids, true
}

// SubIDRange reads the first range file (/etc/subuid or /etc/subgid,
// man 5 subuid) delegates to the user, by name or by uid: lines
// "owner:start:count".
func SubIDRange(file, name string, uid int) (start, count uint32, ok bool) {
	f, err := os.Open(file)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(p) != 3 || (p[0] != name && p[0] != strconv.Itoa(uid)) || p[0] == "" {
			continue
		}
		s, err1 := strconv.ParseUint(p[1], 10, 32)
		c, err2 := strconv.ParseUint(p[2], 10, 32)
		if err1 == nil && err2 == nil && c > 0 {
			return uint32(s), uint32(c), true
		}
	}
	return 0, 0, false
}

// userName is uid's name in /etc/passwd ("" if none).
func userName(uid int) string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), ":")
		if len(p) > 2 && p[2] == strconv.Itoa(uid) {
			return p[0]
		}
	}
	return ""
}

// WriteMapsWithHelpers writes pid's uid and gid maps with newuidmap(1)
// and newgidmap(1): setuid-root programs that let a user map the ranges
// /etc/subuid and /etc/subgid delegate to it (and its own ID).
func WriteMapsWithHelpers(pid int, uids, gids []specs.LinuxIDMapping) error {
	for _, h := range []struct {
		tool string
		maps []specs.LinuxIDMapping
	}{{"newuidmap", uids}, {"newgidmap", gids}} {
		args := []string{strconv.Itoa(pid)}
		for _, m := range h.maps {
			args = append(args, strconv.FormatUint(uint64(m.ContainerID), 10), strconv.FormatUint(uint64(m.HostID), 10), strconv.FormatUint(uint64(m.Size), 10))
		}
		if out, err := exec.Command(h.tool, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %v: %s", h.tool, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}
