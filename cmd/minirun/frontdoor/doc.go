// Package frontdoor hands the runc verbs container engines call most to
// minirun's fast path before minirun's own Go runtime starts.
//
// containerd's shim, podman and dockerd run their OCI runtime once for
// every create, start, state, kill and delete: hundreds of times a minute
// on a busy host. Every minirun process first starts a Go runtime and runs
// the package initialisers of everything minirun links (the command line,
// images, the registry client with TLS, bridges and nftables): about
// 3.4 ms of CPU and 10 MiB here before the verb does anything. Those verbs
// need none of it. minirun-init, built beside minirun (cmd/minirun-init),
// is package container with the verbs (package ocicmd) and nothing else:
// about 2 ms and 4 MiB.
//
// A constructor (frontdoor.c) runs in a C program before main(), and so in
// a Go program with cgo before the Go runtime starts (gcc's
// __attribute__((constructor)), an entry in the ELF .init_array). This one
// reads the command line, and for one of those verbs executes minirun-init
// with the same arguments (execve(2)): minirun's Go runtime never starts.
// minirun-init parses the command line as minirun does and runs the verb
// with the same functions; anything it does not know it hands back, and
// minirun runs it. Both binaries carry the same build stamp (a hash of the
// sources, set by the Makefile), and minirun-init hands back when the
// stamps differ, so a minirun-init from another build never answers for
// minirun. minirun-init is also started with GOMAXPROCS=1 (unless the user
// set one): a Go runtime allowed two processors starts threads for them it
// never needs in a command this short, ~0.2 ms of CPU measured per command;
// minirun-init drops the variable before it starts anything. And it is
// pinned to the CPU it runs on, its former set of CPUs left in
// _MINIRUN_CPUS for what it starts (package affinity says why and how),
// and the caller's timer slack is left in _MINIRUN_SLACK, for
// minirun-init's own constructor to raise its slack and for what it starts
// to get the caller's back (package timerslack).
//
// Man pages: execve(2), proc(5), sched_setaffinity(2), prctl(2); gcc's
// documentation of the constructor attribute.
package frontdoor
