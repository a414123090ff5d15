#!/usr/bin/env bash
# bench/network.sh: what minirun's bridge networking costs. Prints figures; it
# is a benchmark, not a test.
#
#   sudo bench/network.sh                      N=30 runs each, R=3 iperf3 runs of SECS=5 s each
#   sudo N=10 SECS=3 bench/network.sh          quicker
#   sudo MINIRUN=/path/to/minirun bench/network.sh   use that binary, build nothing
#
# 1. Setup + teardown per container: `minirun run --rm busybox true` on the
#    default bridge network (veth pair, IPAM, nftables rules, hosts file)
#    against `minirun run --rm --network none busybox true` (a network
#    namespace with only lo), N runs each, interleaved, after WARMUP untimed
#    runs each. The difference of the medians is what the network costs per
#    container. Timed by hyperfine (one `hyperfine -N --runs 1 --export-json`
#    per run, so that the two commands can alternate), else by bench/timeit.go.
# 2. TCP throughput container -> host: one long-running container on the
#    bridge network; iperf3 -s on the host bound to the bridge's gateway
#    address only, iperf3 -c run in the container's network namespace with
#    `nsenter -t <container pid> -n` (busybox has no iperf3; for the path
#    measured, container veth -> bridge -> host stack, only the network
#    namespace matters, not the mount namespace the binary comes from).
#    Baseline: the same client and server on the host's loopback 127.0.0.1.
#    R repetitions of SECS seconds each, interleaved, median in Gbit/s.
#
# Traffic goes only to 127.0.0.1 and to the gateway address of the bridge the
# script creates; it never touches the user's own network: the default network
# lives in a private data root, on the bridge mrbench0 with the nftables table
# minirun_bench (MINIRUN_DEFAULT_BRIDGE, MINIRUN_NFT_TABLE), and is removed at
# exit with `minirun network rm bridge`. minirun turns on
# net.ipv4.ip_forward; the script puts back the value it found.
#
# Env: N (timed runs per command, default 30), WARMUP (untimed runs per
# command, default 3), R (iperf3 repetitions per path, default 3; 0 skips the
# throughput part), SECS (seconds per iperf3 run, default 5), MINIRUN, TIMER
# (hyperfine, timeit or bashtime; default: the first that works),
# MINIRUN_DEFAULT_SUBNET (passed on to minirun; by default it picks a free
# one of 10.88-10.85.0.0/16).
#
# Needs root, jq, nsenter and ss (util-linux, iproute2), nft, Go (to build
# minirun and, without hyperfine, bench/timeit.go) and iperf3 (Debian package
# iperf3; not needed with R=0). Optional: hyperfine (Debian package
# hyperfine). Installs nothing. Everything it makes lives in one mktemp -d
# directory under /tmp, in cgroups named minirun-bench-<pid> below the
# script's own, and in the bridge mrbench0 and table minirun_bench; all of it
# is removed on exit, interrupted or not.
set -euo pipefail

N=${N:-30}
WARMUP=${WARMUP:-3}
R=${R:-3}
SECS=${SECS:-5}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# say warn die, checks, cgroups, cleanup, network, build, timers, statistics
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$here/lib.sh"

need_whole N WARMUP R SECS
need_min N 1
need_min SECS 1
need_root "namespaces, veths, nftables, cgroups"
need_tools "Debian packages: jq, util-linux, iproute2, nftables, coreutils" jq nsenter ss ip nft timeout awk sort paste
if ((R > 0)); then
	command -v iperf3 >/dev/null || die "iperf3 not found: apt-get install iperf3 (Debian package iperf3), or R=0 to skip the throughput part"
fi
find_go

# The default network on a bridge and table of this script's own, checked to
# be free before the cleanup trap is set, so that nothing found is removed.
private_network mrbench0 minirun_bench

# ---------------------------------------------------------------- cgroups
# minirun puts each container's cgroup at minirun-bench-<pid>/<id>, relative
# to its own cgroup in every hierarchy (on a v1 or hybrid host this process
# sits at different paths in different hierarchies). CG_DIRS are all places
# it can be; minirun removes the containers' cgroups, the script the parents.
CGNAME=minirun-bench-$$
cgroups_below "$CGNAME"

