// Package doctor checks that this host has what a container runtime needs,
// and explains what is missing: `minirun doctor`.
//
// Most "my first container" failures are not bugs in the tutorial's code but
// facts about the host: pivot_root fails with EINVAL because systemd made
// "/" shared or because the machine never left its initramfs; the tutorial
// writes to memory.limit_in_bytes on a cgroup v2 host (or the other way
// round, or on WSL2's hybrid layout); a container has no internet because
// a firewall's FORWARD policy is DROP; unshare(CLONE_NEWUSER) says EPERM
// because Debian or Ubuntu restrict unprivileged user namespaces. Each check
// here looks at one such fact, says what it read (a file and its value, or
// a system call and its errno), why it matters and how to fix it, with the
// exact commands.
//
// Checks probe rather than guess where probing is harmless: namespaces are
// created by a child process that exits at once (clone(2) with CLONE_NEW*
// flags), a bridge, a veth pair and an nftables table are made in a network
// namespace of a thread that is then thrown away, and an overlay is mounted
// on the data root in a throwaway mount namespace. The host is never
// changed. Everything is read through Host, a struct of functions, so that
// tests can hand the checks another machine made of strings.
//
// See man 7 namespaces, man 2 pivot_root, man 7 cgroups, man 7
// user_namespaces, man 5 subuid, man 2 seccomp, man 8 nft, and
// docs/DOCTOR.md for every check with its fix.
package doctor
