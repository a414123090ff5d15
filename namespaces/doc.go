// Package namespaces is about the kernel feature that makes a container look
// like a machine of its own: a namespace wraps one kind of global resource so
// that the processes inside see their own copy of it.
//
//	pid     process IDs: the first process inside is PID 1       (man 7 pid_namespaces)
//	mnt     the mount table: mounts inside are not seen outside   (man 7 mount_namespaces)
//	uts     hostname and NIS domain name                          (man 7 uts_namespaces)
//	ipc     System V IPC objects and POSIX message queues         (man 7 ipc_namespaces)
//	net     interfaces, addresses, routes, firewall, ports        (man 7 network_namespaces)
//	cgroup  which part of the cgroup tree looks like the root     (man 7 cgroup_namespaces)
//	user    user and group IDs, and so which capabilities count   (man 7 user_namespaces)
//	time    the offsets of CLOCK_MONOTONIC and CLOCK_BOOTTIME      (man 7 time_namespaces)
//
// There are three ways into a namespace (man 7 namespaces):
//
//   - clone(2) with CLONE_NEW* flags creates the new namespaces and a child
//     inside them in one step. minirun starts the container's init this way,
//     through Go's os/exec and syscall.SysProcAttr.Cloneflags.
//   - unshare(2) moves the calling thread into new namespaces.
//   - setns(2) joins an existing namespace through a file descriptor of
//     /proc/<pid>/ns/<type>; that is how `exec` enters a running container.
//
// Each namespace has an inode number: two processes share a namespace exactly
// when readlink /proc/<pid>/ns/<type> prints the same "type:[inode]". The
// tests compare those to prove what the container got.
//
// A user namespace maps IDs: /proc/<pid>/uid_map line "0 100000 65536"
// says IDs 0-65535 inside are 100000-165535 outside. Root inside has every
// capability, but only over what its namespace owns (the namespaces created
// with it, files whose owners it maps); to the host it is uid 100000. The
// maps are written once, by a process with the right to (root, or the
// setuid newuidmap(1)/newgidmap(1) for the ranges /etc/subuid and
// /etc/subgid delegate, man 5 subuid). UserNamespace makes one just to
// hand its descriptor to mount_setattr(2) for idmapped mounts.
// See man 7 user_namespaces.
//
// A PID namespace's PID 1 is special: the kernel does not deliver signals
// that PID 1 has no handler for, orphans are re-parented to it and it must
// reap them, and when it exits every other process of the namespace is
// killed. Reaper, in reaper.go, is a tiny PID 1 that forwards signals and
// reaps zombies (what `docker run --init` gives you).
//
// The user namespace is the one an ordinary user may create (rootless
// mode, userns.go). Its ID maps say which host IDs the namespace's IDs
// are: "0 4000 1" in /proc/<pid>/uid_map makes uid 0 inside uid 4000
// outside. The first process of a new user namespace has every capability
// in it, over the namespaces it owns (the mount, network, UTS ... ones
// created with it) and over nothing else: the host checks the host uid,
// 4000. Who may write the maps: a process may map only its own uid and
// gid (one line each) without privileges, and for the gid map only after
// writing "deny" to /proc/<pid>/setgroups, so that nobody can drop a
// group that denies them access (man 7 user_namespaces, "Defining user and
// group ID mappings"). More IDs (the ranges /etc/subuid and /etc/subgid
// delegate to a user) are written by the setuid helpers newuidmap(1) and
// newgidmap(1), which check those files.
package namespaces