# ---------------------------------------------------------------- temp dir, cleanup
make_tmp minirun-netbench
DATA=$TMP/data
mkdir -p "$TMP/run" "$DATA"
touch "$M/bridge" "$M/none" "$M/veth.tput" "$M/lo.tput" # (awk on a missing file fails: set -e)
export MINIRUN_ROOT=$TMP/run MINIRUN_DATA_ROOT=$DATA MINIRUN_CGROUP_PARENT=$CGNAME
CTR_PID=     # the long-running container's `minirun run` process
SRV_PID=     # the iperf3 server (under timeout)
CTR_NAME=nb$$

# stop_pid PID SECONDS: TERM, wait up to SECONDS, then KILL. PID is a child.
stop_pid() {
	local pid=$1 i
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < $2 * 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
	fi
	wait "$pid" 2>/dev/null || true # its exit status is not ours (set -e)
	return 0
}

cleanup() {
	local pid
	(($1 == 0)) || printf '\n'
	[[ -z $SRV_PID ]] || stop_pid "$SRV_PID" 2
	# The long-running container: TERM to its attached `minirun run`, whose
	# --init forwards it; then rm -f whatever is left in the data root.
	[[ -z $CTR_PID ]] || stop_pid "$CTR_PID" 10
	rm_containers
	# Processes still in our cgroups (a container whose minirun was killed).
	kill_cgroup_procs
	rm_containers
	# The network: veths left on the bridge, the network, bridge and table;
	# ip_forward.
	rm_network
	# Mounts below the temp dir (minirun mounts the rootfs in the host's
	# namespace and unmounts it on rm), deepest first; the temp dir.
	rm_tmp
	# Cgroups: everything below minirun-bench-<pid>, deepest first.
	rm_cgroups
	# Check that nothing is left.
	check_tmp
	check_cgroups
	check_network
	for pid in $CTR_PID $SRV_PID; do
		! kill -0 "$pid" 2>/dev/null || left_behind "process $pid"
	done
	((LEFT)) || say "cleanup: removed $TMP, bridge $BRIDGE, table ip $TABLE, cgroups $CGNAME; ip_forward back to $IPF_BEFORE; nothing left behind"
}
on_exit cleanup

# ---------------------------------------------------------------- binaries
build_minirun

# The timer: hyperfine (one `hyperfine -N --runs 1` per run, so that bridge
# and none can alternate; wall and user/sys from its JSON export), else
# bench/timeit.go (Go), else bash's time keyword. TIMER forces one.
choose_timer hyperfine timeit bashtime -- "$MINIRUN"

import_busybox || die "$IMPORT_ERR"

# ---------------------------------------------------------------- 1. setup + teardown
NAMES=(bridge none)
declare -A LABEL=(
	[bridge]="minirun run --rm busybox true"
	[none]="minirun run --rm --network none busybox true"
)
declare -A ARGS=(
	[bridge]="run --rm busybox true"
	[none]="run --rm --network none busybox true"
)

say "check run (untimed; the first bridge run creates $BRIDGE and table ip $TABLE) ..."
for name in "${NAMES[@]}"; do
	rc=0
	# shellcheck disable=SC2086
	out=$("$MINIRUN" ${ARGS[$name]} </dev/null 2>&1) || rc=$?
	((rc == 0)) || die "${LABEL[$name]} failed (exit $rc): ${out:-(no output)}"
	[[ -z $out ]] || warn "${LABEL[$name]}: exit 0 but unexpected output: $out"
done
GW=$("$MINIRUN" network inspect bridge | jq -r '.[0].Gateway')
SUBNET=$("$MINIRUN" network inspect bridge | jq -r '.[0].Subnet')
[[ $(jq -r '.[0].Bridge' < <("$MINIRUN" network inspect bridge)) == "$BRIDGE" ]] || die "the default network is not on $BRIDGE"
# The gateway must be an address of our bridge: the only non-loopback address
# this script sends traffic to.
ip -o -4 addr show dev "$BRIDGE" | awk '{print $4}' | grep -qx "$GW/${SUBNET#*/}" ||
	die "gateway $GW is not the address of $BRIDGE ($(ip -o -4 addr show dev "$BRIDGE" | awk '{print $4}'))"

