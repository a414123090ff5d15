#!/usr/bin/env bash
# bench/startup.sh: container start-up time of minirun against runc and crun.
#
#   sudo bench/startup.sh                 N=30 runs per runtime, ROUNDS=3 hyperfine rounds
#   sudo N=10 ROUNDS=0 bench/startup.sh   quicker, no hyperfine cross-check
#   sudo MINIRUN=/path/to/minirun bench/startup.sh   use that binary, build nothing
#
# Each runtime runs ONE shared OCI bundle (busybox rootfs, /bin/true, made from
# `runc spec`) with `<runtime> --root <tmp>/state/<runtime> run --bundle B <id>`,
# interleaved and with a fresh container ID per run. minirun's Docker-style
# `run --rm busybox true` is timed too, and so is the OCI lifecycle as an
# engine drives it, `create`, `start`, wait for the exit, `delete`, of the same
# bundle (which has its own network namespace) by all three runtimes, each
# lifecycle one timed run of a small subreaper helper (built from the Go source
# below). See bench/README.md for what the numbers mean. Prints a table and
# writes it as Markdown to bench/results/startup.md.
#
# Env: N (runs per runtime, default 30), ROUNDS (hyperfine cross-check rounds,
# default 3, 0 = skip), WARMUP (untimed runs per runtime, default 3), MINIRUN,
# TIMER (timeit, gnutime or bashtime; default: the first that works).
#
# Needs: runc, crun, unshare (util-linux), tar, Go (to build minirun, the
# timing helper bench/timeit.go and the lifecycle helper), and jq (Debian's jq
# package; if jq is missing python3 edits the config instead). Optional:
# hyperfine (cross-check); /usr/bin/time (Debian's time package) is the
# fallback timer when there is no Go (the create/start/delete rows need Go).
# Installs nothing. Everything it makes lives in one mktemp -d directory under
# /tmp, in cgroups below the script's own cgroup and (the `run --rm busybox
# true` row is on minirun's default bridge network) in the bridge mrstart0
# with the nftables table minirun_startbench, never the user's own; all of it
# is removed on exit, interrupted or not, and net.ipv4.ip_forward put back.
set -euo pipefail

N=${N:-30}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-3}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# say warn die, checks, cgroups, cleanup, network, build, timers, statistics
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$here/lib.sh"

need_whole N ROUNDS WARMUP
need_min N 1
need_root "namespaces, mounts, cgroups"
need_tools "Debian package: @" runc crun unshare tar awk sort
RUNC=$(command -v runc)
CRUN=$(command -v crun)
if command -v jq >/dev/null; then
	EDITOR_TOOL=jq
elif command -v python3 >/dev/null; then
	EDITOR_TOOL=python3
else
	die "neither jq (Debian package jq) nor python3 found: one is needed to edit config.json"
fi
find_go

# ---------------------------------------------------------------- cgroup path
# runc and crun create (and on delete remove) the container's cgroup at
# linux.cgroupsPath. It must lie below this script's own cgroup: on a v1 or
# hybrid host that is the memory controller's path, on a v2 host the "0::"
# path. CG_DIRS: CGPATH in every hierarchy. CG_NEW: on v1 the same path is
# used in every hierarchy, including those where this process sits at "/", so
# runc/crun create the missing ancestors of CGPATH there too; those that did
# not exist, to remove exactly those.
own_cgroup
CGPATH=${OWN_CGROUP%/}/minirun-bench-$$
cgroups_below "minirun-bench-$$" "$OWN_CGROUP"
cg_missing "$CGPATH"

# ---------------------------------------------------------------- network
# `minirun run --rm busybox true` sets up minirun's default bridge network:
# on a bridge and nftables table of its own (checked to be free before the
# cleanup trap is set), removed at exit.
private_network mrstart0 minirun_startbench

# ---------------------------------------------------------------- temp dir, cleanup
make_tmp minirun-bench
B=$TMP/bundle
S=$TMP/state
DATA=$TMP/data
mkdir -p "$B/rootfs" "$S" "$DATA"

