// Package probe reports what a process sees of its container, as a flat
// map of field → value: the lesson is that a "container" is nothing but
// what the kernel shows a process, and every part of it can be read from
// inside.
//
// It runs inside the container (`minirun probe`, the minirun binary itself,
// which is static and so runs in a rootfs without a C library) and reads:
//
//   - its own process: /proc/self/status (PIDs, user and group IDs, the
//     five capability sets, Seccomp, NoNewPrivs, umask), the ID maps of its
//     user namespace (user_namespaces(7)), oom_score_adj, the rlimits
//     (getrlimit(2)), its open file descriptors and its environment;
//   - its mounts: /proc/self/mountinfo (proc(5)): each mount point's
//     filesystem type, per-mount and per-superblock options and
//     propagation (mount_namespaces(7)); which of Docker's masked and
//     read-only paths are hidden or read-only, and how (statfs(2));
//   - its cgroup: /proc/self/cgroup and the limits its cgroup filesystem
//     shows (cgroups(7), v1 or v2);
//   - /dev: every node, its type, major:minor and mode (mknod(2));
//   - its network namespace: interfaces, addresses, routes
//     (/proc/net/route), resolv.conf, hosts, hostname, a few sysctls.
//
// Values that differ from one run to the next without meaning anything
// (device numbers, overlay layer paths, 64-hex container IDs, inode
// numbers of pipes) are normalised, so that two runtimes running the same
// bundle can be diffed field by field (Diff). `minirun compare` does that
// with runc, crun or Docker; docs/COMPARE.md tells how to read the result.
package probe