MTU=$(cat "/sys/class/net/$BRIDGE/mtu" 2>/dev/null || echo '?')
LO_MTU=$(cat /sys/class/net/lo/mtu 2>/dev/null || echo '?')

say "warm-up: $WARMUP untimed runs each ..."
for ((i = 0; i < WARMUP; i++)); do
	for name in "${NAMES[@]}"; do
		# shellcheck disable=SC2086
		"$MINIRUN" ${ARGS[$name]} </dev/null >>"$LOGS/warmup.log" 2>&1 || rm_containers
	done
done
say "measuring: $N interleaved runs each (bridge, none, none, bridge, ...), timer $TIMER ..."
for ((i = 0; i < N; i++)); do
	order=(bridge none)
	((i % 2 == 0)) || order=(none bridge)
	for name in "${order[@]}"; do
		# shellcheck disable=SC2086 # ARGS are plain words
		measure "$name" "$MINIRUN" ${ARGS[$name]} || rm_containers
	done
	if ((i + 1 == N || (i + 1) % 10 == 0)); then say "  $((i + 1))/$N"; fi
done

# ---------------------------------------------------------------- 2. throughput
# free_port: a TCP port nothing listens on, from 5201 (iperf3's) up.
free_port() {
	local p
	for ((p = 5201; p < 5300; p++)); do
		[[ -z $(ss -Htln "sport = :$p") ]] && { echo "$p"; return 0; }
	done
	return 1
}

# iperf_run NAME ADDR [nsenter args]: one iperf3 test of SECS s to ADDR, the
# server bound to ADDR only; appends "Gbit/s retransmits" to $M/NAME.tput.
iperf_run() {
	local name=$1 addr=$2 port i rc=0 json=$LOGS/$1-$RUN.json
	shift 2
	port=$(free_port) || { warn "no free TCP port in 5201-5299"; return 1; }
	timeout $((SECS + 60)) iperf3 -s -1 -B "$addr" -p "$port" >>"$LOGS/$name-server.log" 2>&1 &
	SRV_PID=$!
	for ((i = 0; i < 100; i++)); do
		ss -Htln "sport = :$port" | grep -qF "$addr:$port" && break
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.05
	done
	"$@" timeout $((SECS + 30)) iperf3 -c "$addr" -p "$port" -t "$SECS" -J >"$json" 2>>"$LOGS/$name-client.log" || rc=$?
	stop_pid "$SRV_PID" 5
	SRV_PID=
	if ((rc != 0)) || ! jq -e '.end.sum_received.bits_per_second' "$json" >/dev/null 2>&1; then
		warn "$name: iperf3 run $RUN failed (exit $rc): $(jq -r '.error // empty' "$json" 2>/dev/null)$(tail -n 2 "$LOGS/$name-client.log" 2>/dev/null)"
		return 1
	fi
	jq -r '"\(.end.sum_received.bits_per_second / 1e9) \(.end.sum_sent.retransmits // "nan")"' "$json" >>"$M/$name.tput"
}

CTR_IP=
if ((R > 0)); then
	say "starting the long-running container $CTR_NAME on $BRIDGE ..."
	"$MINIRUN" run --rm --init --name "$CTR_NAME" busybox sleep 86400 </dev/null >"$LOGS/container.log" 2>&1 &
	CTR_PID=$!
	CTR_ID=
	for ((i = 0; i < 200; i++)); do
		CTR_ID=$("$MINIRUN" network inspect bridge 2>/dev/null | jq -r --arg n "$CTR_NAME" '.[0].Containers // {} | to_entries[] | select(.value.Name == $n) | .key') || true
		[[ -z $CTR_ID ]] || break
		kill -0 "$CTR_PID" 2>/dev/null || die "the container exited: $(cat "$LOGS/container.log")"
		sleep 0.05
	done
	[[ -n $CTR_ID ]] || die "the container did not show in 'minirun network inspect bridge' within 10 s"
	CTR_IP=$("$MINIRUN" network inspect bridge | jq -r --arg id "$CTR_ID" '.[0].Containers[$id].IPv4Address')
	HOST_VETH=$("$MINIRUN" network inspect bridge | jq -r --arg id "$CTR_ID" '.[0].Containers[$id].HostVeth // empty')
	[[ -z $HOST_VETH ]] || MTU=$(cat "/sys/class/net/$HOST_VETH/mtu" 2>/dev/null || echo "$MTU")
	CPID=$("$MINIRUN" state "$CTR_ID" | jq -r .pid)
	[[ $CPID =~ ^[0-9]+$ && $CPID -gt 0 ]] || die "no pid in 'minirun state $CTR_ID'"
	say "container $CTR_NAME: pid $CPID, $CTR_IP; gateway $GW"
	say "iperf3: $R runs of $SECS s each, container -> $GW (veth, $BRIDGE) and 127.0.0.1 -> 127.0.0.1, interleaved ..."
	for ((RUN = 1; RUN <= R; RUN++)); do
		iperf_run veth "$GW" nsenter -t "$CPID" -n || true
		iperf_run lo 127.0.0.1 || true
		printf '  %d/%d: veth %s Gbit/s, loopback %s Gbit/s\n' "$RUN" "$R" \
			"$(tail -n 1 "$M/veth.tput" 2>/dev/null | awk '{printf "%.2f", $1}')" \
			"$(tail -n 1 "$M/lo.tput" 2>/dev/null | awk '{printf "%.2f", $1}')"
	done
	say "stopping the container ..."
	stop_pid "$CTR_PID" 10
	CTR_PID=
