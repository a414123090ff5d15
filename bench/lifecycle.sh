#!/usr/bin/env bash
# bench/lifecycle.sh: what many detached containers cost minirun: starting N of
# them, `ps` over them, the memory of their monitors, `exec` into one, and
# removing them all. Prints figures; it is a benchmark, not a test.
#
#   sudo bench/lifecycle.sh                     N=100 containers, RUNS=30 timed runs of ps/exec
#   sudo N=20 RUNS=10 bench/lifecycle.sh        quicker
#   sudo SCRATCH=1 bench/lifecycle.sh           data root on a loop-mounted, journaled ext4
#   sudo MINIRUN=/path/to/minirun bench/lifecycle.sh   use that binary, build nothing
#
# 1. Start: N containers `minirun run -d --network bridge --name lcb<pid>-<i>
#    busybox sleep 600`, one after another, on the default bridge network (or
#    NETWORK=none), each one timed, and the whole batch timed. Then
#    `minirun ps` and `minirun ps -a` with the N containers up (and, as a
#    baseline, with none), RUNS runs each, alternating, after WARMUP untimed
#    runs each.
# 2. Monitor memory: for every container, `minirun inspect` gives the PID of
#    its monitor (State.MonitorPid; checked to be a `minirun-monitor` of this
#    run's state root); Rss, Pss and Private_* (USS) come from
#    /proc/PID/smaps_rollup. Median, mean, and the sums.
# 3. Exec: `minirun exec <the first container> true` against
#    `runc exec <id> true` on a runc container (`runc run -d` of a busybox
#    bundle from `runc spec` running `sleep 600`), RUNS runs each, alternating,
#    after WARMUP untimed runs each. Skipped, with a note, if this minirun has
#    no `exec` yet; the runc row is skipped if runc is missing.
# 4. Removal: one `minirun rm -f` with all N names, timed.
#
# Timer: hyperfine (one `hyperfine -N --runs 1 --export-json` per run, so that
# commands can alternate), else bench/timeit.go (Go), else bash's time keyword;
# the N starts: bench/timeit.go (else bash's time keyword).
#
# The user's own minirun and network are never touched: a private state and
# data root (MINIRUN_ROOT, MINIRUN_DATA_ROOT) in one mktemp -d directory under
# /tmp, the default network on the bridge mrlcb0 with the nftables table
# minirun_lcbench (MINIRUN_DEFAULT_BRIDGE, MINIRUN_NFT_TABLE), removed at exit
# with `minirun network rm bridge`; net.ipv4.ip_forward is put back. Container
# cgroups go below the script's own (MINIRUN_CGROUP_PARENT=minirun-lcbench-<pid>,
# relative), runc's at <own cgroup>/minirun-lcbench-<pid>/runc-<id>.
#
# Env: N (containers, default 100), RUNS (timed runs per ps/exec command,
# default 30), WARMUP (untimed runs per command first, default 3), MINIRUN,
# TIMER (hyperfine, timeit or bashtime; default: the first that works),
# SCRATCH (1: the data root on a journaled ext4 in a sparse file on a loop
# device; default 0: the data root on the filesystem of /tmp), SCRATCH_SIZE
# (default 2G), NETWORK (bridge, the default, or none: the containers'
# network), MINIRUN_DEFAULT_SUBNET (passed on to minirun).
#
# Needs root, jq, ip, nft, tar, and (unless MINIRUN is set) make, Go and gcc
# for the Makefile's static cgo build of minirun (without cgo it has no
# `exec`); runc (Debian package runc) for the runc exec row; losetup and
# mkfs.ext4 with SCRATCH=1. Optional: hyperfine (Debian package hyperfine;
# without it Go builds the timer bench/timeit.go). Installs nothing.
# Everything it makes is removed on exit, interrupted or not.
set -euo pipefail

N=${N:-100}
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
SCRATCH=${SCRATCH:-0}
SCRATCH_SIZE=${SCRATCH_SIZE:-2G}
NETWORK=${NETWORK:-bridge}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# say warn die, checks, cgroups, cleanup, network, build, timers, statistics
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$here/lib.sh"

need_whole N RUNS WARMUP
need_min N 1
need_min RUNS 1
[[ $SCRATCH =~ ^[01]$ ]] || die "SCRATCH must be 0 or 1, not '$SCRATCH'"
[[ $SCRATCH_SIZE =~ ^[0-9]+[KMGT]?$ ]] || die "SCRATCH_SIZE must be a size like 2G, not '$SCRATCH_SIZE'"
[[ $NETWORK =~ ^(bridge|none)$ ]] || die "NETWORK must be bridge or none, not '$NETWORK'"
need_root "namespaces, mounts, veths, nftables, cgroups"
need_tools "Debian packages: jq, iproute2, nftables, tar, util-linux" jq ip nft tar awk sort findmnt
if ((SCRATCH)); then
	need_tools "needed for SCRATCH=1; Debian packages util-linux, e2fsprogs" losetup mkfs.ext4 truncate
