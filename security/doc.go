// Package security holds the last steps before a container's process starts:
// who it runs as, which privileges it keeps, and which resource ceilings it
// inherits. Every call here acts on the calling thread right before execve(2),
// so the container init runs them on its locked OS thread.
//
// # Users and groups
//
// A process carries a real, effective and saved user ID and group ID, plus a
// list of supplementary groups. setgroups(2), setresgid(2) and setresuid(2)
// change them; the order matters (groups first, user last), because once the
// user ID is not 0 the process may no longer change its groups.
// See man 2 setresuid, man 2 setgroups, man 7 credentials.
//
// # Capabilities
//
// Root's power is split into about forty capabilities (CAP_CHOWN, CAP_NET_RAW,
// CAP_SYS_ADMIN, ...). Each thread has five sets: the bounding set (the most it
// can ever regain), permitted, effective (what the kernel checks right now),
// inheritable and ambient (what survives execve(2) for a non-root program).
// Docker keeps 14 of them by default (see DefaultCapabilities in package oci).
// The dance before exec is: drop from the bounding set with
// prctl(PR_CAPBSET_DROP), keep capabilities across the user switch with
// prctl(PR_SET_KEEPCAPS), switch user, then capset(2) the final sets and raise
// the ambient ones with prctl(PR_CAP_AMBIENT).
// See man 7 capabilities, man 2 capset, man 2 prctl.
//
// # no_new_privs
//
// prctl(PR_SET_NO_NEW_PRIVS, 1) promises that execve(2) will never grant more
// privilege than the caller has: setuid binaries and file capabilities stop
// working. It is inherited by every child and cannot be unset.
// See man 2 prctl, Documentation/userspace-api/no_new_privs.rst.
//
// # Resource limits
//
// setrlimit(2)/prlimit(2) set per-process ceilings such as the number of open
// files (RLIMIT_NOFILE) or processes (RLIMIT_NPROC). A soft limit may be raised
// up to the hard limit; raising a hard limit needs CAP_SYS_RESOURCE.
// See man 2 prlimit.
//
// The system call filter, seccomp, is the subpackage seccomp: it compiles
// and installs the linux.seccomp of a config.json (Docker's and podman's
// default profiles); `minirun run` gives Docker's default profile
// (github.com/moby/profiles/seccomp) unless --security-opt says otherwise.
package security