fi

# ---------------------------------------------------------------- statistics
declare -A R_UMED R_SMED
for name in "${NAMES[@]}"; do
	stats "$name"
	R_UMED[$name]=$(awk '$5 == 0 {print $2 / 1e3}' "$M/$name" 2>/dev/null | median)
	R_SMED[$name]=$(awk '$5 == 0 {print $3 / 1e3}' "$M/$name" 2>/dev/null | median)
	count_runs "$name" "$N"
	ROWS_TXT+=("$(printf '%-46s %5s  %8s  %13s  %8s  %8s  %8s' "${LABEL[$name]}" "$RUNS_TXT" "$(fmt "$WMED")" "$(fmt "$WMIN") - $(fmt "$WMAX")" \
		"$(fmt "$CMED")" "$(fmt "${R_UMED[$name]}")" "$(fmt "${R_SMED[$name]}")")")
	ROWS_MD+=("| \`${LABEL[$name]}\` | $RUNS_TXT | $(fmt "$WMED") | $(fmt "$WMIN")–$(fmt "$WMAX") | $(fmt "$CMED") | $(fmt "${R_UMED[$name]}") | $(fmt "${R_SMED[$name]}") |")
done
# diff A B: A - B ("nan" when either is missing)
diff_of() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || a == "" || b == "") print "nan"; else print a - b }'; }
D_WALL=$(diff_of "${R_WMED[bridge]}" "${R_WMED[none]}")
D_CPU=$(diff_of "${R_CMED[bridge]}" "${R_CMED[none]}")
# The runs alternate, so run i of each is a pair taken back to back: the
# median of the N paired differences is a second, drift-proof estimate.
D_PAIRED=$(paste "$M/bridge" "$M/none" 2>/dev/null | awk '$5 == 0 && $10 == 0 {print ($1 - $6) / 1e6}' | median)
COST_TXT=(
	"networking cost per container (bridge - none): wall $(fmt "$D_WALL") ms (difference of medians; median of the paired differences $(fmt "$D_PAIRED") ms), CPU $(fmt "$D_CPU") ms"
	"bridge/none: $(ratios bridge none)"
)

