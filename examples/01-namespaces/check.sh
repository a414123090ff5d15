#!/usr/bin/env bash
# Lab 01, check your work: what the kernel reports in new namespaces.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
need_busybox
NAME=lab01c-$$
host_uts=$(readlink /proc/self/ns/uts)
host_pid=$(readlink /proc/self/ns/pid)
host_name=$(hostname)

out=$(unshare --uts sh -c 'hostname lab01check; hostname; readlink /proc/self/ns/uts')
check_eq "unshare --uts: the hostname inside is the new one" "$(sed -n 1p <<<"$out")" lab01check
check_eq "unshare --uts: the host's hostname is unchanged" "$(hostname)" "$host_name"
check_no_match "unshare --uts: another uts namespace inode" "$(sed -n 2p <<<"$out")" "^${host_uts//[/\\[}\$"

out=$(unshare --pid --fork --mount-proc sh -c 'echo $$; ps -e --no-headers | wc -l')
check_eq "unshare --pid --fork: the shell is PID 1" "$(sed -n 1p <<<"$out")" 1
check_match "unshare --mount-proc: ps sees only the namespace's few processes" "$(sed -n 2p <<<"$out")" '^[1-3]$'

out=$(unshare --net ip -o link | awk -F': ' '{print $2}' | tr '\n' ' ')
check_eq "unshare --net: only lo" "$out" "lo "

out=$(minirun run --rm --network none --hostname box busybox sh -c 'echo $$; hostname; readlink /proc/self/ns/pid; ip -o link | wc -l')
check_eq "minirun: the command is PID 1" "$(sed -n 1p <<<"$out")" 1
check_eq "minirun: --hostname" "$(sed -n 2p <<<"$out")" box
check_match "minirun: a pid namespace of its own" "$(sed -n 3p <<<"$out")" '^pid:\[[0-9]+\]$'
check_no_match "minirun: not the host's pid namespace" "$(sed -n 3p <<<"$out")" "^${host_pid//[/\\[}\$"
check_eq "minirun --network none: one link (lo)" "$(sed -n 4p <<<"$out")" 1

cleanup "\"$MINIRUN\" rm -f $NAME"
minirun run -d --name "$NAME" --network none --hostname box busybox sleep 300 >/dev/null
pid=$(container_pid "$NAME")
check_eq "nsenter --uts into the container: its hostname" "$(nsenter --target "$pid" --uts hostname)" box
check_eq "minirun exec: runs in the same namespaces" "$(minirun exec "$NAME" readlink /proc/self/ns/uts)" "$(readlink "/proc/$pid/ns/uts")"
finish
