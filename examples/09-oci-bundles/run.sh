#!/usr/bin/env bash
# Lab 09: OCI bundles (rootfs + config.json) and the runtime's verbs,
# minirun next to runc: spec, create, state, start, kill, delete.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
need_tools jq
tmpdir
B=$TMP/bundle ID=lab09-$$ RID=lab09runc-$$
RUNC_ROOT=$TMP/runc-state
cd "$REPO"

step "a bundle: a root filesystem and a config.json"
say "The OCI runtime spec defines a bundle as a directory with config.json" \
	"and (usually) rootfs/. Engines (Docker, containerd, podman, CRI-O) unpack an" \
	"image into one and hand it to the runtime: runc, crun, minirun."
show mkdir -p "$B/rootfs"
show_sh "scripts/busybox-rootfs.sh | tar -x -C $B/rootfs"
show minirun spec --bundle "$B"
show_sh "jq '{ociVersion, process: .process | {terminal, args, user, cwd}, root, hostname, namespaces: [.linux.namespaces[].type], mounts: [.mounts[].destination]}' $B/config.json"

step "edit it as an engine would"
say "No terminal (we are a script), a command that lasts, and a cgroup path" \
	"relative to your own cgroup (runc and minirun both read a relative" \
	"cgroupsPath that way)."
show_sh "cd $B && jq '.process.terminal = false | .process.args = [\"sleep\", \"300\"] | .hostname = \"lab09\" | .linux.cgroupsPath = \"lab09-$$/c\"' config.json > c.json && mv c.json config.json"

step "create: everything but the user's process"
say "create sets up namespaces, mounts, cgroup, then its init process waits (on" \
	"a FIFO, exec.fifo in runc) before execve. This gap is where engines set up" \
	"networking and hooks run."
cleanup "rm_cgroups lab09-$$"
cleanup "\"$MINIRUN\" delete --force $ID"
show minirun create --bundle "$B" "$ID"
show_sh "minirun state $ID | jq '{id, status, pid, bundle}'"
PID=$(minirun state "$ID" | jq -r .pid)
show_sh "cat /proc/$PID/cmdline | tr '\\0' ' '; echo; readlink /proc/$PID/ns/pid /proc/self/ns/pid"
say "PID $PID is already in its own namespaces, but still minirun's init, not sleep."

step "start: execve the user's process"
show minirun start "$ID"
show_sh "minirun state $ID | jq -r .status; cat /proc/$PID/cmdline | tr '\\0' ' '; echo"
show minirun kill "$ID" KILL
sleep 0.3
show_sh "minirun state $ID | jq -r .status"
show minirun delete "$ID"
show minirun list

step "the same bundle, the same verbs, under runc"
if command -v runc >/dev/null; then
	cleanup "runc --root $RUNC_ROOT delete --force $RID"
	show runc --root "$RUNC_ROOT" create --bundle "$B" "$RID"
	show_sh "runc --root $RUNC_ROOT state $RID | jq '{id, status, pid}'"
	show runc --root "$RUNC_ROOT" start "$RID"
	show_sh "runc --root $RUNC_ROOT state $RID | jq -r .status"
	show runc --root "$RUNC_ROOT" kill "$RID" KILL
	sleep 0.3
	show runc --root "$RUNC_ROOT" delete "$RID"
else
	say "(runc is not installed: apt-get install runc to compare.)"
fi

step "run: create + start + wait, the process's view under both runtimes"
show_sh "cd $B && jq '.process.args = [\"sh\", \"-c\", \"hostname; echo pid \$\$; grep -E \\\"^(CapEff|Seccomp):\\\" /proc/self/status\"]' config.json > c.json && mv c.json config.json"
show minirun run --bundle "$B" "$ID"
if command -v runc >/dev/null; then show runc --root "$RUNC_ROOT" run --bundle "$B" "$RID"; fi
say "Same config.json, same answers: what the container gets is in config.json," \
	"the runtime only carries it out."
say "Done. Now run ./check.sh to check your work."