TPUT_TXT=()
TPUT_MD=()
if ((R > 0)); then
	declare -A T_MED
	declare -A T_LABEL=([veth]="container -> host: veth, $BRIDGE, $GW" [lo]="host loopback: 127.0.0.1")
	for name in veth lo; do
		f=$M/$name.tput
		n=0
		[[ -s $f ]] && n=$(wc -l <"$f")
		T_MED[$name]=$(awk '{print $1}' "$f" 2>/dev/null | median)
		tmin=$(awk '{print $1}' "$f" 2>/dev/null | sort -n | awk 'NR == 1')
		tmax=$(awk '{print $1}' "$f" 2>/dev/null | sort -n | awk 'END {print}')
		rtx=$(awk '$2 != "nan" {print $2}' "$f" 2>/dev/null | median)
		runs=$n
		((n == R)) || runs="$n (+$((R - n)) failed)"
		((n == R)) || NOTES+=("${T_LABEL[$name]}: $((R - n)) of $R iperf3 runs failed")
		TPUT_TXT+=("$(printf '%-46s %5s  %8s  %13s  %11s' "${T_LABEL[$name]}" "$runs" "$(fmt "${T_MED[$name]}" 2)" "$(fmt "$tmin" 2) - $(fmt "$tmax" 2)" "$(fmt "$rtx" 0)")")
		TPUT_MD+=("| ${T_LABEL[$name]} | $runs | $(fmt "${T_MED[$name]}" 2) | $(fmt "$tmin" 2)–$(fmt "$tmax" 2) | $(fmt "$rtx" 0) |")
	done
	T_RATIO="veth/loopback: $(ratio "${T_MED[veth]}" "${T_MED[lo]}")"
fi

# ---------------------------------------------------------------- machine info
machine_info
VERS=$(version "$MINIRUN")
((R == 0)) || VERS="$VERS; $(version iperf3)"
NET_DESC="default network on $BRIDGE, $SUBNET, gateway $GW, nftables table ip $TABLE; MTU $MTU (lo: $LO_MTU)"

HDR=$(printf '%-46s %5s  %8s  %13s  %8s  %8s  %8s' command runs "wall med" "wall min-max" "CPU med" "user med" "sys med")
UNITS=$(printf '%-46s %5s  %8s  %13s  %8s  %8s  %8s' "" "" ms ms ms ms ms)
{
	say ""
	say "== network setup + teardown per container: $N interleaved runs each, $WARMUP warm-up runs =="
	say "machine: $MACHINE, cgroups $CGMODE"
	say "$VERS, commit $COMMIT"
	say "network: $NET_DESC"
	say "timer: $TIMER_DESC"
	say ""
	table_txt
	say ""
	printf '%s\n' "${COST_TXT[@]}"
	if ((R > 0)); then
		say ""
		say "== TCP throughput, iperf3, one stream, $SECS s per run, $R runs per path (interleaved), client -> server =="
		printf '%-46s %5s  %8s  %13s  %11s\n' path runs "med" "min-max" "retransmits"
		printf '%-46s %5s  %8s  %13s  %11s\n' "" "" Gbit/s Gbit/s "med"
		printf '%s\n' "${TPUT_TXT[@]}"
		say ""
		say "$T_RATIO"
	fi
	notes_txt
	say ""
}

report_md() {
	say "# Bridge networking: cost per container and throughput"
	say ""
	say "$DATE. \`N=$N WARMUP=$WARMUP R=$R SECS=$SECS bench/network.sh\`."
	say ""
	say "- $MACHINE, cgroups $CGMODE"
	say "- $VERS; commit $COMMIT"
	say "- $NET_DESC"
	say "- timer: $TIMER_DESC"
	say ""
	say "## Setup + teardown per container"
	say ""
	say "$N runs each, interleaved (bridge, none, none, bridge, ...), after $WARMUP untimed runs each."
	say ""
	say "| command | runs | wall median (ms) | wall min–max (ms) | CPU median, user+sys (ms) | user median (ms) | sys median (ms) |"
	say "|---|---:|---:|---:|---:|---:|---:|"
	printf '%s\n' "${ROWS_MD[@]}"
	say ""
	printf -- '- %s\n' "${COST_TXT[@]}"
	if ((R > 0)); then
		say ""
		say "## TCP throughput, container → host"
		say ""
		say "iperf3, one TCP stream, $SECS s per run, $R runs per path, interleaved. veth: \`iperf3 -s -1 -B $GW\` on the host,"
		say "\`nsenter -t <container pid> -n iperf3 -c $GW -t $SECS -J\` in the container's network namespace. Loopback: both on the host,"
		say "\`-B 127.0.0.1\` / \`-c 127.0.0.1\`. Figure: \`end.sum_received.bits_per_second\`."
		say ""
		say "| path | runs | median (Gbit/s) | min–max (Gbit/s) | retransmits, median |"
		say "|---|---:|---:|---:|---:|"
		printf '%s\n' "${TPUT_MD[@]}"
		say ""
		say "- $T_RATIO"
	fi
	notes_md
}
write_result network.md report_md
