#!/usr/bin/env bash
# Lab 05, check your work: an OOM kill counted in the cgroup, by hand and
# under minirun -m.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
# shellcheck source=cg.sh
. "$here/cg.sh"
need_busybox
NAME=lab05c-$$
memcg_of $$
OWN=$CG_DIR
echo "memory controller: cgroup v$CG_VER; own memory cgroup $OWN"

DIR=$OWN/lab05c-$$
cleanup "rmdir $DIR"
mkdir "$DIR"
if ((CG_VER == 1)); then
	echo 32M >"$DIR/memory.limit_in_bytes"
	echo 0 >"$DIR/memory.swappiness"
elif [[ -e $DIR/memory.max ]]; then
	echo 32M >"$DIR/memory.max"
	echo 0 >"$DIR/memory.swap.max" 2>/dev/null || true
else
	echo "SKIP by hand: memory is not delegated to $OWN's children (cgroup v2, see README)"
	rmdir "$DIR"
	DIR=''
fi
if [[ -n $DIR ]]; then
	rc=0
	bash -c "echo \$\$ > $DIR/cgroup.procs; head -c 100M /dev/zero | tail" 2>/dev/null || rc=$?
	check_eq "by hand: 100 MiB in a 32 MiB cgroup is OOM-killed (exit 137)" "$rc" 137
	n=$(oom_kills "$DIR")
check "by hand: the OOM kill is counted in the cgroup (oom_kill $n)" test "$n" -ge 1
	check "by hand: the empty cgroup can be removed" rmdir "$DIR"
fi

cleanup "\"$MINIRUN\" rm -f $NAME"
minirun run -d --name "$NAME" -m 32m --network none busybox sleep 300 >/dev/null
pid=$(container_pid "$NAME")
memcg_of "$pid"
case $MINIRUN_CGROUP_PARENT in
/*) check_match "the container's cgroup is below $MINIRUN_CGROUP_PARENT" "$CG_DIR" "$MINIRUN_CGROUP_PARENT/" ;;
*) check_match "the container's cgroup is below your own" "$CG_DIR" "^$OWN/$MINIRUN_CGROUP_PARENT/" ;;
esac
if ((CG_VER == 2)); then lim=$(cat "$CG_DIR/memory.max"); else lim=$(cat "$CG_DIR/memory.limit_in_bytes"); fi
check_eq "-m 32m: the limit in the container's cgroup" "$lim" 33554432
check_eq "the container sees its cgroup as / (cgroup namespace)" "$(minirun exec "$NAME" cat /proc/self/cgroup | cut -d: -f3 | sort -u)" /
check_eq "no OOM kill yet" "$(oom_kills "$CG_DIR")" 0
rc=0
minirun exec "$NAME" sh -c 'head -c 100m /dev/zero | tail' 2>/dev/null || rc=$?
check_eq "exec of 100 MiB: OOM-killed (exit 137)" "$rc" 137
n=$(oom_kills "$CG_DIR")
check "the kill is counted in the container's cgroup (oom_kill $n)" test "$n" -ge 1
check_eq "the container's PID 1 survived" "$(minirun inspect "$NAME" | jq -r '.[0].State.Status')" running
minirun rm -f "$NAME" >/dev/null
check "minirun rm removed the container's cgroup" test ! -e "$CG_DIR"
rc=0
out=$(minirun run --rm -m 32m --network none busybox tail /dev/zero 2>&1) || rc=$?
check_eq "OOM kill of PID 1: exit 137" "$rc" 137
check_match "minirun says OOMKilled" "$out" OOMKilled
finish
