# shellcheck shell=bash disable=SC2034 # (the variables set here are for the scripts)
# bench/lib.sh: what the benchmark scripts share, sourced right after
# `set -euo pipefail` with $here set to bench/: messages and checks of the
# environment, the cgroups below the script's own, the temp dir and the
# cleanup on exit, a private default network for minirun, the minirun build,
# the timers, the machine info and the statistics.
#
# A run's figures are one line each in $M/<name>: wall ns, user µs, sys µs,
# max RSS KiB, exit status (what bench/timeit.go prints).

# shellcheck disable=SC2154 # here: set by the script
repo=$(dirname "$here")
BENCH=${0##*/}       # startup.sh, network.sh, ...: for messages
MINIRUN=${MINIRUN:-} # env: the minirun binary to time (build_minirun)
DATA=''              # the script's minirun data root, if it has one
CG_MOUNTS=() CG_DIRS=() CG_NEW=()
BRIDGE='' TABLE='' IPF_BEFORE=''
TMP='' M='' LOGS='' LOOP=''
NOTES=()                       # for the report (notes_txt, notes_md)
ROWS_TXT=() ROWS_MD=()         # the report's table, terminal and Markdown
declare -A R_WMED=() R_CMED=() # wall and CPU medians by name (stats)

# ---------------------------------------------------------------- messages, checks
say() { printf '%s\n' "$*"; }
warn() { printf '%s: %s\n' "$BENCH" "$*" >&2; }
die() {
	warn "$*"
	exit 1
}

# need_whole VAR...: each VAR is a whole number.
need_whole() {
	local v
	for v; do
		[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
	done
}

# need_min VAR MIN: VAR (a whole number) is at least MIN.
need_min() { ((${!1} >= $2)) || die "$1 must be at least $2"; }

# need_root WHY: runs as root (for WHY) or dies.
need_root() { ((EUID == 0)) || die "needs root ($1): sudo bench/$BENCH"; }

# need_tools HINT TOOL...: every TOOL is in PATH, else "TOOL not found (HINT)"
# (an @ in HINT stands for TOOL; an empty HINT adds nothing).
need_tools() {
	local hint=$1 t
	shift
	for t; do
		command -v "$t" >/dev/null || die "$t not found${hint:+ (${hint//@/"$t"})}"
	done
}

# find_go: GO = go from PATH, else /usr/local/go/bin/go, else empty.
find_go() {
	GO=$(command -v go || true)
	[[ -n $GO || ! -x /usr/local/go/bin/go ]] || GO=/usr/local/go/bin/go
}

# ---------------------------------------------------------------- cgroups
# own_cgroup: OWN_CGROUP = this process's cgroup in the memory controller (v1
# or hybrid host) or the v2 hierarchy ("0::"): where runc and crun put a
# relative cgroupsPath, the same path in every hierarchy.
own_cgroup() {
	if [[ $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) == cgroup2fs ]]; then
		OWN_CGROUP=$(sed -n 's/^0:://p' /proc/self/cgroup)
	else
		OWN_CGROUP=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3; exit}' /proc/self/cgroup)
	fi
	[[ $OWN_CGROUP == /* ]] || die "cannot find this process's cgroup in /proc/self/cgroup"
}

# cgroups_below NAME [PATH...]: CG_MOUNTS = every mounted cgroup hierarchy
# (v1 controllers, name=systemd, v2); CG_DIRS = <hierarchy><PATH>/NAME for
# each of them and each PATH (default: every path this process has in
# /proc/self/cgroup; on a v1 or hybrid host they differ between hierarchies),
# once each: all the places a cgroup NAME of this run can be. At exit
# kill_cgroup_procs and rm_cgroups empty and remove them.
cgroups_below() {
	local name=$1 m p d
	local -a paths=("${@:2}")
	((${#paths[@]})) || mapfile -t paths < <(cut -d: -f3- /proc/self/cgroup | sort -u)
	mapfile -t CG_MOUNTS < <(awk '{for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup" || $(i+1) == "cgroup2") print $5; break }}' /proc/self/mountinfo)
	CG_DIRS=()
	for m in "${CG_MOUNTS[@]}"; do
		for p in "${paths[@]}"; do
			d=$m${p%/}/$name
			[[ " ${CG_DIRS[*]} " == *" $d "* ]] || CG_DIRS+=("$d")
		done
	done
}

# cg_missing PATH: CG_NEW = PATH and those of its ancestors that do not exist,
# in every hierarchy, deepest first per hierarchy. runc and crun use one
# cgroupsPath in every hierarchy, also in those where this process sits at
# "/", and create the missing ancestors there; rm_cgroups removes exactly
# those.
cg_missing() {
	local m p
	CG_NEW=()
	for m in "${CG_MOUNTS[@]}"; do
		p=$1
		while [[ -n $p && $p != / ]]; do
			[[ -d $m$p ]] || CG_NEW+=("$m$p")
			p=${p%/*}
		done
	done
}

# thaw_cgroups: thaws every frozen cgroup in CG_DIRS. runc and crun freeze a
# container's cgroup while they kill it; a runtime killed at that moment
# leaves it frozen.
thaw_cgroups() {
	local d f
	for d in "${CG_DIRS[@]}"; do
		[[ -d $d ]] || continue
		while read -r f; do
			case $f in
			*/freezer.state) grep -q THAWED "$f" || echo THAWED >"$f" ;;
			*/cgroup.freeze) grep -q 0 "$f" || echo 0 >"$f" ;;
			esac
		done < <(find "$d" \( -name freezer.state -o -name cgroup.freeze \) 2>/dev/null)
	done 2>/dev/null
	return 0
}

