#!/usr/bin/env bash
# Lab 05: control groups: a memory limit by hand, an OOM kill you can see in
# the cgroup's files, then the same with minirun -m. Works on cgroup v2 and
# on v1 (or hybrid) hosts, and says which one it found.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
# shellcheck source=cg.sh
. "$here/cg.sh"
need_busybox
NAME=lab05-$$

step "which cgroups are you in, and which version?"
say "/proc/self/cgroup has one line per hierarchy: ID:controllers:path." \
	"On cgroup v2 there is one line, 0::/path. On v1 each controller (memory," \
	"cpu, pids...) has a hierarchy of its own, mounted below /sys/fs/cgroup."
show cat /proc/self/cgroup
show stat -f -c 'filesystem of /sys/fs/cgroup: %T' /sys/fs/cgroup
memcg_of $$
OWN=$CG_DIR
say "The memory controller is on cgroup v$CG_VER here; your memory cgroup: $OWN"

step "a memory cgroup by hand, below your own"
say "A cgroup is a directory: mkdir creates it, the kernel fills it with" \
	"files. Writing a PID into cgroup.procs moves that process in; its children" \
	"are born there. We set a 32 MiB limit and no swap."
DIR=$OWN/lab05-$$
cleanup "rmdir $DIR"
show mkdir "$DIR"
if ((CG_VER == 2)); then
	if [[ -e $DIR/memory.max ]]; then
		show_sh "echo 32M > $DIR/memory.max; echo 0 > $DIR/memory.swap.max 2>/dev/null; cat $DIR/memory.max"
	else
		say "(no memory.max: memory is not enabled in $OWN/cgroup.subtree_control." \
			" On v2 a cgroup with processes cannot enable controllers for its" \
			" children - the 'no internal processes' rule - so this step needs a" \
			" shell in a cgroup that delegates memory, e.g. systemd-run --scope -p" \
			" Delegate=yes bash. minirun below does it in its own cgroup.)"
		DIR=''
	fi
else
	show_sh "echo 32M > $DIR/memory.limit_in_bytes; echo 0 > $DIR/memory.swappiness; cat $DIR/memory.limit_in_bytes"
fi
if [[ -n $DIR ]]; then
	say "Now a shell that moves itself in, then tail keeps 100 MiB of zeros in" \
		"memory (it waits for a newline that never comes). The kernel's OOM killer" \
		"picks a process of the cgroup and sends SIGKILL: exit 137."
	show bash -c "echo \$\$ > $DIR/cgroup.procs; head -c 100M /dev/zero | tail" || say "exit status $?"
	if ((CG_VER == 2)); then
		show cat "$DIR/memory.events"
		say "memory.events: 'max' counts the times usage hit memory.max, 'oom_kill'" \
			"the processes the OOM killer killed here. Poll it, or inotify it: the" \
			"kernel sends a modify event on each change."
	else
		show cat "$DIR/memory.oom_control" "$DIR/memory.failcnt" "$DIR/memory.max_usage_in_bytes"
		say "v1: memory.oom_control's oom_kill counts the kills (v2's memory.events" \
			"oom_kill), memory.failcnt the times usage hit the limit (v2's 'max')," \
			"max_usage_in_bytes the peak (v2's memory.peak)."
	fi
	say "The cgroup is empty again (its processes are dead): rmdir removes it."
	show rmdir "$DIR"
fi

step "minirun -m: the same limit, in the container's own cgroup"
say "minirun run -m 32m writes memory.max (v2) or memory.limit_in_bytes (v1) in" \
	"a cgroup it creates for the container, below MINIRUN_CGROUP_PARENT:" \
	"here '$MINIRUN_CGROUP_PARENT' (a relative path is relative to your own cgroup)."
cleanup "\"$MINIRUN\" rm -f $NAME"
show minirun run -d --name "$NAME" -m 32m --network none busybox sleep 300
PID=$(container_pid "$NAME")
memcg_of "$PID"
say "Its cgroup, from /proc/$PID/cgroup: $CG_DIR"
show minirun exec "$NAME" cat /proc/self/cgroup
say "Inside, the paths are '/': a cgroup namespace (CLONE_NEWCGROUP) roots" \
	"the view at the container's own cgroup."
if ((CG_VER == 2)); then show cat "$CG_DIR/memory.max"; else show cat "$CG_DIR/memory.limit_in_bytes"; fi
show minirun exec "$NAME" sh -c 'head -c 100m /dev/zero | tail' || say "exit status $?"
if ((CG_VER == 2)); then show cat "$CG_DIR/memory.events"; else show cat "$CG_DIR/memory.oom_control" "$CG_DIR/memory.failcnt"; fi
show minirun stats --no-stream "$NAME"
show minirun rm -f "$NAME"
say "minirun rm removed the cgroup too:"
show_sh "ls -d $CG_DIR 2>&1 || true"

step "when the OOM kill hits PID 1, the container ends"
show minirun run --rm -m 32m --network none busybox tail /dev/zero || say "exit status $?"
say "Docker and minirun report 137 (128 + SIGKILL) and 'OOMKilled'."
say "Done. Now run ./check.sh to check your work."
