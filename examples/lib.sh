# shellcheck shell=bash disable=SC2034,SC2013 # (variables for the labs; paths without spaces)
# examples/lib.sh: what the labs share. Each lab's run.sh and check.sh start
# with
#
#	set -euo pipefail
#	here=$(cd "$(dirname "$0")" && pwd)
#	. "$here/../lib.sh"
#
# and get: the minirun binary ($MINIRUN, default: minirun from PATH, called
# through the shell function `minirun`), messages (step, say, show), checks
# (check, check_eq, check_match, finish) and a cleanup that always runs
# (cleanup CMD...: run at exit, last registered first, even on failure or
# Ctrl-C).
#
# The environment minirun itself reads is passed through untouched:
# MINIRUN_ROOT, MINIRUN_DATA_ROOT (state and images), MINIRUN_DEFAULT_BRIDGE,
# MINIRUN_NFT_TABLE, MINIRUN_DEFAULT_SUBNET (the default network). One is
# given a default: MINIRUN_CGROUP_PARENT=minirun-labs, a cgroup *relative* to
# the one you run the lab from, so that the labs' containers land below your
# own cgroup (and your shell's cgroup limits apply to them too); see below
# for the exception.

LAB=$(basename "${here:?set here before sourcing lib.sh}")
EXAMPLES=$(cd "$here/.." && pwd)
REPO=$(cd "$EXAMPLES/.." && pwd)
# On a pure cgroup-v2 host whose shell sits in a cgroup that does not delegate
# the memory controller to its children (a systemd session scope: it has
# processes, and v2's "no internal processes" rule forbids enabling
# controllers there), a parent below it could not take limits: minirun's
# default parent, /minirun, is kept then.
if [[ -z ${MINIRUN_CGROUP_PARENT:-} ]]; then
	_own2=$(sed -n 's/^0:://p' /proc/self/cgroup)
	if [[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs && $_own2 != / ]] &&
		! grep -qw memory "/sys/fs/cgroup$_own2/cgroup.subtree_control" 2>/dev/null; then
		export MINIRUN_CGROUP_PARENT=/minirun
	else
		export MINIRUN_CGROUP_PARENT=minirun-labs
	fi
fi

# ---------------------------------------------------------------- messages
if [[ -t 1 ]]; then
	_B=$'\e[1m' _G=$'\e[32m' _R=$'\e[31m' _Y=$'\e[33m' _N=$'\e[0m'
else
	_B='' _G='' _R='' _Y='' _N=''
fi

# step TITLE: a numbered step of the lab.
STEP=0
step() {
	STEP=$((STEP + 1))
	printf '\n%s== %s step %d: %s%s\n' "$_B" "$LAB" "$STEP" "$*" "$_N"
}

# say TEXT...: an explanation, one line per argument.
say() { printf '   %s\n' "$@"; }

# show CMD...: prints "$ CMD" as a student would type it, then runs it. Its
# exit status is the command's (use `show ... || true` when a failure is the
# point).
show() {
	local a line=''
	for a; do
		if [[ $a =~ ^[][A-Za-z0-9_./:=@%+,-]+$ ]]; then line+=" $a"; else line+=" '${a//\'/\'\\\'\'}'"; fi
	done
	printf '%s$%s%s\n' "$_Y" "$line" "$_N"
	"$@"
}

# show_sh SCRIPT: prints and runs a shell line (pipes, redirections) with bash.
show_sh() {
	printf '%s$ %s%s\n' "$_Y" "$1" "$_N"
	bash -c "$1"
}

die() {
	printf '%s%s: %s%s\n' "$_R" "$LAB" "$*" "$_N" >&2
	exit 1
}

# skip REASON: this lab cannot run here; exit 77 ("skipped", as automake's
# test harness says), which examples/check-all.sh reports with REASON.
skip() {
	printf '%sSKIP %s: %s%s\n' "$_Y" "$LAB" "$*" "$_N"
	exit 77
}

# ---------------------------------------------------------------- the binary
MINIRUN=${MINIRUN:-$(command -v minirun || true)}
[[ -n $MINIRUN ]] || die "minirun not found in PATH: sudo make install (or MINIRUN=/path/to/minirun)"
[[ -x $MINIRUN ]] || die "MINIRUN=$MINIRUN is not an executable"
MINIRUN=$(realpath "$MINIRUN")
export MINIRUN

# minirun ARGS...: the binary under test, so that the labs read as you type them.
minirun() { "$MINIRUN" "$@"; }
export -f minirun # for show_sh's bash -c

((EUID == 0)) || die "the labs need root (namespaces, mounts, cgroups): sudo ./${0##*/}"

# need_busybox: the store has busybox:latest.
need_busybox() {
	minirun images 2>/dev/null | grep -q '^busybox  *latest ' ||
		die "no busybox:latest in the image store: run 'sudo make busybox-image' at the top of the repository"
}

# need_tools TOOL...: each TOOL is in PATH.
need_tools() {
	local t
	for t; do command -v "$t" >/dev/null || die "$t not found: install it (see examples/README.md)"; done
}

