// Package monitor is the per-container monitor of `minirun run -d`, in C:
// the process that stays with a detached container for its whole life, as
// conmon does for podman's containers.
//
// What a monitor is for: a detached container's init needs a parent that
// waits for it. Only a parent learns how a process ended (wait4(2)): its
// exit code, or the signal that killed it. `minirun run -d` must return at
// once, so the parent cannot be it; the monitor, a small process in a
// session of its own (setsid(2): closing the terminal does not reach it),
// takes that place. It also holds the other end of the container's stdout
// and stderr — pipes, or the pty master for `-t` — and writes every line
// into the container's log in Docker's json-file format (rotated by size),
// which `minirun logs` reads.
//
// How init becomes its child: the monitor marks itself a child subreaper
// (prctl(2) PR_SET_CHILD_SUBREAPER), then starts `minirun-launch` (Go),
// which creates and starts the container and exits. An orphan is adopted by
// its nearest subreaper ancestor instead of PID 1: init is now the
// monitor's child. SIGCHLD arrives as a readable descriptor (signalfd(2)),
// polled next to the output streams (poll(2)).
//
// Why C: every detached container keeps its monitor, so its memory counts
// N times. A Go process costs ~16 MiB RSS (~4 MiB PSS) idle; this one, run
// from the same static binary as a constructor that takes the process over
// before the Go runtime starts (see namespaces/nsenter for the same trick),
// costs what conmon costs. The decisions that need minirun's state — the
// exit record, the restart policy, the cleanup — stay in Go, in
// `minirun-monitor-exit`, run once per exit (engine/monitor.go).
//
// Man pages: prctl(2), wait4(2), signalfd(2), poll(2), pipe(2), unix(7)
// (SCM_RIGHTS), pty(7), setsid(2).
package monitor
