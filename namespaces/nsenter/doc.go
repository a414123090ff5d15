// Package nsenter gets `minirun exec` into a running container's
// namespaces. It is the one piece of minirun written in C (nsenter.c), and
// it runs before the Go runtime does.
//
// # Why C, and why before main
//
// Entering an existing namespace is setns(2) on a descriptor of
// /proc/<pid>/ns/<type>. For most types the kernel changes only the
// calling thread, and a Go program can do that on a locked thread (the
// container's init joins network or UTS namespaces that way). Two types
// it refuses to a multi-threaded process:
//
//   - user: setns(CLONE_NEWUSER) fails with EINVAL, because the threads of
//     one process must share their user namespace (their credentials);
//   - mnt: setns(CLONE_NEWNS) fails with EINVAL when the caller shares its
//     filesystem information (root, working directory) with other threads,
//     which threads of one process always do.
//
// And a Go program is multi-threaded before main() runs: the runtime has
// started its garbage collector and system monitor threads by then. So
// the namespaces must be entered before the Go runtime starts. The C
// library offers exactly that moment: functions marked
// __attribute__((constructor)) run before main(), when the process has a
// single thread. Go calls its runtime from main(), so a constructor linked
// into the minirun binary runs before any of Go does. That is how runc
// does it (its nsexec), and this is the same idea, written small.
//
// # Who runs it
//
// The constructor is in every minirun process, but does nothing unless the
// environment variable _MINIRUN_NSENTER (Env) names a descriptor. Only
// container.Exec sets it, on the process it starts from /proc/self/exe. The
// conversation on that descriptor (a socket), step by step, is drawn at
// the top of nsenter.c:
//
//  1. read the request: the container init's PID, its start time, the
//     namespaces to join (Request);
//  2. open /proc/<pid>/ns/* of that init, all of them, before joining any:
//     after entering the mount namespace /proc is the container's, where
//     <pid> means something else;
//  3. wait for "go": meanwhile the parent writes this process into the
//     container's cgroup, which children inherit;
//  4. setns(2) into each namespace: the user namespace after those it does
//     not own and before those it owns, mnt last (nsenter.c explains why);
//  5. clone(2) once more, because joining a PID namespace moves only the
//     children of the caller. CLONE_PARENT makes the new process a child of
//     `minirun exec` itself, which can then wait for it;
//  6. the intermediate process reports the new PID and exits; the new
//     process returns from the constructor, and the Go runtime starts in
//     it, already inside every namespace. main() sees `exec-init` and runs
//     container.ExecInit: user, capabilities, rlimits, no_new_privs, a
//     terminal if asked, then execve(2) of the command.
//
// # Building
//
// cgo must be on (CGO_ENABLED=1, and a C compiler), and the Makefile links
// statically (-extldflags -static with the netgo and osusergo tags), since
// `run --init` puts this same binary into containers that have no C
// library. Built with CGO_ENABLED=0, the go tool leaves nsenter.c out:
// Enabled is false, and `exec` fails saying so; everything else works.
//
// See man 2 setns, man 2 clone, man 7 namespaces, man 7 pid_namespaces,
// man 7 user_namespaces, and gcc's documentation of the constructor
// attribute. The kernel side of "multi-threaded callers are refused" is in
// kernel/user_namespace.c (userns_install) and fs/namespace.c
// (mntns_install).
package nsenter