fi
RUNC=$(command -v runc || true)
find_go

# The default network on a bridge and table of this script's own, checked to
# be free before the cleanup trap is set, so that nothing found is removed.
private_network mrlcb0 minirun_lcbench

# ---------------------------------------------------------------- cgroups
# minirun puts each container's cgroup at minirun-lcbench-<pid>/<id>, relative
# to its own cgroup in every hierarchy (on a v1 or hybrid host this process
# sits at different paths in different hierarchies). runc uses one path in
# every hierarchy: the memory controller's path of this process (on v2 the
# "0::" path) + /minirun-lcbench-<pid>/runc-<id>, as in startup.sh. CG_DIRS
# are all places a minirun-lcbench-<pid> dir can be; CG_NEW the ancestors of
# runc's path that did not exist (runc creates them in the hierarchies where
# this process sits at "/"), to remove exactly those at exit.
CGNAME=minirun-lcbench-$$
own_cgroup
RUNC_CGPATH=${OWN_CGROUP%/}/$CGNAME/runc-lcb$$
cgroups_below "$CGNAME" # (the memory or v2 path is one of this process's paths)
cg_missing "${OWN_CGROUP%/}"

# ---------------------------------------------------------------- temp dir, cleanup
make_tmp minirun-lcbench
B=$TMP/bundle
RUNC_ROOT=$TMP/runc
W=$TMP/scratch # the loop-mounted ext4 with SCRATCH=1
DATA=$TMP/data
((SCRATCH == 0)) || DATA=$W/data
mkdir -p "$TMP/run" "$B/rootfs" "$RUNC_ROOT"
export MINIRUN_ROOT=$TMP/run MINIRUN_DATA_ROOT=$DATA MINIRUN_CGROUP_PARENT=$CGNAME
RUNC_ID=lcb$$-runc
RUNC_STARTED=
WRAP=() # becomes startup.sh's unshare wrapper if runc needs it (below)
PREFIX=lcb$$- # container names: lcb<pid>-1 ... lcb<pid>-N

# our_monitors: PIDs of the minirun-monitor processes of this run: argv[0]
# minirun-monitor and argv[1] this run's state root (unique: the temp dir).
our_monitors() {
	local f pid
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		is_our_monitor "$pid" && echo "$pid"
	done
	return 0
}
# is_our_monitor PID
is_our_monitor() {
	local a0 a1
	{ IFS= read -r -d '' a0 && IFS= read -r -d '' a1; } 2>/dev/null <"/proc/$1/cmdline" || return 1
	[[ $a0 == minirun-monitor && $a1 == "$TMP/run" ]]
}

# rm_runc: delete --force the runc container, if there is one.
rm_runc() {
	[[ -n $RUNC && -d $RUNC_ROOT/$RUNC_ID ]] || return 0
	thaw_cgroups
	"${WRAP[@]}" "$RUNC" --root "$RUNC_ROOT" delete --force "$RUNC_ID" >>"$LOGS/cleanup.log" 2>&1
	return 0
}

cleanup() {
	local pids
	(($1 == 0)) || printf '\n'
	rm_runc
	rm_containers
	# Monitors that survived rm -f (killed minirun, interrupted start): by
	# PID; then rm -f again, which cleans up itself when the monitor is gone.
	pids=$(our_monitors)
	if [[ -n $pids ]]; then
		# shellcheck disable=SC2086 # one PID a word
		kill -9 $pids 2>/dev/null
		sleep 0.2
		rm_containers
	fi
	# Processes still in our cgroups (containers whose monitor was killed).
	kill_cgroup_procs
	rm_containers
	rm_runc
	# The network: veths left on the bridge, the network, bridge and table;
	# ip_forward.
	rm_network
	# Mounts below the temp dir (minirun mounts each rootfs in the host's
	# namespace and unmounts it on rm; with SCRATCH=1 the scratch fs last),
	# deepest first; then the loop device; the temp dir.
	rm_tmp
	# Cgroups: everything below minirun-lcbench-<pid>, deepest first, then the
	# ancestors of runc's path that did not exist.
	rm_cgroups
	# Check that nothing is left.
	check_tmp
	check_cgroups
	pids=$(our_monitors)
	[[ -z $pids ]] || left_behind "minirun-monitor processes $(echo "$pids" | tr '\n' ' ')"
	check_network
	((LEFT)) || say "cleanup: removed $TMP, containers, monitors, bridge $BRIDGE, table ip $TABLE, cgroups $CGNAME${LOOP:+, loop device $LOOP}; ip_forward back to $IPF_BEFORE; nothing left behind"
}
on_exit cleanup