# "image" = minirun run --rm busybox true; "lc-X" = runtime X's create, start,
# wait, delete through the lifecycle helper, in its own state root. "v-X" =
# `X --version`: what one process of that runtime costs to start and exit at
# all, the floor under every row (a start is two processes for minirun and
# runc, the runtime and its re-executed init; crun's init is a fork).
NAMES=(minirun runc crun image lc-minirun lc-runc lc-crun v-minirun v-runc v-crun)
declare -A LABEL=(
	[minirun]="minirun run --bundle"
	[runc]="runc run --bundle"
	[crun]="crun run --bundle"
	[image]="minirun run --rm busybox true"
	[lc-minirun]="minirun create/start/delete"
	[lc-runc]="runc create/start/delete"
	[lc-crun]="crun create/start/delete"
	[v-minirun]="minirun --version"
	[v-runc]="runc --version"
	[v-crun]="crun --version"
)
declare -A BIN=([runc]=$RUNC [crun]=$CRUN [lc-runc]=$RUNC [lc-crun]=$CRUN [v-runc]=$RUNC [v-crun]=$CRUN)
declare -A SKIP=() # NAME: why it is not measured

# Every command runs in a private mount namespace with the cgroup v2 hierarchy
# of this hybrid host unmounted: crun refuses to run otherwise, and the other
# two get the same wrapper so that they all pay the same overhead.
# shellcheck disable=SC2016 # "$0" "$@" are the inner sh's
WRAP='umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"'
wrapped() { unshare -m sh -c "$WRAP" "$@"; }

# delete_containers NAME...: delete --force every container in those state roots.
delete_containers() {
	local name root d id
	for name in "$@"; do
		root=$S/$name
		[[ -d $root && -n ${BIN[$name]:-} ]] || continue
		for d in "$root"/*/; do
			[[ -d $d ]] || continue
			id=$(basename "$d")
			if [[ $name == image ]]; then
				wrapped "${BIN[image]}" --root "$root" --data-root "$DATA" rm -f "$id" >/dev/null 2>&1 ||
					wrapped "${BIN[image]}" --root "$root" --data-root "$DATA" delete --force "$id" >/dev/null 2>&1
			else
				wrapped "${BIN[$name]}" --root "$root" delete --force "$id" >/dev/null 2>&1
			fi
		done
	done
	return 0
}

# recover: after a failed run, so that it cannot spoil the next ones (a
# cgroup left frozen below the shared CGPATH would hang the next run there).
recover() {
	thaw_cgroups
	delete_containers "${NAMES[@]}"
}

cleanup() {
	local d
	# Containers an interrupted run may have left: delete --force every ID in
	# each runtime's own state root (and minirun's Docker-style containers).
	thaw_cgroups
	delete_containers "${NAMES[@]}"
	if [[ -n ${BIN[image]:-} && -d $DATA/containers ]]; then
		for d in "$DATA"/containers/*/; do
			[[ -d $d ]] && wrapped "${BIN[image]}" --root "$S/image" --data-root "$DATA" rm -f "$(basename "$d")" >/dev/null 2>&1
		done
	fi
	rm_network --root "$S/image" --data-root "$DATA"
	# Mounts below the temp dir (there should be none: the runtimes mount in
	# their own namespaces), deepest first; the temp dir.
	rm_tmp
	# Processes still in a cgroup below CGPATH were started by this benchmark
	# (through a runtime whose state is gone): kill them by PID, wait for them.
	kill_cgroup_procs
	# Cgroups: everything below CGPATH, deepest first, then the ancestors of
	# CGPATH that did not exist before the run.
	rm_cgroups
	# Check that nothing is left.
	check_tmp "minirun-bench-$$"
	check_cgroups
	check_network
	((LEFT)) || say "cleanup: removed $TMP; no mounts, cgroups (under $CGPATH), bridge $BRIDGE, table ip $TABLE or state dirs left behind"
}
on_exit cleanup

# The state roots on a tmpfs, as every runtime's default is (/run/runc,
# /run/crun, /run/minirun; /run is a tmpfs): what a runtime writes per start
# (its state files, the exec FIFO) costs what it costs in use, and this
# machine's ext4 without a journal, slow to create files for a while after
# many were deleted, weighs on no runtime. rm_tmp unmounts it.
mount -t tmpfs -o mode=0755,size=256m minirun-bench-state "$S" || die "mount a tmpfs on $S failed"

# ---------------------------------------------------------------- binaries
build_minirun
BIN[minirun]=$MINIRUN
BIN[image]=$MINIRUN
BIN[lc-minirun]=$MINIRUN
BIN[v-minirun]=$MINIRUN
# runc and crun come back into memory the way minirun does (lib.sh: uncache).
uncache "$RUNC" "$CRUN"

