// Package container is minirun's OCI runtime: it takes a bundle (a
// directory with config.json and a root filesystem) and runs it through the
// lifecycle the OCI runtime spec defines (runtime.md):
//
//	Create   the init process is started inside new namespaces, the root
//	         filesystem is built and pivoted into, and init stops at a
//	         barrier (the exec FIFO) before running the user's program.
//	Start    opens the FIFO: init passes the barrier, drops privileges and
//	         execve(2)s the program.
//	Signal   kill(2) to the init process.
//	Delete   removes what Create made, once the container has stopped.
//	Exec     starts one more process inside a running container, in all its
//	         namespaces and its cgroup (exec.go, with namespaces/nsenter).
//
// `minirun run` and the runc-compatible verbs go through exactly these
// functions; run just calls them in a row and waits in between.
//
// # Two processes
//
// The Go runtime starts several threads before main() runs, and some
// namespace operations (setns into a mount or user namespace, for one) need
// a single-threaded caller. minirun therefore does not fork-and-continue
// like a C runtime: it re-executes itself (/proc/self/exe init) with the
// CLONE_NEW* flags given to clone(2) by os/exec (SysProcAttr.Cloneflags), so
// the new process is born inside its namespaces. That child, "init", reads
// its instructions from a socket (fd 3; one frame of Go values, wire.go),
// sets up the container from the inside, and finally replaces itself with the user's program with
// execve(2), keeping PID 1. See docs/ARCHITECTURE.md for the whole path.
// The program init runs is minirun-init, this package linked alone, where
// it lies beside minirun with the same build stamp; else minirun itself
// (initbin.go).
//
// # State
//
// Each container has a directory <root>/<id> holding state.json (the OCI
// state plus the init's start time, so a recycled PID is never mistaken for
// the container) and, between create and start, the exec FIFO. state.json
// is replaced in one step (package atomicfile: written beside, then
// exchanged with renameat2(RENAME_EXCHANGE)), so a reader never sees half
// of one. A
// container's status is derived from the kernel, not trusted from the file:
// init gone means "stopped", whatever state.json says.
// See man 7 fifo, man 2 pidfd_open, man 5 proc (/proc/<pid>/stat),
// man 2 rename (RENAME_EXCHANGE).
package container