# ---------------------------------------------------------------- scratch filesystem
# The root fs here is ext4 without a journal, where creating many files soon
# after deleting many is slower for a while. SCRATCH=1 puts the data root on a
# journaled ext4 on a sparse file instead.
((SCRATCH == 0)) || scratch_fs "$W" "$SCRATCH_SIZE"
mkdir -p "$DATA"
FS_SRC=$(findmnt -no SOURCE -T "$DATA" 2>/dev/null || echo '?')
FS_TYPE=$(findmnt -no FSTYPE -T "$DATA" 2>/dev/null || echo '?')
FS_JOURNAL=
if [[ $FS_TYPE == ext[34] && -b $FS_SRC ]] && command -v dumpe2fs >/dev/null; then
	FS_JOURNAL=" (journal: $(journal "$FS_SRC"))"
fi
if ((SCRATCH)); then
	FS_DESC="$FS_TYPE$FS_JOURNAL on $LOOP ($SCRATCH_SIZE sparse file in $TMP, SCRATCH=1)"
else
	FS_DESC="$FS_TYPE$FS_JOURNAL on $FS_SRC (that of /tmp; SCRATCH=1 puts it on a loop-mounted journaled ext4)"
fi

# ---------------------------------------------------------------- binaries
build_minirun

# The timer: hyperfine (one `hyperfine -N --runs 1` per run, so that commands
# can alternate; wall and user/sys from its JSON export), else bench/timeit.go
# (Go), else bash's time keyword. TIMER forces one. hyperfine -N splits the
# command line at spaces, so the paths in it must be plain. The N starts are
# timed by timeit (or bash's time keyword) in any case: starting hyperfine
# costs ~30 ms a run, which would inflate the batch's wall time.
build_timeit || true
choose_timer hyperfine timeit bashtime -- "$MINIRUN" "$RUNC" "$RUNC_ROOT"
if ((TIMEIT_BUILT)) && [[ $TIMER != bashtime ]]; then START_TIMER=timeit; else START_TIMER=bashtime; fi
START_TIMER_DESC=$(timer_desc "$START_TIMER")

# alternate RUNS WARMUP NAME1 CMD1 NAME2 CMD2: WARMUP untimed runs of each,
# then RUNS timed runs of each, alternating (1 2, 2 1, 1 2, ...). CMDs are
# plain words (split at spaces).
alternate() {
	local runs=$1 warmup=$2 n1=$3 c1=$4 n2=$5 c2=$6 i
	local -a a1 a2
	read -r -a a1 <<<"$c1"
	read -r -a a2 <<<"$c2"
	for ((i = 0; i < warmup; i++)); do
		"${a1[@]}" </dev/null >>"$LOGS/warmup.log" 2>&1 || true
		"${a2[@]}" </dev/null >>"$LOGS/warmup.log" 2>&1 || true
	done
	for ((i = 0; i < runs; i++)); do
		if ((i % 2 == 0)); then
			measure "$n1" "${a1[@]}" || true
			measure "$n2" "${a2[@]}" || true
		else
			measure "$n2" "${a2[@]}" || true
			measure "$n1" "${a1[@]}" || true
		fi
	done
}

import_busybox || die "$IMPORT_ERR"

declare -A LABEL=(
	[ps0]="minirun ps (0 containers)"
	[psa0]="minirun ps -a (0 containers)"
	[start]="minirun run -d --network $NETWORK busybox sleep 600"
	[ps]="minirun ps ($N containers)"
	[psa]="minirun ps -a ($N containers)"
	[mexec]="minirun exec ${PREFIX}1 true"
	[rexec]="runc exec $RUNC_ID true"
	[rm]="minirun rm -f <all $N>"
)

# ---------------------------------------------------------------- 1. start, ps
say "baseline: minirun ps / ps -a with no containers, $RUNS runs each after $WARMUP warm-up runs, timer $TIMER ..."
alternate "$RUNS" "$WARMUP" ps0 "$MINIRUN ps" psa0 "$MINIRUN ps -a"

FILES0=$(find "$DATA" "$TMP/run" -xdev 2>/dev/null | wc -l) || true
if [[ $NETWORK == bridge ]]; then NET_DESC="the default bridge network on $BRIDGE, nftables table ip $TABLE"; else NET_DESC="none (--network none: each container has only lo)"; fi
# Scaling: at a few points on the way (1, 10, 25, 50, 75 and N containers
# running) the memory charged to the containers' cgroups (their common
# parent, CGNAME), the monitors' PSS, and three timed `minirun ps`; the
# start times of each stretch come from the timed runs afterwards. Each
# checkpoint costs ~0.1 s, outside the timed runs (the batch wall time
# includes it). The host's free memory is no measure here: the kernel frees
# the namespaces of earlier runs in the background, and /proc/meminfo moved
# by more than the containers took.
CHECKPOINTS=()
for c in 1 10 25 50 75 "$N"; do
	((c <= N)) && [[ " ${CHECKPOINTS[*]} " != *" $c "* ]] && CHECKPOINTS+=("$c")
done
if [[ $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) == cgroup2fs ]]; then
	CG_MEM=/sys/fs/cgroup${OWN_CGROUP%/}/$CGNAME/memory.current