# cg_pids: the processes in CG_DIRS: started by this benchmark.
cg_pids() {
	local d
	for d in "${CG_DIRS[@]}"; do
		[[ -d $d ]] && find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
	done | sort -u
	return 0
}

# kill_cgroup_procs: processes still in CG_DIRS (their runtime, monitor or
# state is gone): thaw, kill -9 by PID, wait; up to 10 times.
kill_cgroup_procs() {
	local pids
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		pids=$(cg_pids)
		[[ -n $pids ]] || break
		thaw_cgroups
		# shellcheck disable=SC2086 # one PID a word
		kill -9 $pids 2>/dev/null
		sleep 0.2
	done
	return 0
}

# rm_cgroups: everything below CG_DIRS and they themselves, deepest first,
# then CG_NEW. rmdir only removes empty ones.
rm_cgroups() {
	local d
	for d in "${CG_DIRS[@]}"; do
		[[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	for d in "${CG_NEW[@]}"; do # deepest first per hierarchy
		[[ -d $d ]] && rmdir "$d" 2>/dev/null
	done
	return 0
}

# check_cgroups: warns about any of CG_DIRS and CG_NEW still there.
check_cgroups() {
	local d
	for d in "${CG_DIRS[@]}" "${CG_NEW[@]}"; do
		[[ ! -d $d ]] || left_behind "cgroup $d"
	done
}

# ---------------------------------------------------------------- temp dir, cleanup
# make_tmp NAME: TMP = a new mktemp -d /tmp/NAME.XXXXXX, with M (the
# measurements), LOGS and bin in it.
make_tmp() {
	TMP=$(mktemp -d "/tmp/$1.XXXXXX")
	M=$TMP/measure
	LOGS=$TMP/logs
	mkdir -p "$M" "$LOGS" "$TMP/bin"
}

# on_exit FUNC: FUNC cleans up, once, when the script ends: at its end, on
# an error (set -e) or die, on Ctrl-C (exit 130), TERM (143) or HUP (129). It
# runs with set +e and those signals ignored, gets the exit status as $1
# (which stays the script's) and LEFT=0; left_behind sets LEFT=1.
on_exit() {
	EXIT_FUNC=$1
	EXITED=
	trap run_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}
run_exit() {
	local rc=$?
	[[ -z $EXITED ]] || return 0
	EXITED=1
	set +e
	trap '' INT TERM HUP
	LEFT=0
	"$EXIT_FUNC" "$rc"
	return "$rc"
}

# left_behind WHAT: warns "LEFT BEHIND: WHAT", LEFT=1.
left_behind() {
	warn "LEFT BEHIND: $*"
	LEFT=1
}

# umount_below DIR: unmounts everything mounted below DIR (not DIR itself),
# deepest first.
umount_below() {
	local m
	awk -v t="$1/" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	return 0
}

# rm_tmp: unmounts everything below TMP (a scratch_fs last), detaches its
# loop device, removes TMP.
rm_tmp() {
	umount_below "$TMP"
	[[ -z $LOOP ]] || losetup -d "$LOOP" 2>/dev/null
	rm -rf --one-file-system "$TMP"
	return 0
}

# check_tmp [PATTERN...]: warns about mounts in TMP (or matching a PATTERN),
# a loop device on a file in TMP, and TMP itself.
check_tmp() {
	local -a e=(-e "$TMP")
	local p
	for p; do e+=(-e "$p"); done
	if grep -q "${e[@]}" /proc/self/mountinfo; then
		left_behind "mounts:"
		grep "${e[@]}" /proc/self/mountinfo >&2
	fi
	if losetup -a 2>/dev/null | grep -q "$TMP"; then
		left_behind "loop device: $(losetup -a | grep "$TMP")"
	fi
	[[ ! -e $TMP ]] || left_behind "$TMP"
}

# scratch_fs DIR SIZE: mounts at DIR a journaled ext4 made in a SIZE sparse
# file $TMP/scratch.img, on the loop device LOOP. rm_tmp removes it.
scratch_fs() {
	mkdir -p "$1"
	truncate -s "$2" "$TMP/scratch.img"
	mkfs.ext4 -q -F "$TMP/scratch.img" || die "mkfs.ext4 failed"
	LOOP=$(losetup -f --show "$TMP/scratch.img") || die "losetup failed"
	mount "$LOOP" "$1" || die "mount $LOOP failed"
}

# journal DEV: "on" if the ext3/4 on DEV has a journal, else "off".
journal() { if dumpe2fs -h "$1" 2>/dev/null | grep -q has_journal; then echo on; else echo off; fi; }

# ---------------------------------------------------------------- network
# private_network BRIDGE TABLE: minirun's default network goes on the bridge
# BRIDGE with the nftables table ip TABLE (MINIRUN_DEFAULT_BRIDGE,
# MINIRUN_NFT_TABLE), never the user's own. Both names are fixed: if they
# exist, another run of this script is going on (or one was killed with -9).
# Call it before on_exit, so that nothing found here is ever removed. Keeps
# net.ipv4.ip_forward, which minirun turns on, for rm_network to put back.
private_network() {
	BRIDGE=$1 TABLE=$2
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		die "$BRIDGE exists: is another bench/$BENCH running? If not, a killed run left it: ip link del $BRIDGE"
	fi
	if nft list table ip "$TABLE" >/dev/null 2>&1; then
		die "nftables table ip $TABLE exists: is another bench/$BENCH running? If not: nft delete table ip $TABLE"
	fi
	IPF_BEFORE=$(cat /proc/sys/net/ipv4/ip_forward)
	export MINIRUN_DEFAULT_BRIDGE=$BRIDGE MINIRUN_NFT_TABLE=$TABLE
}

# rm_network [ARG...]: after the containers: the veths still on BRIDGE (ours:
# their containers are gone, so there should be none), `minirun ARG...
# network rm bridge` if the data root DATA has networks, then BRIDGE and
# TABLE (they did not exist at the start); puts back net.ipv4.ip_forward.
# shellcheck disable=SC2120 # the args are optional
rm_network() {
	local l
	[[ -n $BRIDGE ]] || return 0
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		while read -r l; do
			[[ -n $l ]] && ip link del "$l" 2>/dev/null
		done < <(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print $2}')
	fi
	if [[ -n $MINIRUN && -e $DATA/networks ]]; then
		"$MINIRUN" "$@" network rm bridge >>"$LOGS/cleanup.log" 2>&1 || warn "minirun network rm bridge failed: $(tail -n 2 "$LOGS/cleanup.log" | tr '\n' ' ')"
	fi
	ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE"
	nft list table ip "$TABLE" >/dev/null 2>&1 && nft delete table ip "$TABLE"
	[[ $(cat /proc/sys/net/ipv4/ip_forward) == "$IPF_BEFORE" ]] || echo "$IPF_BEFORE" >/proc/sys/net/ipv4/ip_forward
	return 0
}

# check_network: warns about BRIDGE, TABLE and a changed ip_forward.
check_network() {
	[[ -n $BRIDGE ]] || return 0
	! ip link show "$BRIDGE" >/dev/null 2>&1 || left_behind "bridge $BRIDGE"
	! nft list table ip "$TABLE" >/dev/null 2>&1 || left_behind "nftables table ip $TABLE"
	[[ $(cat /proc/sys/net/ipv4/ip_forward) == "$IPF_BEFORE" ]] || { warn "LEFT CHANGED: net.ipv4.ip_forward (was $IPF_BEFORE)"; LEFT=1; }
}

# rm_containers: rm -f every container in the data root DATA (minirun's
# state and data roots come from the env); all in one command first, then
# one by one what is left.
rm_containers() {
	local d ids=()
	[[ -n $MINIRUN && -d $DATA/containers ]] || return 0
	for d in "$DATA"/containers/*/; do
		[[ -d $d ]] && ids+=("$(basename "$d")")
	done
	((${#ids[@]})) || return 0
	"$MINIRUN" rm -f "${ids[@]}" >>"$LOGS/cleanup.log" 2>&1 && return 0
	for d in "$DATA"/containers/*/; do
		[[ -d $d ]] && "$MINIRUN" rm -f "$(basename "$d")" >>"$LOGS/cleanup.log" 2>&1
	done
	return 0
}

# ---------------------------------------------------------------- binaries
# build_minirun: MINIRUN (env) is the binary to time; unset, the Makefile's
# static cgo build makes one into $TMP/bin/minirun.
build_minirun() {
	if [[ -n $MINIRUN ]]; then
		[[ -x $MINIRUN ]] || die "MINIRUN=$MINIRUN is not an executable"
		MINIRUN=$(realpath "$MINIRUN")
	else
		[[ -n $GO ]] || die "go not found (and MINIRUN not set): add /usr/local/go/bin to PATH"
		say "building minirun ..."
		make -s -C "$repo" build GO="$GO" MINIRUN_OUT="$TMP/bin/minirun" || die "make build failed (the Makefile's static cgo build)"
		MINIRUN=$TMP/bin/minirun
	fi
	uncache "$MINIRUN" "$(dirname "$MINIRUN")/minirun-init"
}

# uncache FILE...: writes each file back (sync) and drops it from the page
# cache (POSIX_FADV_DONTNEED, through GNU dd's iflag=nocache), so that every
# runtime binary a script times comes back into memory the same way: read
# by exec, in read-around windows. Why it matters: Linux 6.x keeps a file's
# cached pages in folios of up to 2 MiB, and a page fault on an executable
# maps the whole folio. A binary the Go linker has just written sits in large
# folios, one exec has read in 64-256 KiB ones; the same minirun binary had
# a peak RSS of 14.6 MiB the first way and 10.6 MiB the second (runc, read
# by exec long before, 9.9 MiB either way). Measured with bench/timeit.go;
# see docs/PERFORMANCE.md, "Method".
uncache() {
	local f
	for f in "$@"; do
		[[ -f $f ]] || continue
		sync "$f" 2>/dev/null || true
		dd if="$f" iflag=nocache count=0 status=none 2>/dev/null || warn "could not drop $f from the page cache (GNU dd iflag=nocache)"
	done
}

# import_busybox [ARG...]: imports scripts/busybox-rootfs.sh's tree into DATA
# as busybox:latest (CMD sh) with `minirun ARG... import`, output in
# $LOGS/import.log. Fails with IMPORT_ERR set if import fails.
# shellcheck disable=SC2120 # the args are optional
import_busybox() {
	say "importing the busybox image into $DATA ..."
	"$repo/scripts/busybox-rootfs.sh" | "$MINIRUN" "$@" import -c 'CMD ["sh"]' - busybox:latest >"$LOGS/import.log" 2>&1 && return 0
	IMPORT_ERR="import failed: $(cat "$LOGS/import.log")"
	[[ -s $LOGS/import.log ]] || IMPORT_ERR="import failed: (no output)"
	return 1
}

# build_timeit: builds bench/timeit.go into $TMP/bin/timeit, once (errors in
# $LOGS/timeit-build). Fails without Go or when the build fails.
build_timeit() {
	if [[ -z ${TIMEIT_BUILT:-} ]]; then
		TIMEIT_BUILT=0
		[[ -n $GO ]] && (cd "$repo" && CGO_ENABLED=0 "$GO" build -o "$TMP/bin/timeit" bench/timeit.go) 2>"$LOGS/timeit-build" && TIMEIT_BUILT=1
	fi
	((TIMEIT_BUILT))
}

# ---------------------------------------------------------------- timers
# timer_desc TIMER [rss]: what TIMER measures, for the report ("rss": the
# report has a max RSS column).
timer_desc() {
	case $1 in
	hyperfine) say "$(hyperfine --version | awk 'NR == 1'), one \`hyperfine -N --runs 1 --export-json\` per run: wall, user and sys of the command and its children" ;;
	timeit) if [[ ${2:-} == rss ]]; then
		say "bench/timeit.go: wall from fork to wait4 (monotonic), user+sys and max RSS from wait4's rusage (µs)"
	else
		say "bench/timeit.go: wall from fork to wait4 (monotonic), user and sys from wait4's rusage (µs)"
	fi ;;
	gnutime) say "/usr/bin/time -f '%U %S %M' (CPU in 10 ms steps!), wall from \$EPOCHREALTIME" ;;
	bashtime) say "bash time keyword (ms)${2:+, no max RSS}" ;;
	esac
}

