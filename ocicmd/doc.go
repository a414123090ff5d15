// Package ocicmd is what the runc-compatible verbs do, as plain functions
// over package container: create, start, state, kill, delete and run of a
// bundle, the --log file engines read errors from, and how an error
// becomes a message and an exit code.
//
// Two programs call it. minirun's command line (cmd/minirun, cobra) for
// every verb; and, for the calls that container engines make hundreds of
// times (containerd's shim, podman, dockerd), minirun's fast path: a C
// constructor in minirun (cmd/minirun/frontdoor) hands such a command line
// to minirun-init, which is this package and package container linked
// without the rest of minirun, and starts in about half the time with
// half the memory (cmd/minirun-init/front.go). Anything that fast path does
// not know (help, a flag it does not parse, a container of `minirun run`)
// goes back to minirun itself, so both paths give the same answers.
//
// The verbs are those of runc's command line (runc(8): runc-create(8),
// runc-start(8), runc-state(8), runc-kill(8), runc-delete(8), runc-run(8))
// over the OCI runtime specification's lifecycle.
package ocicmd