else
	CG_MEM=/sys/fs/cgroup/memory${OWN_CGROUP%/}/$CGNAME/memory.usage_in_bytes
fi
: >"$M/scale"
checkpoint() {
	local n=$1 cg pss=0 pid
	cg=$(cat "$CG_MEM" 2>/dev/null || echo nan)
	for pid in $(our_monitors); do
		pss=$((pss + $(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)))
	done
	for _ in 1 2 3; do measure "ps@$n" "$MINIRUN" ps || true; done
	echo "$n $cg $pss" >>"$M/scale"
}
say "starting $N detached containers, network $NETWORK, one after another (checkpoints at ${CHECKPOINTS[*]}) ..."
START_FAILS=0
B0=${EPOCHREALTIME/./}
for ((i = 1; i <= N; i++)); do
	if ! TIMER=$START_TIMER measure start "$MINIRUN" run -d --network "$NETWORK" --name "$PREFIX$i" busybox sleep 600; then
		START_FAILS=$((START_FAILS + 1))
		((i > 1)) || die "the first container failed to start: $(tail -n 5 "$LOGS/start.log")"
	fi
	if ((i == N || i % 20 == 0)); then say "  $i/$N"; fi
	[[ " ${CHECKPOINTS[*]} " != *" $i "* ]] || TIMER=$START_TIMER checkpoint "$i"
done
B1=${EPOCHREALTIME/./}
BATCH_S=$(awk -v a="$B0" -v b="$B1" 'BEGIN {printf "%.2f", (b - a) / 1e6}')
((START_FAILS == 0)) || NOTES+=("$START_FAILS of $N \`run -d\` failed; end of the log: $(tail -n 3 "$LOGS/start.log" | tr '\n' ' ')")
FILES1=$(find "$DATA" "$TMP/run" -xdev 2>/dev/null | wc -l) || true
UP=$("$MINIRUN" ps -q 2>>"$LOGS/ps.log" | wc -l) || true
((UP == N - START_FAILS)) || NOTES+=("\`minirun ps\` lists $UP containers after the start, not $((N - START_FAILS))")
say "$UP containers up after $BATCH_S s"

say "minirun ps / ps -a with $UP containers: $RUNS runs each after $WARMUP warm-up runs ..."
alternate "$RUNS" "$WARMUP" ps "$MINIRUN ps" psa "$MINIRUN ps -a"

# ---------------------------------------------------------------- 2. monitor memory
say "monitor memory: /proc/PID/smaps_rollup of each container's minirun-monitor ..."
names=()
for ((i = 1; i <= N; i++)); do names+=("$PREFIX$i"); done
"$MINIRUN" inspect "${names[@]}" 2>>"$LOGS/inspect.log" | jq -r '.[] | "\(.Name) \(.State.MonitorPid) \(.State.Pid)"' >"$M/monitors" || true
: >"$M/mem"
: >"$M/moncpu"
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
NOT_OURS=0
while read -r name mpid _; do
	if [[ ! $mpid =~ ^[1-9][0-9]*$ ]] || ! is_our_monitor "$mpid"; then
		NOT_OURS=$((NOT_OURS + 1))
		continue
	fi
	# Rss, Pss, Private_Clean + Private_Dirty (USS), Anonymous, in kB
	awk -v n="$name" '/^Rss:/ {r = $2} /^Pss:/ {p = $2} /^Private_(Clean|Dirty):/ {u += $2} /^Anonymous:/ {a = $2}
		END {if (r != "") print n, r, p, u, a}' \
		"/proc/$mpid/smaps_rollup" >>"$M/mem" 2>/dev/null || NOT_OURS=$((NOT_OURS + 1))
	# CPU time so far, utime + stime (fields 14, 15; comm has no spaces: checked above), ms
	awk -v n="$name" -v hz="$HZ" '{print n, ($14 + $15) * 1000 / hz}' "/proc/$mpid/stat" >>"$M/moncpu" 2>/dev/null || true
done <"$M/monitors"
MONS=$(wc -l <"$M/mem")
((NOT_OURS == 0)) || NOTES+=("$NOT_OURS containers had no live minirun-monitor of this run (inspect's MonitorPid)")
# mem_stat COLUMN: "median mean sum" in MiB
mem_stat() {
	local med
	med=$(awk -v c="$1" '{print $c / 1024}' "$M/mem" | median)
	awk -v c="$1" -v med="$med" '{s += $c} END { if (NR == 0) print "nan nan nan"; else print med, s / NR / 1024, s / 1024 }' "$M/mem"
}
read -r RSS_MED RSS_MEAN RSS_SUM < <(mem_stat 2)
read -r PSS_MED PSS_MEAN PSS_SUM < <(mem_stat 3)
read -r USS_MED USS_MEAN USS_SUM < <(mem_stat 4)
read -r ANON_MED ANON_MEAN ANON_SUM < <(mem_stat 5)
# mean CPU ms of the monitors of the first and of the last tenth of the
# containers (in start order), and of all
MON_TENTH=$(((N + 9) / 10))
# (inspect's Name is "/lcb<pid>-<i>")
MONCPU_FIRST=$(awk -v k="$MON_TENTH" '{i = $1; sub(/.*-/, "", i)} i + 0 <= k {s += $2; n++} END {print (n ? s / n : "nan")}' "$M/moncpu")
MONCPU_LAST=$(awk -v k="$MON_TENTH" -v total="$N" '{i = $1; sub(/.*-/, "", i)} i + 0 > total - k {s += $2; n++} END {print (n ? s / n : "nan")}' "$M/moncpu")
MONCPU_ALL=$(awk '{s += $2; n++} END {print (n ? s / n : "nan")}' "$M/moncpu")