# The timer: bench/timeit.go (µs CPU, ns wall, from wait4) when Go is here;
# else /usr/bin/time (Debian package time: CPU in 10 ms steps) plus bash's
# $EPOCHREALTIME for wall; else bash's `time` keyword (ms, no RSS).
# TIMER=timeit|gnutime|bashtime forces one.
choose_timer --rss timeit gnutime bashtime

# The lifecycle helper, $TMP/bin/lifecycle, one per lifecycle run, for all
# three runtimes alike. The runtimes' `create` leaves the container's process
# behind as an orphan, so the helper, like containerd's shim or conmon, is a
# child subreaper: the container's process becomes its child and it waits for
# the exit with wait4, at once and without polling `state`; the CPU time of the
# process (and of the runtime's init stage in it) counts in the rusage the
# timer gets, as in the `run` rows.
mkdir -p "$TMP/src" "$TMP/pids"
cat >"$TMP/src/lifecycle.go" <<'GO'
// lifecycle PIDDIR BUNDLE RUNTIME [ARG...] ID: one OCI lifecycle of container
// ID, as an engine's shim drives it. It becomes a child subreaper, then
//
//	RUNTIME ARG... create --bundle BUNDLE --pid-file PIDDIR/ID.pid ID
//	RUNTIME ARG... start ID
//	wait4 of the container's process (reparented to it when create exited)
//	RUNTIME ARG... delete ID
//
// and reaps whatever else the runtime left to it (2 s at most), so that it
// all counts in the rusage of whoever waits for this program. Exits 0 if
// every step did and the container's process exited 0.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "lifecycle: "+format+"\n", a...)
	os.Exit(1)
}

func main() {
	n := len(os.Args)
	if n < 5 {
		fail("usage: lifecycle PIDDIR BUNDLE RUNTIME [ARG...] ID")
	}
	pidFile, bundle, id := filepath.Join(os.Args[1], os.Args[n-1]+".pid"), os.Args[2], os.Args[n-1]
	rt := os.Args[3 : n-1]
	run := func(verb string, args ...string) {
		c := exec.Command(rt[0], append(append(append([]string{}, rt[1:]...), verb), args...)...)
		c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := c.Run(); err != nil {
			fail("%s %s: %v", verb, id, err)
		}
	}
	const prSetChildSubreaper = 36
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		fail("PR_SET_CHILD_SUBREAPER: %v", e)
	}
	run("create", "--bundle", bundle, "--pid-file", pidFile, id)
	b, err := os.ReadFile(pidFile)
	if err != nil {
		fail("%v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		fail("pid file %s: %q", pidFile, b)
	}
	run("start", id)
	var ws syscall.WaitStatus
	for {
		_, err = syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		fail("wait4 of the container's process %d: %v", pid, err)
	}
	run("delete", id)
	for deadline := time.Now().Add(2 * time.Second); ; {
		p, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
		if err == syscall.ECHILD {
			break
		}
		if p == 0 {
			if time.Now().After(deadline) {
				fail("a process the runtime left is still running after delete")
			}
			time.Sleep(time.Millisecond)
		}
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		fail("the container's process ended with wait status %#x", int(ws))
	}
}
GO
LC=$TMP/bin/lifecycle
if [[ -z $GO ]]; then
	LC_ERR="no Go to build the lifecycle helper"
elif ! (cd "$TMP/src" && CGO_ENABLED=0 "$GO" build -o "$LC" lifecycle.go) >"$LOGS/lifecycle-build" 2>&1; then
	LC_ERR="the lifecycle helper did not build: $(head -c 300 "$LOGS/lifecycle-build" | tr '\n' ' ')"
else
	LC_ERR=
fi
[[ -z $LC_ERR ]] || for name in lc-minirun lc-runc lc-crun; do SKIP[$name]=$LC_ERR; done

