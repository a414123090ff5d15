#!/usr/bin/env bash
# Lab 01: namespaces by hand with unshare(1), then the same with minirun.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
need_busybox
need_tools unshare nsenter ip
NAME=lab01-$$

step "which namespaces is your shell in?"
say "Every process points at one namespace of each type. /proc/PID/ns/* are" \
	"magic links; the number in brackets is the namespace's inode: same number," \
	"same namespace."
show ls -l /proc/self/ns/
show readlink /proc/self/ns/uts /proc/self/ns/pid /proc/self/ns/net

step "a new UTS namespace: a hostname of your own"
say "unshare(1) calls unshare(2) and then runs the command. CLONE_NEWUTS gives" \
	"the child a copy of the hostname that it may change alone."
show unshare --uts sh -c 'hostname lab01; echo "inside: $(hostname)"; readlink /proc/self/ns/uts'
show hostname
say "The host's hostname did not change, and the uts inode inside was different."

step "a new PID namespace: the shell becomes PID 1"
say "CLONE_NEWPID takes effect for the *children* of the caller (--fork)." \
	"--mount-proc also makes a mount namespace and mounts a fresh /proc there," \
	"otherwise ps would read the host's /proc and still see every process."
show unshare --pid --fork --mount-proc sh -c 'echo "my PID: $$"; ps -e'

step "a new network namespace: only a loopback, and it is down"
show unshare --net ip -br link
say "No eth0, no routes: the namespace has its own devices, addresses," \
	"routes, nftables and sockets. Lab 06 wires it to the host."

step "all of them at once: this is most of a container already"
show unshare --uts --pid --net --mount --ipc --fork --mount-proc \
	sh -c 'hostname box; echo "hostname=$(hostname) pid=$$"; ps -e; ip -br link'

step "the same with minirun"
say "minirun run makes the same namespaces (plus cgroup, and a new root" \
	"filesystem, labs 03-05) with clone(2) flags, then execs your command." \
	"--network none: an empty network namespace, as unshare --net above."
show minirun run --rm --network none --hostname box busybox \
	sh -c 'echo "hostname=$(hostname) pid=$$"; ps; ip link; readlink /proc/self/ns/pid'
show readlink /proc/self/ns/pid

step "enter a running container's namespaces with nsenter"
say "setns(2) joins an existing namespace given a file in /proc/PID/ns." \
	"That is how 'minirun exec' (and docker exec) get in."
cleanup "\"$MINIRUN\" rm -f $NAME"
show minirun run -d --name "$NAME" --network none --hostname box busybox sleep 300
PID=$(container_pid "$NAME")
say "The container's first process is PID $PID on the host (and PID 1 inside)."
show nsenter --target "$PID" --uts hostname
show minirun exec "$NAME" hostname
show minirun rm -f "$NAME"
say "Done. Now run ./check.sh to check your work."