# ---------------------------------------------------------------- cleanup
CLEANUPS=()
# cleanup CMD...: runs CMD (as one line of shell) at exit; the last one
# registered runs first. Failures are ignored: cleanup is best effort and
# must always reach the end.
cleanup() { CLEANUPS+=("$*"); }
_run_cleanups() {
	local rc=$? i
	set +e
	trap '' INT TERM HUP
	for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUPS[i]}" >/dev/null 2>&1
	done
	# ip_forward is turned on by minirun's bridge networks: put it back.
	[[ $(cat /proc/sys/net/ipv4/ip_forward) == "$IPF_BEFORE" ]] || echo "$IPF_BEFORE" >/proc/sys/net/ipv4/ip_forward
	_rm_cgroup_parent
	return "$rc"
}

# The container cgroups' parent (MINIRUN_CGROUP_PARENT) is removed at exit if
# it is empty and this script made it.
_cg_dirs() {
	local m p name=${1:-$MINIRUN_CGROUP_PARENT}
	case $name in /*) return 0 ;; esac # absolute: not ours
	# every cgroup hierarchy mounted (v1 controllers, v2) x every path of
	# this process in /proc/self/cgroup (on a hybrid host they differ)
	for m in $(awk '{for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) ~ /^cgroup2?$/) print $5; break }}' /proc/self/mountinfo); do
		for p in $(cut -d: -f3- /proc/self/cgroup | sort -u); do
			[[ -d $m$p ]] && printf '%s\n' "$m${p%/}/$name"
		done
	done | sort -u
	return 0
}
CG_BEFORE=$(_cg_dirs | while read -r d; do if [[ -d $d ]]; then echo "$d"; fi; done)
_rm_cgroup_parent() {
	local d
	while read -r d; do
		[[ -d $d && $'\n'$CG_BEFORE$'\n' != *$'\n'$d$'\n'* ]] && rmdir "$d" 2>/dev/null
	done < <(_cg_dirs)
	return 0
}
# rm_cgroups NAME: removes the cgroup NAME (relative, unique to this run)
# and everything below it, in every hierarchy, below each of this process's
# cgroups: where runc and minirun create a relative cgroupsPath. Processes
# still in them (a container whose runtime or shim was killed: started by
# this lab, since the name is its own) are killed first, by PID.
rm_cgroups() {
	local d pids i
	local -a dirs
	mapfile -t dirs < <(_cg_dirs "$1")
	for ((i = 0; i < 10; i++)); do
		pids=$(for d in "${dirs[@]}"; do [[ -d $d ]] && find "$d" -name cgroup.procs -exec cat {} +; done 2>/dev/null | sort -u)
		[[ -n $pids ]] || break
		# shellcheck disable=SC2086 # one PID a word
		kill -9 $pids 2>/dev/null
		sleep 0.2
	done
	for d in "${dirs[@]}"; do
		[[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	return 0
}

IPF_BEFORE=$(cat /proc/sys/net/ipv4/ip_forward)
trap _run_cleanups EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# tmpdir: TMP = a new directory, removed at exit (after unmounting anything
# left mounted below it).
tmpdir() {
	TMP=$(mktemp -d "/tmp/minirun-$LAB.XXXXXX")
	cleanup "awk -v t='$TMP/' 'index(\$5, t) == 1 {print \$5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l; rm -rf --one-file-system '$TMP'"
}

# container_pid NAME: the host PID of a running container's first process.
container_pid() { minirun inspect "$1" | jq -r '.[0].State.Pid'; }

# ---------------------------------------------------------------- checks
PASSED=0 FAILED=0
pass() {
	PASSED=$((PASSED + 1))
	printf '%sPASS%s %s\n' "$_G" "$_N" "$1"
}
fail() {
	FAILED=$((FAILED + 1))
	printf '%sFAIL%s %s\n' "$_R" "$_N" "$1"
	[[ -z ${2:-} ]] || printf '     %s\n' "$2"
}

# check DESC CMD...: PASS when CMD succeeds.
check() {
	local d=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$d"; else fail "$d" "$(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"; fi
}

# check_eq DESC GOT WANT
check_eq() {
	if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}

# check_match DESC GOT REGEX: a line of GOT matches REGEX (grep -E)
check_match() {
	if grep -Eq -- "$3" <<<"$2"; then pass "$1"; else fail "$1" "got '$(printf '%s' "$2" | head -c 300)', want a match of /$3/"; fi
}

# check_no_match DESC GOT REGEX: no line of GOT matches REGEX
check_no_match() {
	if ! grep -Eq -- "$3" <<<"$2"; then pass "$1"; else fail "$1" "got '$(printf '%s' "$2" | head -c 300)', want no match of /$3/"; fi
}

# finish: the summary line; exits 1 if a check failed.
finish() {
	printf '\n%s: %d passed, %d failed\n' "$LAB" "$PASSED" "$FAILED"
	((FAILED == 0))
}

# http_get HOST PORT [PATH]: the body of an HTTP GET, with curl if there is
# one, else with bash's /dev/tcp (no other tool needed; the static busybox's
# wget crashes on some hosts outside a container).
http_get() {
	if command -v curl >/dev/null; then
		curl -sS -m 5 "http://$1:$2${3:-/}"
	else
		local body
		exec 9<>"/dev/tcp/$1/$2" || return 1
		printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "${3:-/}" "$1" >&9
		body=$(timeout 5 cat <&9) || { exec 9<&-; return 1; }
		exec 9<&-
		printf '%s\n' "${body#*$'\r\n\r\n'}"
	fi
}

# wait_http HOST PORT: waits (up to 5 s) until an HTTP server answers there.
wait_http() {
	local i
	for ((i = 0; i < 25; i++)); do
		http_get "$1" "$2" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}
