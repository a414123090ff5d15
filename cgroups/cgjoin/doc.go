// Package cgjoin lets a container's init move itself into its cgroup on
// cgroup v1, in C, before the Go runtime starts.
//
// Why: moving a process into a cgroup means writing its PID to the
// cgroup's cgroup.procs (cgroups(7)). The kernel then takes a global lock,
// cgroup_threadgroup_rwsem, for writing, so that no thread of the process
// forks or exits half-way; taking that lock for writing first waits for an
// RCU grace period — 5 to 20 ms measured on this project's machine, most of
// a container's start, spent asleep. There is one migration for which the
// kernel skips the lock: a thread moving itself, by writing "0" to a v1
// cgroup's tasks file (it cannot exit or exec while it writes). Measured:
// 0.03 ms instead of 5-10.
//
// A Go program has several threads from its first instruction on, so the
// move is done by a constructor (cgjoin.c), which the C library runs before
// main() and so before the Go runtime exists, while init is still one
// thread. The runtime opens the tasks files (as root: cgroup v1 checks the
// credentials of whoever opened the file) and passes their descriptors in
// _MINIRUN_CGROUP_JOIN; init reports a failure (Err) once its Go code runs.
//
// cgroup v2 needs none of this: init is born in its cgroup with clone3's
// CLONE_INTO_CGROUP (cgroups.CloneInto). In a binary built without cgo
// there is no constructor (Enabled is false), and the runtime moves init
// itself, lock and grace period included.
//
// Import it for its side effect, as cmd/minirun does:
//
//	import _ "github.com/minirun/minirun/cgroups/cgjoin"
package cgjoin