# ---------------------------------------------------------------- bundle
say "making the bundle (busybox rootfs, runc spec) in $B ..."
"$repo/scripts/busybox-rootfs.sh" | tar -x -C "$B/rootfs"
(cd "$B" && "$RUNC" spec)
# Edits to runc's default spec; mounts, maskedPaths, readonlyPaths and the
# namespaces (pid, network, ipc, uts, mount; + cgroup) stay as runc makes them.
# The network namespace (a new one, no path: loopback only) is in runc's spec;
# the filter adds it should a runc version leave it out, as the lifecycle
# rows are meant to include it.
#  - ociVersion 1.0.2: crun 1.8.1 accepts only 1.0.x/1.1.0 (runc writes 1.0.2-dev)
#  - /bin/true without a terminal
#  - no hooks, no seccomp, linux.resources only devices: what minirun accepts
#  - no ambient capabilities: runc spec lists ambient caps but no inheritable
#    set; runc and crun ignore the failing PR_CAP_AMBIENT_RAISE, minirun
#    (rightly, per the kernel rules) refuses. /bin/true does not care.
#  - linux.cgroupsPath below our own cgroup
# shellcheck disable=SC2016 # $cg is jq's
JQ_FILTER='
  .ociVersion = "1.0.2"
| .process.terminal = false
| .process.args = ["/bin/true"]
| .root.readonly = false
| del(.process.capabilities.ambient)
| del(.hooks)
| del(.linux.seccomp)
| (if .linux.resources.devices then .linux.resources = {devices: .linux.resources.devices} else del(.linux.resources) end)
| .linux.namespaces |= (if any(.[]; .type == "cgroup") then . else . + [{type: "cgroup"}] end)
| .linux.namespaces |= (if any(.[]; .type == "network") then . else . + [{type: "network"}] end)
| .linux.cgroupsPath = $cg
'
if [[ $EDITOR_TOOL == jq ]]; then
	jq --arg cg "$CGPATH" "$JQ_FILTER" "$B/config.json" >"$B/config.json.new"
else
	CG="$CGPATH" python3 - "$B/config.json" >"$B/config.json.new" <<'PY'
import json, os, sys
c = json.load(open(sys.argv[1]))
c["ociVersion"] = "1.0.2"
p = c.setdefault("process", {})
p["terminal"] = False
p["args"] = ["/bin/true"]
p.get("capabilities", {}).pop("ambient", None)
c.setdefault("root", {})["readonly"] = False
c.pop("hooks", None)
l = c.setdefault("linux", {})
l.pop("seccomp", None)
dev = l.get("resources", {}).get("devices")
if dev:
    l["resources"] = {"devices": dev}
else:
    l.pop("resources", None)
ns = l.setdefault("namespaces", [])
for t in ("cgroup", "network"):
    if not any(n.get("type") == t for n in ns):
        ns.append({"type": t})
l["cgroupsPath"] = os.environ["CG"]
json.dump(c, sys.stdout, indent=2)
PY
fi
mv "$B/config.json.new" "$B/config.json"

# ---------------------------------------------------------------- commands
# cmd_for NAME ID: sets BARE to the command for one run and CMD to it
# wrapped (unshare -m sh -c "$WRAP" ...).
cmd_for() {
	local name=$1 id=$2
	case $name in
	image) BARE=("$MINIRUN" --root "$S/image" --data-root "$DATA" run --rm --name "$id" busybox true) ;;
	lc-*) BARE=("$LC" "$TMP/pids" "$B" "${BIN[$name]}" --root "$S/$name" "$id") ;;
	v-*) BARE=("${BIN[$name]}" --version) ;;
	*) BARE=("${BIN[$name]}" --root "$S/$name" run --bundle "$B" "$id") ;;
	esac
	CMD=(unshare -m sh -c "$WRAP" "${BARE[@]}")
}

# timed NAME: one measured run of BARE. The timeit timer makes the private
# mount namespace itself (TIMEIT_UMOUNT, see bench/timeit.go), so that it
# times the runtime alone; the other timers time CMD, wrapper included (a few
# ms of CPU more for every runtime alike).
timed() {
	if [[ $TIMER == timeit ]]; then
		TIMEIT_UMOUNT=/sys/fs/cgroup/unified measure "$1" "${BARE[@]}"
	else
		measure "$1" "${CMD[@]}"
	fi
}

SEQ=0
next_id() { SEQ=$((SEQ + 1)); ID="mb$$-$1-$SEQ"; }

import_busybox --root "$S/image" --data-root "$DATA" || SKIP[image]=$IMPORT_ERR

