// Package cgroups is about control groups: the kernel's way to count and
// limit what a group of processes uses — memory, CPU time, process count,
// block I/O — and which devices it may open (man 7 cgroups).
//
// A cgroup is a directory in a special filesystem; a process joins one by
// writing its PID to the directory's cgroup.procs, and every child it forks
// starts in the same cgroup. On v2 a process can also be born in a cgroup
// (clone3(2) with CLONE_INTO_CGROUP and the directory's descriptor: see
// CloneInto), which spares the move's cost: the kernel waits for an RCU
// grace period before a write to cgroup.procs. On v1 a thread that writes
// "0" to a tasks file moves itself without that wait (SelfJoinFiles and
// cgroups/cgjoin). Limits are files too: writing 67108864 to
// memory.max caps the group at 64 MiB, and the kernel's OOM killer acts
// inside the group when it is reached.
//
// # Two versions
//
// cgroup v1 (legacy) has one hierarchy per controller, each mounted on its
// own: /sys/fs/cgroup/memory, /sys/fs/cgroup/cpu, /sys/fs/cgroup/pids, ...
// A container's cgroup is one directory in each of them, and every
// controller has its own file names (memory.limit_in_bytes,
// cpu.cfs_quota_us). cgroup v2 (unified) is one tree mounted at
// /sys/fs/cgroup, with every controller in the same directory, uniform file
// names (memory.max, cpu.max, pids.max, io.max), controllers switched on for
// children through cgroup.subtree_control, cgroup.kill to kill a whole
// group, and cgroup.events/memory.events to learn what happened. "Hybrid"
// hosts (systemd's old default) mount v1 controllers and an empty v2 tree at
// /sys/fs/cgroup/unified. Mode tells which one a host has; Manager hides the
// difference behind one interface, with V1 and V2 implementations.
// See Documentation/admin-guide/cgroup-v2.rst and cgroup-v1/*.rst.
//
// # Devices
//
// See devices.go: a device-access allowlist, as devices.allow/devices.deny
// on v1 and as an eBPF program attached to the cgroup on v2.
//
// # The cgroup namespace
//
// A process in a cgroup namespace sees its own cgroup as the root "/" in
// /proc/self/cgroup and in a cgroup filesystem it mounts: the container
// learns nothing of the host's tree. The namespace takes its root from the
// cgroup the process is in when it unshares, which is why the container's
// init is moved into its cgroup first and unshares afterwards
// (man 7 cgroup_namespaces).
package cgroups