# choose_timer [--rss] TIMER... [-- PATH...]: TIMER (env; default auto)
# becomes the first of the TIMERs, in that order, that works here, and
# TIMER_DESC says what it measures. hyperfine: installed, and the PATHs in
# the commands have no characters `hyperfine -N` would split at; timeit:
# Go builds bench/timeit.go; gnutime: /usr/bin/time (Debian package time);
# bashtime: bash's time keyword, the last resort. A hyperfine or timeit asked
# for that does not work is an error.
choose_timer() {
	local rss='' c chosen='' plain=1 p
	local -a choices=()
	[[ $1 != --rss ]] || { rss=rss; shift; }
	while (($#)) && [[ $1 != -- ]]; do
		choices+=("$1")
		shift
	done
	(($# == 0)) || shift
	for p; do [[ $p =~ ^[A-Za-z0-9/._+-]*$ ]] || plain=; done
	TIMER=${TIMER:-auto}
	if [[ " auto ${choices[*]} " != *" $TIMER "* ]]; then
		p="${choices[*]:0:${#choices[@]}-1}"
		die "TIMER must be ${p// /, } or ${choices[-1]}"
	fi
	for c in "${choices[@]}"; do
		[[ $TIMER == auto || $TIMER == "$c" ]] || continue
		case $c in
		hyperfine)
			if command -v hyperfine >/dev/null && [[ -n $plain ]]; then chosen=$c; break; fi
			[[ $TIMER == auto ]] || die "TIMER=hyperfine: hyperfine not found (Debian package hyperfine), or a path has characters hyperfine -N would split"
			;;
		timeit)
			if build_timeit; then chosen=$c; break; fi
			[[ $TIMER == auto ]] || die "TIMER=timeit: cannot build bench/timeit.go: $(cat "$LOGS/timeit-build" 2>/dev/null)"
			;;
		gnutime)
			if [[ -x /usr/bin/time ]]; then chosen=$c; break; fi
			;;
		bashtime)
			chosen=$c
			break
			;;
		esac
	done
	TIMER=${chosen:-bashtime}
	TIMER_DESC=$(timer_desc "$TIMER" ${rss:+"$rss"})
}