# ---------------------------------------------------------------- check (untimed)
ACTIVE=()
FAILED=()
for name in "${NAMES[@]}"; do
	if [[ -n ${SKIP[$name]:-} ]]; then
		FAILED+=("$name")
		warn "${LABEL[$name]}: SKIPPED: ${SKIP[$name]}"
		NOTES+=("${LABEL[$name]}: not measured: ${SKIP[$name]}")
		continue
	fi
	next_id "$name"
	cmd_for "$name" "$ID"
	rc=0
	out=$("${CMD[@]}" </dev/null 2>&1) || rc=$?
	if ((rc != 0)); then
		[[ -n $out ]] || out="(no output)"
		FAILED+=("$name")
		warn "${LABEL[$name]}: FAILED the check run (exit $rc), not measured:"
		printf '  %s\n' "$out" >&2
		NOTES+=("${LABEL[$name]}: not measured: the check run exited $rc: $(printf '%s' "$out" | head -c 300 | tr '\n' ' ')")
		recover
		continue
	fi
	if [[ -n $out && $name != v-* ]]; then
		warn "${LABEL[$name]}: exit 0 but unexpected output: $out"
		NOTES+=("${LABEL[$name]}: unexpected output on the check run: $(printf '%s' "$out" | head -c 300 | tr '\n' ' ')")
	fi
	ACTIVE+=("$name")
