package namespaces

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// RootlessMappings are the ID maps of an ordinary user's container: uid
// and gid 0 inside are the user's own IDs outside, one ID each. That is
// the map an unprivileged process may write itself into its child's
// /proc/PID/uid_map (after "deny" in /proc/PID/setgroups for the gid
// map): a process may map only its own IDs without CAP_SETUID in the
// parent namespace (man 7 user_namespaces, "Defining user and group ID
// mappings"). Inside, root has every capability over what the namespace
// owns (its mount, network, UTS ... namespaces), and nothing over the
// host: the kernel checks the host's uid, the user's, outside.
func RootlessMappings() (uids, gids []specs.LinuxIDMapping) {
	uids = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(os.Geteuid()), Size: 1}}
	gids = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(os.Getegid()), Size: 1}}
	return uids, gids
}