# ---------------------------------------------------------------- 3. exec
EXEC_NOTE=
EXEC_NAMES=()
if "$MINIRUN" exec --help >/dev/null 2>&1; then
	out=$("$MINIRUN" exec "${PREFIX}1" true </dev/null 2>&1) && EXEC_NAMES+=(mexec) ||
		EXEC_NOTE="minirun exec: not measured: the check run failed: $(printf '%s' "$out" | head -c 300 | tr '\n' ' ')"
else
	EXEC_NOTE="minirun exec: not measured: this minirun has no \`exec\` command yet"
fi
[[ -z $EXEC_NOTE ]] || { warn "$EXEC_NOTE"; NOTES+=("$EXEC_NOTE"); }

if [[ -z $RUNC ]]; then
	NOTES+=("runc exec: not measured: runc not found (Debian package runc)")
else
	say "making the runc bundle (busybox rootfs, runc spec, sleep 600) in $B ..."
	"$repo/scripts/busybox-rootfs.sh" | tar -x -C "$B/rootfs"
	(cd "$B" && "$RUNC" spec)
	# As in startup.sh: no terminal, no ambient capabilities (runc spec lists
	# ambient caps without inheritable ones), no hooks, no seccomp, and the
	# cgroup below ours. Namespaces and mounts stay as runc spec makes them.
	jq --arg cg "$RUNC_CGPATH" '
	  .ociVersion = "1.0.2"
	| .process.terminal = false
	| .process.args = ["sleep", "600"]
	| del(.process.capabilities.ambient)
	| del(.hooks)
	| del(.linux.seccomp)
	| .linux.cgroupsPath = $cg
	' "$B/config.json" >"$B/config.json.new"
	mv "$B/config.json.new" "$B/config.json"
	# runc works on this hybrid layout as it is. If it does not (somewhere
	# else), it runs in startup.sh's wrapper, a mount namespace without the v2
	# hierarchy, and so do both exec commands, so that they pay alike.
	RUNC_STARTED=1
	if ! "$RUNC" --root "$RUNC_ROOT" run -d --bundle "$B" "$RUNC_ID" </dev/null >"$LOGS/runc-run.log" 2>&1; then
		rm_runc
		printf '#!/bin/sh\numount /sys/fs/cgroup/unified 2>/dev/null\nexec "$@"\n' >"$TMP/bin/nov2"
		chmod +x "$TMP/bin/nov2"
		WRAP=(unshare -m "$TMP/bin/nov2")
		"${WRAP[@]}" "$RUNC" --root "$RUNC_ROOT" run -d --bundle "$B" "$RUNC_ID" </dev/null >>"$LOGS/runc-run.log" 2>&1 || RUNC_STARTED=
		[[ -z $RUNC_STARTED ]] || NOTES+=("runc run -d failed as it is and ran in a mount namespace without /sys/fs/cgroup/unified (\`unshare -m\`); both exec commands ran the same way")
	fi
	if [[ -z $RUNC_STARTED ]]; then
		NOTES+=("runc exec: not measured: \`runc run -d\` failed: $(tail -n 3 "$LOGS/runc-run.log" | tr '\n' ' ')")
	elif out=$("${WRAP[@]}" "$RUNC" --root "$RUNC_ROOT" exec "$RUNC_ID" true </dev/null 2>&1); then
		EXEC_NAMES+=(rexec)
	else
		NOTES+=("runc exec: not measured: the check run failed: $(printf '%s' "$out" | head -c 300 | tr '\n' ' ')")
	fi