# measure NAME CMD...: runs CMD once (stdin /dev/null, output appended to
# $LOGS/NAME.log) with TIMER; appends "wall_ns user_us sys_us maxrss_kb exit"
# to $M/NAME (maxrss 0: not measured). Returns CMD's exit status. hyperfine
# gets CMD as one line: its words must be plain.
measure() {
	local name=$1 out=$M/$1 log=$LOGS/$1.log rc=0 t0 t1
	shift
	case $TIMER in
	hyperfine)
		rm -f "$TMP/hf.json"
		hyperfine -N --runs 1 --style none -i --output inherit --export-json "$TMP/hf.json" \
			"$*" </dev/null >>"$log" 2>&1 || rc=$?
		if ((rc == 0)) && [[ -s $TMP/hf.json ]]; then
			jq -r '.results[0] | "\(.times[0] * 1e9 | floor) \(.user * 1e6 | floor) \(.system * 1e6 | floor) 0 \(.exit_codes[0] // 255)"' "$TMP/hf.json" >>"$out"
			rc=$(tail -n 1 "$out" | awk '{print $5}')
		else
			echo "0 0 0 0 ${rc/#0/255}" >>"$out"
		fi
		;;
	timeit)
		"$TMP/bin/timeit" "$out" "$@" </dev/null >>"$log" 2>&1 || rc=$?
		;;
	gnutime)
		t0=${EPOCHREALTIME/./}
		/usr/bin/time -o "$TMP/t" -f '%U %S %M' "$@" </dev/null >>"$log" 2>&1 || rc=$?
		t1=${EPOCHREALTIME/./}
		awk -v w=$(((t1 - t0) * 1000)) -v rc=$rc '{printf "%d %d %d %d %d\n", w, $1 * 1e6, $2 * 1e6, $3, rc}' <<<"$(tail -n 1 "$TMP/t")" >>"$out"
		;;
	bashtime)
		local TIMEFORMAT='%3R %3U %3S'
		{ time "$@" </dev/null >>"$log" 2>&1 || rc=$?; } 2>"$TMP/t"
		awk -v rc=$rc '{printf "%d %d %d 0 %d\n", $1 * 1e9, $2 * 1e6, $3 * 1e6, rc}' "$TMP/t" >>"$out"
		;;
	esac
	return "$rc"
}