done
((${#ACTIVE[@]} > 0)) || die "no runtime passed the check run"
say "check run ok: ${ACTIVE[*]}${FAILED[*]:+; FAILED: ${FAILED[*]}}"

# ---------------------------------------------------------------- measure
K=${#ACTIVE[@]}
say "warm-up: $WARMUP untimed runs each ..."
for ((i = 0; i < WARMUP; i++)); do
	for name in "${ACTIVE[@]}"; do
		next_id "$name"
		cmd_for "$name" "$ID"
		"${CMD[@]}" </dev/null >>"$LOGS/warmup.log" 2>&1 || recover
	done
done
say "measuring: $N interleaved runs each of ${ACTIVE[*]} (order rotated every run) ..."
for ((i = 0; i < N; i++)); do
	for ((j = 0; j < K; j++)); do
		name=${ACTIVE[(i + j) % K]}
		next_id "$name"
		cmd_for "$name" "$ID"
		timed "$name" || recover
	done
done

# ---------------------------------------------------------------- hyperfine cross-check
# ROUNDS rounds of hyperfine over the same commands (order rotated per round),
# ceil(N/ROUNDS) runs each per round. Container IDs come from the wrapper
# shell's PID (hf<pid>): unique among runs in flight, as runs are sequential.
HF_NOTE=
HF_RUNS=0
if ((ROUNDS > 0)) && command -v hyperfine >/dev/null; then
	HF_RUNS=$(((N + ROUNDS - 1) / ROUNDS))
	((HF_RUNS >= 2)) || HF_RUNS=2
	hf_cmd() {
		local q="'umount /sys/fs/cgroup/unified 2>/dev/null; exec \"\$0\" \"\$@\"" name=$1
		case $name in
		image) printf '%s' "unshare -m sh -c $q --name hf\$\$ busybox true' $MINIRUN --root $S/image --data-root $DATA run --rm" ;;
		lc-*) printf '%s' "unshare -m sh -c $q hf\$\$' $LC $TMP/pids $B ${BIN[$name]} --root $S/$name" ;;
		v-*) printf '%s' "${BIN[$name]} --version" ;;
		*) printf '%s' "unshare -m sh -c $q hf\$\$' ${BIN[$name]} --root $S/$name run --bundle $B" ;;
		esac
	}
	if [[ "$MINIRUN $RUNC $CRUN $TMP" =~ [\'\"\\] ]]; then
		HF_NOTE="hyperfine cross-check skipped: a path contains a quote or backslash"
	else
		say "hyperfine cross-check: $ROUNDS rounds x $HF_RUNS runs each ..."
		for ((r = 0; r < ROUNDS; r++)); do
			args=()
			for ((j = 0; j < K; j++)); do
				name=${ACTIVE[(r + j) % K]}
				args+=(-n "$name" "$(hf_cmd "$name")")
			done
			if ! hyperfine -N --warmup "$WARMUP" --runs "$HF_RUNS" --style none \
				--export-json "$M/hf-$r.json" "${args[@]}" >"$LOGS/hf-$r.log" 2>&1; then
				warn "hyperfine round $r failed: $(tail -n 3 "$LOGS/hf-$r.log")"
				HF_NOTE="hyperfine round $r failed: $(tail -n 1 "$LOGS/hf-$r.log")"
				rm -f "$M/hf-$r.json"
				recover
			fi
		done
	fi
elif ((ROUNDS > 0)); then
	HF_NOTE="hyperfine cross-check skipped: hyperfine not installed (Debian package hyperfine)"
fi

# hf_stats NAME: "<median wall ms> <mean cpu ms> <runs>" over all rounds.
hf_stats() {
	local f files=()
	for f in "$M"/hf-*.json; do [[ -e $f ]] && files+=("$f"); done
	((${#files[@]})) || { echo "nan nan 0"; return; }
	if command -v jq >/dev/null; then
		jq -r --arg n "$1" '.results[] | select(.command == $n) | . as $r | .times[] | "\(. * 1000) \(($r.user + $r.system) * 1000)"' "${files[@]}"
	else
		python3 - "$1" "${files[@]}" <<'PY'
import json, sys
for f in sys.argv[2:]:
    for r in json.load(open(f))["results"]:
        if r["command"] == sys.argv[1]:
            for t in r["times"]:
                print(t * 1000, (r["user"] + r["system"]) * 1000)
PY
	fi | sort -n | awk '{w[NR] = $1; c += $2} END {
		if (NR == 0) { print "nan nan 0"; exit }
		m = (NR % 2) ? w[(NR + 1) / 2] : (w[NR / 2] + w[NR / 2 + 1]) / 2
		printf "%.1f %.1f %d\n", m, c / NR, NR }'
}

# ---------------------------------------------------------------- statistics
for name in "${NAMES[@]}"; do
	stats "$name"
	if ! is_active "$name"; then
		ROWS_TXT+=("$(printf '%-31s %5s  %9s  %15s  %9s  %8s' "${LABEL[$name]}" - FAILED - - -)")
		ROWS_MD+=("| \`${LABEL[$name]}\` | - | failed (see notes) | - | - | - |")
		continue
	fi
	runs=$OK
	((FAILS == 0)) || runs="$OK (+$FAILS failed)"
	((FAILS == 0)) || NOTES+=("${LABEL[$name]}: $FAILS of $N timed runs failed (excluded); first lines of its log: $(head -n 3 "$LOGS/$name.log" | tr '\n' ' ')")
	mm="$(fmt "$WMIN") - $(fmt "$WMAX")"
	rss=$(fmt "$RMED")
	[[ $TIMER != bashtime ]] || rss=n/a
	ROWS_TXT+=("$(printf '%-31s %5s  %9s  %15s  %9s  %8s' "${LABEL[$name]}" "$runs" "$(fmt "$WMED")" "$mm" "$(fmt "$CMED")" "$rss")")
	ROWS_MD+=("| \`${LABEL[$name]}\` | $runs | $(fmt "$WMED") | $(fmt "$WMIN")–$(fmt "$WMAX") | $(fmt "$CMED") | $rss |")
done

RATIOS=(
	"run --bundle, minirun/runc: $(ratios minirun runc)"
	"run --bundle, minirun/crun: $(ratios minirun crun)"
	"create/start/delete, minirun/runc: $(ratios lc-minirun lc-runc)"
	"create/start/delete, minirun/crun: $(ratios lc-minirun lc-crun)"
	"one process (--version), minirun/runc: $(ratios v-minirun v-runc)"
	"one process (--version), minirun/crun: $(ratios v-minirun v-crun)"
)

HF_TXT=()
HF_MD=()
if compgen -G "$M/hf-*.json" >/dev/null; then
	for name in "${ACTIVE[@]}"; do
		read -r hw hc hn < <(hf_stats "$name")
		HF_TXT+=("$(printf '%-31s %5s  %9s  %9s' "${LABEL[$name]}" "$hn" "$hw" "$hc")")
		HF_MD+=("| \`${LABEL[$name]}\` | $hn | $hw | $hc |")
	done
fi

# ---------------------------------------------------------------- machine info
machine_info
RUNC_V=$(version "$RUNC")
CRUN_V=$(version "$CRUN")
MINIRUN_V=$(version "$MINIRUN")
FS=$(findmnt -no FSTYPE -T "$TMP" 2>/dev/null || echo "?")

HDR=$(printf '%-31s %5s  %9s  %15s  %9s  %8s' runtime runs "wall med" "wall min-max" "CPU med" "RSS med")
UNITS=$(printf '%-31s %5s  %9s  %15s  %9s  %8s' "" "" ms ms ms MiB)

{
	say ""
	say "== container start-up: $N interleaved runs per runtime, $WARMUP warm-up runs, /bin/true in one busybox bundle (run; create, start, wait, delete) =="
	say "machine: $MACHINE, cgroups $CGMODE, /tmp on $FS, state roots on a tmpfs"
	say "runtimes: $RUNC_V | $CRUN_V | $MINIRUN_V, commit $COMMIT"
	say "timer: $TIMER_DESC"
	say ""
	table_txt
	say ""
	say "ratios of medians:"
	printf '  %s\n' "${RATIOS[@]}"
	if ((${#HF_TXT[@]})); then
		say ""
		say "hyperfine cross-check ($ROUNDS rounds x $HF_RUNS runs, order rotated per round):"
		printf '%-31s %5s  %9s  %9s\n' runtime runs "wall med" "CPU mean"
		printf '%-31s %5s  %9s  %9s\n' "" "" ms ms
		printf '%s\n' "${HF_TXT[@]}"
	fi
	[[ -z $HF_NOTE ]] || say "$HF_NOTE"
	notes_txt
	say ""
}

report_md() {
	say "# Container start-up: minirun, runc, crun"
	say ""
	say "$DATE. \`bench/startup.sh\`, N=$N interleaved runs per runtime (order rotated every run), $WARMUP warm-up runs each."
	if [[ $TIMER == timeit ]]; then
		say "Every command is \`<runtime> --root <tmp> run --bundle <bundle> <new id>\`, started by the timer in a private mount namespace without /sys/fs/cgroup/unified (crun refuses this hybrid host otherwise): the figures are the runtime's alone;"
	else
		say "Every command is \`unshare -m sh -c 'umount /sys/fs/cgroup/unified; exec <runtime> --root <tmp> run --bundle <bundle> <new id>'\` (the wrapper's few ms of CPU are in every figure);"
	fi
	say "the bundle is a busybox rootfs with \`runc spec\`'s config running \`/bin/true\`, in new pid, network, ipc, uts, mount and cgroup namespaces (see bench/README.md)."
	say "A \`create/start/delete\` row times, in the same way, one run of a subreaper helper that runs \`<runtime> --root <tmp> create --bundle <bundle> --pid-file <f> <id>\`, \`start <id>\`,"
	say "waits for the container's process (its child once \`create\` has exited) with wait4, and runs \`delete <id>\`: the same helper for all three runtimes."
	say "A \`--version\` row is one process of that runtime that starts, prints its version and exits: the floor under the other rows (a start is two such processes for minirun and runc, the runtime and its re-executed init; crun forks its init)."
	say "Each binary was dropped from the page cache before the warm-up (\`sync\`, \`dd iflag=nocache count=0\`), so all come back into memory the same way, read by exec (docs/PERFORMANCE.md, Method). Peak RSS includes the timer's own pages up to the exec (about 2.4 MiB)."
	say ""
	say "- $MACHINE, cgroups $CGMODE, /tmp on $FS, the runtimes' state roots (\`--root\`) on a tmpfs, as /run is"
	say "- $RUNC_V; $CRUN_V; $MINIRUN_V, commit $COMMIT"
	say "- timer: $TIMER_DESC"
	say ""
	say "| runtime | runs | wall median (ms) | wall min–max (ms) | CPU median, user+sys (ms) | max RSS median (MiB) |"
	say "|---|---:|---:|---:|---:|---:|"
	printf '%s\n' "${ROWS_MD[@]}"
	say ""
	say "Ratios of medians:"
	say ""
	printf -- '- %s\n' "${RATIOS[@]}"
	if ((${#HF_MD[@]})); then
		say ""
		say "hyperfine cross-check ($ROUNDS rounds × $HF_RUNS runs, order rotated per round):"
		say ""
		say "| runtime | runs | wall median (ms) | CPU mean, user+sys (ms) |"
		say "|---|---:|---:|---:|"
		printf '%s\n' "${HF_MD[@]}"
	fi
	[[ -z $HF_NOTE ]] || { say ""; say "$HF_NOTE"; }
	notes_md
}
write_result startup.md report_md