fi
MEXEC_CMD="${WRAP[*]:+${WRAP[*]} }$MINIRUN exec ${PREFIX}1 true"
REXEC_CMD="${WRAP[*]:+${WRAP[*]} }$RUNC --root $RUNC_ROOT exec $RUNC_ID true"
if ((${#EXEC_NAMES[@]} == 2)); then
	say "exec true: minirun and runc, $RUNS runs each, alternating, after $WARMUP warm-up runs each ..."
	alternate "$RUNS" "$WARMUP" mexec "$MEXEC_CMD" rexec "$REXEC_CMD"
elif ((${#EXEC_NAMES[@]} == 1)); then
	say "exec true: only ${LABEL[${EXEC_NAMES[0]}]}, $RUNS runs after $WARMUP warm-up runs ..."
	if [[ ${EXEC_NAMES[0]} == mexec ]]; then c=$MEXEC_CMD; else c=$REXEC_CMD; fi
	read -r -a a <<<"$c"
	for ((i = 0; i < WARMUP; i++)); do "${a[@]}" </dev/null >>"$LOGS/warmup.log" 2>&1 || true; done
	for ((i = 0; i < RUNS; i++)); do measure "${EXEC_NAMES[0]}" "${a[@]}" || true; done
fi
rm_runc

# ---------------------------------------------------------------- 4. removal
say "removing all $N containers with one minirun rm -f ..."
MON_PIDS=$(awk '{print $2}' "$M/monitors" 2>/dev/null | tr '\n' ' ')
measure rm "$MINIRUN" rm -f "${names[@]}" || NOTES+=("\`minirun rm -f\` of all $N exited non-zero: $(tail -n 3 "$LOGS/rm.log" | tr '\n' ' ')")
LEFT_PS=$("$MINIRUN" ps -a -q 2>>"$LOGS/ps.log" | wc -l) || true
((LEFT_PS == 0)) || NOTES+=("after \`rm -f\`, \`minirun ps -a\` still lists $LEFT_PS containers")
LEFT_MON=0
for pid in $MON_PIDS; do
	[[ $pid =~ ^[0-9]+$ ]] && is_our_monitor "$pid" && LEFT_MON=$((LEFT_MON + 1))
done
((LEFT_MON == 0)) || NOTES+=("after \`rm -f\` returned, $LEFT_MON monitors were still running")
LEFT_VETH=$(ip -o link show master "$BRIDGE" 2>/dev/null | wc -l) || true
((LEFT_VETH == 0)) || NOTES+=("after \`rm -f\` returned, $LEFT_VETH veths were still on $BRIDGE")
FILES2=$(find "$DATA" "$TMP/run" -xdev 2>/dev/null | wc -l) || true

# ---------------------------------------------------------------- statistics
row() { # row NAME EXPECTED_RUNS
	local name=$1 expected=$2
	stats "$name"
	((OK + FAILS > 0)) || return 0
	[[ $name != start ]] || expected= # (start's failures have a note of their own)
	count_runs "$name" "$expected"
	ROWS_TXT+=("$(printf '%-48s %5s  %8s  %15s  %8s' "${LABEL[$name]}" "$RUNS_TXT" "$(fmt "$WMED")" "$(fmt "$WMIN") - $(fmt "$WMAX")" "$(fmt "$CMED")")")
	ROWS_MD+=("| \`${LABEL[$name]}\` | $RUNS_TXT | $(fmt "$WMED") | $(fmt "$WMIN")–$(fmt "$WMAX") | $(fmt "$CMED") |")
}
row start "$N"
row ps0 "$RUNS"
row psa0 "$RUNS"
row ps "$RUNS"
row psa "$RUNS"
for name in mexec rexec; do row "$name" "$RUNS"; done
row rm 1

# Start: the batch, and the first and last tenth (does it slow down as the
# containers add up?).
TENTH=$(((N + 9) / 10))
START_FIRST=$(awk -v k="$TENTH" 'NR <= k && $5 == 0 {print $1 / 1e6}' "$M/start" | median)
START_LAST=$(awk '$5 == 0 {print $1 / 1e6}' "$M/start" | tail -n "$TENTH" | median)
START_SUM=$(awk '$5 == 0 {s += $1} END {printf "%.2f", s / 1e9}' "$M/start")
# The scaling table: one row per checkpoint; the starts of the stretch up
# to it (after the previous checkpoint), the rest as measured there.
SCALE_MD=()
SCALE_TXT=()
prev=0
while read -r n cg pss; do
	sw=$(awk -v a="$prev" -v b="$n" 'NR > a && NR <= b && $5 == 0 {print $1 / 1e6}' "$M/start" | median)
	sc=$(awk -v a="$prev" -v b="$n" 'NR > a && NR <= b && $5 == 0 {print ($2 + $3) / 1e3}' "$M/start" | median)
	pw=$(awk '$5 == 0 {print $1 / 1e6}' "$M/ps@$n" 2>/dev/null | median)
	cgm=$(awk -v b="$cg" 'BEGIN {if (b == "nan") print "n/a"; else printf "%.1f", b / 1048576}')
	cgper=$(awk -v b="$cg" -v n="$n" 'BEGIN {if (b == "nan") print "n/a"; else printf "%.2f", b / 1048576 / n}')
	pssm=$(awk -v k="$pss" 'BEGIN {printf "%.1f", k / 1024}')
	pssper=$(awk -v k="$pss" -v n="$n" 'BEGIN {printf "%.2f", k / 1024 / n}')
	stretch="$((prev + 1))–$n"
	((prev + 1 < n)) || stretch=$n
	SCALE_MD+=("| $n | $stretch | $(fmt "$sw") | $(fmt "$sc") | $(fmt "$pw") | $cgm | $cgper | $pssm | $pssper |")
	SCALE_TXT+=("$(printf '%10s  %9s  %11s  %9s  %8s  %10s  %9s  %10s  %9s' "$n" "$stretch" "$(fmt "$sw")" "$(fmt "$sc")" "$(fmt "$pw")" "$cgm" "$cgper" "$pssm" "$pssper")")
	prev=$n
done <"$M/scale"
RM_S=$(awk '$5 == 0 {printf "%.2f", $1 / 1e9}' "$M/rm")
RM_PER=$(awk -v n="$N" '$5 == 0 {printf "%.1f", $1 / 1e6 / n}' "$M/rm")
[[ -n $RM_S ]] || RM_S=n/a
[[ -n $RM_PER ]] || RM_PER=n/a
FILES_PER=$(awk -v a="$FILES0" -v b="$FILES1" -v n="$((N - START_FAILS))" 'BEGIN { if (n > 0) printf "%.0f", (b - a) / n; else print "n/a" }')
START_TXT=(
	"start: $((N - START_FAILS)) of $N containers up in $BATCH_S s (batch wall time, timer included; sum of the timed runs $START_SUM s)"
	"start, per container: median of the first $TENTH $(fmt "$START_FIRST") ms, of the last $TENTH $(fmt "$START_LAST") ms"
	"removal: one \`minirun rm -f\` of all $N: $RM_S s, $RM_PER ms per container"
	"files: $FILES_PER files and dirs per container in the data and state roots (\`find -xdev\`: $FILES0 before the start, $FILES1 with $UP containers, $FILES2 after rm -f)"
)
PS_TXT="ps with $UP containers: $(fmt "${R_WMED[ps]}") ms median (the issue's goal: under 50 ms; podman here: about 150 ms); with none $(fmt "${R_WMED[ps0]}") ms"
EXEC_TXT=
[[ ${R_WMED[mexec]} == nan || ${R_WMED[rexec]} == nan ]] || EXEC_TXT="exec true, minirun/runc: wall $(ratio "${R_WMED[mexec]}" "${R_WMED[rexec]}")"

MEM_HDR=$(printf '%-48s %9s  %9s  %9s' "minirun-monitor ($MONS processes)" median mean "sum")
MEM_UNITS=$(printf '%-48s %9s  %9s  %9s' "" MiB MiB MiB)
MEM_TXT=(
	"$(printf '%-48s %9s  %9s  %9s' RSS "$(fmt "$RSS_MED" 2)" "$(fmt "$RSS_MEAN" 2)" "$(fmt "$RSS_SUM" 1)")"
	"$(printf '%-48s %9s  %9s  %9s' PSS "$(fmt "$PSS_MED" 2)" "$(fmt "$PSS_MEAN" 2)" "$(fmt "$PSS_SUM" 1)")"
	"$(printf '%-48s %9s  %9s  %9s' "USS (Private_Clean + Private_Dirty)" "$(fmt "$USS_MED" 2)" "$(fmt "$USS_MEAN" 2)" "$(fmt "$USS_SUM" 1)")"
	"$(printf '%-48s %9s  %9s  %9s' "Anonymous (heap, stacks, Go runtime)" "$(fmt "$ANON_MED" 2)" "$(fmt "$ANON_MEAN" 2)" "$(fmt "$ANON_SUM" 1)")"
)
MEM_MD=(
	"| RSS | $(fmt "$RSS_MED" 2) | $(fmt "$RSS_MEAN" 2) | $(fmt "$RSS_SUM" 1) |"
	"| PSS | $(fmt "$PSS_MED" 2) | $(fmt "$PSS_MEAN" 2) | $(fmt "$PSS_SUM" 1) |"
	"| USS (Private_Clean + Private_Dirty) | $(fmt "$USS_MED" 2) | $(fmt "$USS_MEAN" 2) | $(fmt "$USS_SUM" 1) |"
	"| Anonymous (heap, stacks, Go runtime) | $(fmt "$ANON_MED" 2) | $(fmt "$ANON_MEAN" 2) | $(fmt "$ANON_SUM" 1) |"
)
MONCPU_TXT="monitor CPU time so far (utime + stime, /proc/PID/stat, steps of $((1000 / HZ)) ms), mean: $(fmt "$MONCPU_ALL") ms; those of the first $MON_TENTH containers $(fmt "$MONCPU_FIRST") ms, of the last $MON_TENTH $(fmt "$MONCPU_LAST") ms"

# ---------------------------------------------------------------- machine info
machine_info
VERS=$(version "$MINIRUN")
[[ -z $RUNC ]] || VERS="$VERS; $(version "$RUNC")"
MEMTOTAL=$(awk '/^MemTotal:/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)

HDR=$(printf '%-48s %5s  %8s  %15s  %8s' command runs "wall med" "wall min-max" "CPU med")
UNITS=$(printf '%-48s %5s  %8s  %15s  %8s' "" "" ms ms ms)
{
	say ""
	say "== lifecycle: $N detached busybox containers (network $NETWORK); ps, monitor memory, exec, rm -f =="
	say "network: $NET_DESC"
	say "machine: $MACHINE, $MEMTOTAL, cgroups $CGMODE"
	say "$VERS, commit $COMMIT"
	say "data root: $FS_DESC; file-heavy: each container is an overlay upper/work dir, a bundle, state and log files"
	say "timer: ps, exec, rm: $TIMER_DESC; the $N starts: $START_TIMER_DESC"
	say ""
	table_txt
	say ""
	printf '%s\n' "${START_TXT[@]}"
	say "$PS_TXT"
	[[ -z $EXEC_TXT ]] || say "$EXEC_TXT"
	say ""
	say "$MEM_HDR"
	say "$MEM_UNITS"
	printf '%s\n' "${MEM_TXT[@]}"
	say "$MONCPU_TXT"
	say ""
	say "scaling (at N containers running; start: median of the starts since the previous row; memory in MiB: the containers' cgroups, the monitors' PSS):"
	printf '%10s  %9s  %11s  %9s  %8s  %10s  %9s  %10s  %9s\n' running starts "start wall" "start CPU" "ps wall" cgroups "per ctr" "mon. PSS" "per ctr"
	printf '%s\n' "${SCALE_TXT[@]}"
	notes_txt
	say ""
}

report_md() {
	say "# Lifecycle: $N detached containers, ps, monitor memory, exec, rm -f"
	say ""
	say "$DATE. \`N=$N RUNS=$RUNS WARMUP=$WARMUP SCRATCH=$SCRATCH NETWORK=$NETWORK bench/lifecycle.sh\`."
	say ""
	say "- $MACHINE, $MEMTOTAL, cgroups $CGMODE"
	say "- $VERS; commit $COMMIT"
	say "- data root: $FS_DESC. This is file-heavy (per container an overlay upper and work dir, a bundle, state, hosts and log files; $FILES_PER files and dirs each). On this machine's root fs, ext4 without a journal, creating many files soon after deleting many is slower for a while."
	say "- network: $NET_DESC"
	say "- timer: ps, exec, rm: $TIMER_DESC; the $N starts: $START_TIMER_DESC"
	say ""
	say "## Times"
	say ""
	say "\`run -d\`: $N containers one after another (\`minirun run -d --network $NETWORK --name ${PREFIX}<i> busybox sleep 600\`). ps and exec: $RUNS runs"
	say "per command after $WARMUP untimed ones, the two commands of a pair alternating. \`rm -f\`: one command with all $N names."
	say ""
	say "| command | runs | wall median (ms) | wall min–max (ms) | CPU median, user+sys (ms) |"
	say "|---|---:|---:|---:|---:|"
	printf '%s\n' "${ROWS_MD[@]}"
	say ""
	printf -- '- %s\n' "${START_TXT[@]}" "$PS_TXT"
	say "- CPU of \`run -d\` is that of the command and what it waits for: not the monitor's, which sets up the container's network."
	[[ -z $EXEC_TXT ]] || say "- $EXEC_TXT"
	say ""
	say "## Monitor memory"
	say ""
	say "One \`minirun-monitor\` per container (PID from \`minirun inspect\`, State.MonitorPid), all $MONS alive at once;"
	say "from \`/proc/PID/smaps_rollup\`. PSS shares the pages the monitors have in common (the binary's text) among them."
	say ""
	say "| minirun-monitor | median (MiB) | mean (MiB) | sum (MiB) |"
	say "|---|---:|---:|---:|"
	printf '%s\n' "${MEM_MD[@]}"
	say ""
	say "- $MONCPU_TXT"
	say ""
	say "For comparison (the issue's figures, not measured here): conmon RSS ≈ 2.0 MB, PSS ≈ 0.35–0.5 MB; containerd's shim RSS ≈ 13 MB."
	say ""
	say "## Scaling: 1 to $N containers running"
	say ""
	say "Measured on the way up, right after the start of the Nth container. **start**: median wall and CPU of the \`run -d\`s since the"
	say "previous row (the stretch; CPU is the \`run -d\` command's, not its monitor's); **ps**: median of 3 \`minirun ps\`;"
	say "**cgroups**: the memory charged to the containers' cgroups (their common parent: the containers' processes, their page"
	say "cache and the kernel memory charged to them); **monitors**: the sum of the minirun-monitors' PSS. Not in either: the"
	say "network namespaces, veths and mounts, which the kernel charges to the process that made them."
	say ""
	say "| containers running | starts | start wall (ms) | start CPU (ms) | \`ps\` wall (ms) | cgroups (MiB) | per container (MiB) | monitors, PSS (MiB) | per container (MiB) |"
	say "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	printf '%s\n' "${SCALE_MD[@]}"
	notes_md
}
write_result lifecycle.md report_md