# ---------------------------------------------------------------- statistics
# median of the numbers on stdin ("nan" for none)
median() { sort -n | awk '{a[NR] = $1} END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# stats NAME: sets OK FAILS WMED WMIN WMAX CMED RMED (ms, ms, ms, ms, MiB)
# from the successful runs in $M/NAME; keeps WMED and CMED in R_WMED[NAME]
# and R_CMED[NAME].
stats() {
	local f=$M/$1
	OK=0 FAILS=0 WMED=nan WMIN=nan WMAX=nan CMED=nan RMED=nan
	if [[ -s $f ]]; then
		OK=$(awk '$5 == 0' "$f" | wc -l)
		FAILS=$(awk '$5 != 0' "$f" | wc -l)
	fi
	if ((OK > 0)); then
		WMED=$(awk '$5 == 0 {print $1 / 1e6}' "$f" | median)
		WMIN=$(awk '$5 == 0 {print $1 / 1e6}' "$f" | sort -n | awk 'NR == 1')
		WMAX=$(awk '$5 == 0 {print $1 / 1e6}' "$f" | sort -n | awk 'END {print}')
		CMED=$(awk '$5 == 0 {print ($2 + $3) / 1e3}' "$f" | median)
		RMED=$(awk '$5 == 0 {print $4 / 1024}' "$f" | median)
	fi
	R_WMED[$1]=$WMED
	R_CMED[$1]=$CMED
}

# is_active NAME: NAME is in ACTIVE (it was measured).
is_active() { [[ " ${ACTIVE[*]} " == *" $1 "* ]]; }

# count_runs NAME [EXPECTED]: after stats NAME, RUNS_TXT = the runs that
# exited 0, "OK (+FAILS failed)" if some did not; with EXPECTED (the timed
# runs), failures get a note with the end of NAME's log.
count_runs() {
	RUNS_TXT=$OK
	((FAILS)) || return 0
	RUNS_TXT="$OK (+$FAILS failed)"
	[[ -z ${2:-} ]] || NOTES+=("${LABEL[$1]}: $FAILS of $2 timed runs failed (left out); end of its log: $(tail -n 3 "$LOGS/$1.log" 2>/dev/null | tr '\n' ' ')")
}

# fmt X [DECIMALS]: a figure for the table ("n/a" for none); DECIMALS
# defaults to $FMT_DECIMALS, else 1.
fmt() { awk -v x="$1" -v d="${2:-${FMT_DECIMALS:-1}}" 'BEGIN { if (x == "nan" || x == "") print "n/a"; else printf "%.*f\n", d, x }'; }

# ratio A B: A/B with two decimals ("n/a" when either is missing or B is 0)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f\n", a / b }'; }

# ratios A B: "wall X, CPU Y", the ratios of the medians of NAMEs A and B.
ratios() { say "wall $(ratio "${R_WMED[$1]}" "${R_WMED[$2]}"), CPU $(ratio "${R_CMED[$1]}" "${R_CMED[$2]}")"; }

# ---------------------------------------------------------------- report
# machine_info: KERNEL, NPROC, CPU, MACHINE ("kernel K, N CPUs (model)"),
# CGMODE, COMMIT (+ whether the tree has uncommitted changes), DATE.
machine_info() {
	KERNEL=$(uname -r)
	NPROC=$(nproc)
	CPU=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
	MACHINE="kernel $KERNEL, $NPROC CPUs ($CPU)"
	if [[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]]; then CGMODE="v2"; elif [[ -d /sys/fs/cgroup/unified ]]; then CGMODE="hybrid (v1 + v2 at /sys/fs/cgroup/unified)"; else CGMODE="v1"; fi
	COMMIT=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
	[[ -z $(git -C "$repo" status --porcelain 2>/dev/null) ]] || COMMIT="$COMMIT (+ uncommitted changes)"
	DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
}

# version TOOL: the first line of `TOOL --version` (awk reads it all: no SIGPIPE)
version() { { "$1" --version 2>/dev/null || true; } | awk 'NR == 1'; }

# table_txt: the table for the terminal: HDR and UNITS (the column heads and
# their units, in the rows' format), then ROWS_TXT.
table_txt() {
	say "$HDR"
	say "$UNITS"
	printf '%s\n' "${ROWS_TXT[@]}"
}

# notes_txt, notes_md: NOTES as a list for the terminal or for Markdown
# (nothing without notes).
notes_txt() {
	((${#NOTES[@]})) || return 0
	say ""
	say "notes:"
	printf '  - %s\n' "${NOTES[@]}"
}
notes_md() {
	((${#NOTES[@]})) || return 0
	say ""
	say "Notes:"
	say ""
	printf -- '- %s\n' "${NOTES[@]}"
}

# write_result FILE FUNC: FUNC's output (Markdown) to bench/results/FILE.
write_result() {
	mkdir -p "$here/results"
	"$2" >"$here/results/$1"
	say "wrote $here/results/$1"
}
