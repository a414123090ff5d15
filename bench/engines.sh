#!/usr/bin/env bash
# bench/engines.sh: the issue's comparisons with docker and podman, in one
# run, on this machine:
#
# 1. `minirun run --rm busybox true` end to end (image store, overlay,
#    cgroup, bridge network, teardown) against `docker run --rm busybox
#    true` and `podman run --rm busybox true`, each on its default bridge
#    network, each engine with runc and with minirun as its OCI runtime
#    (goal: minirun at most 0.1x of docker and of podman); then the same with
#    --network none (and ctr, which has no network of its own);
# 2. N (default 100) detached containers on one network made for the run,
#    one after another, until the last one reaches the first by name (`exec
#    <last> ping -c1 -W2 <first>`): minirun against podman (netavark,
#    aardvark-dns, runc) (goal: minirun at least 3x faster).
#
# The daemons and engines are the engine tests' own (tests/engines: a
# private dockerd with its containerd, podman with private storage and
# configuration), started and stopped by the Go benchmarks, which are also
# the timers:
#
#   go test -run '^$' -bench 'MinirunRun|DockerRun|PodmanRun|CtrRun' -benchtime 10x ./tests/engines/
#   MINIRUN_BENCH_FLEET=100 go test -run '^$' -bench Fleet -benchtime 1x ./tests/engines/
#
# Every engine's bridge network is in a network namespace of its own:
# dockerd starts in one (its docker0, iptables rules and ip_forward are
# that namespace's), podman's and minirun's commands nsenter a holder
# process's. Nothing of the host's network is created or changed; the
# script compares the host's links, addresses, routes, nftables and
# iptables rules and ip_forward before and after, and says so.
#
#   sudo bench/engines.sh                  # N=10 runs each, FLEET=100 containers
#   sudo N=5 FLEET=10 bench/engines.sh     # quick
#   sudo FLEET=0 bench/engines.sh          # no N-container part
#
# Writes bench/results/engines.md. Needs root, Go, docker.io, podman
# (with netavark and aardvark-dns, Debian 12's podman pulls them in),
# containerd, runc, util-linux (unshare, nsenter), iproute2 (Debian
# packages; `make test-deps` installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

N=${N:-10}
FLEET=${FLEET:-100}
need_whole N FLEET
need_min N 2
((FLEET == 0 || FLEET >= 2)) || die "FLEET must be 0 (skip) or at least 2"
need_root "daemons, containers, network namespaces"
need_tools "Debian packages util-linux, iproute2, nftables" unshare nsenter ip nft
find_go
[[ -n $GO ]] || die "go not found: sudo env PATH=\$PATH:/usr/local/go/bin bench/engines.sh"
make_tmp engines
cleanup() { rm -rf "$TMP"; }
on_exit cleanup
OUT=$TMP/bench.txt

# host_net: the host's network, counters left out.
host_net() {
	ip -o link show | awk -F': ' '{print "link", $2}'
	ip -o addr show | sed 's/ *valid_lft.*//; s/^/addr /'
	ip route show table all | sed 's/^/route /'
	nft list ruleset 2>&1 | sed -E 's/counter packets [0-9]+ bytes [0-9]+//; s/^/nft /'
	iptables-save 2>&1 | sed -E '/^#/d; s/\[[0-9]+:[0-9]+\]//; s/^/iptables /'
	{ iptables-legacy-save 2>/dev/null || true; } | sed -E '/^#/d; s/\[[0-9]+:[0-9]+\]//; s/^/legacy /'
	echo "ip_forward $(cat /proc/sys/net/ipv4/ip_forward)"
}
host_net >"$TMP/net.before"

# One minirun and one busybox tar for every engine's world.
build_minirun
"$repo/scripts/busybox-rootfs.sh" >"$TMP/busybox.tar" || die "scripts/busybox-rootfs.sh failed (needs Debian's busybox-static)"
export MINIRUN_TEST_BINARY=$MINIRUN MINIRUN_TEST_BUSYBOX_TAR=$TMP/busybox.tar

say "== run --rm busybox true: minirun, docker, podman on their default bridges and with --network none; ctr; N=$N"
(cd "$repo" && "$GO" test -count=1 -timeout 30m -run '^$' -bench 'MinirunRun|DockerRun|PodmanRun|CtrRun' -benchtime "${N}x" ./tests/engines/) 2>&1 | tee -a "$OUT" || warn "an engine benchmark failed (see above): its row is missing"
if ((FLEET)); then
	say "== $FLEET detached containers on one network until the last pings the first by name: minirun, podman"
	(cd "$repo" && MINIRUN_BENCH_FLEET=$FLEET "$GO" test -count=1 -timeout 60m -run '^$' -bench Fleet -benchtime 1x ./tests/engines/) 2>&1 | tee -a "$OUT" || warn "the fleet benchmark failed (see above): its rows are missing"
fi

host_net >"$TMP/net.after"
# What changed, in short: links, nftables tables, iptables rules, ip_forward
# (addresses and routes follow the links). The engines' own names: docker0,
# podman<n>, veth*, cni-*, the DOCKER, NETAVARK and CNI chains.
WHAT="links, addresses, routes, \`nft list ruleset\`, \`iptables-save\`, \`iptables-legacy-save\`, ip_forward"
CHANGED=$({ diff "$TMP/net.before" "$TMP/net.after" || true; } | awk '/^[<>] (link|nft table|ip_forward|iptables -A|legacy -A)/' | sed 's/ {$//; s/^</removed/; s/^>/added/' | tr '\n' ';')
if [[ -z $CHANGED ]] && diff -q "$TMP/net.before" "$TMP/net.after" >/dev/null; then
	NOTES+=("The host's network was the same after the run as before ($WHAT).")
elif grep -qE 'docker|DOCKER|podman|NETAVARK|netavark|CNI|cni-|veth|ip_forward' <<<"$CHANGED"; then
	warn "LEFT CHANGED: the host's network, as an engine would change it: $CHANGED"
	NOTES+=("**The host's network changed during the run, as an engine would change it**: $CHANGED")
else
	NOTES+=("The host's network changed during the run, but not by this run's engines (whose names are docker0, podman*, veth*, cni-*, DOCKER/NETAVARK/CNI chains): someone else's on this shared machine: ${CHANGED:-addresses or routes only}")
fi

# "BenchmarkDockerRun/runc-2   10   301234567 ns/op   1.2 s/up ..." → ms (and
# the metrics) by name.
declare -A MS=() METRIC=()
while read -r name _ ns _ rest; do
	name=${name#Benchmark}
	name=${name%-[0-9]*}
	MS[$name]=$(awk -v n="$ns" 'BEGIN { printf "%.1f", n / 1e6 }')
	# shellcheck disable=SC2086 # "value unit" pairs
	set -- $rest
	while (($# >= 2)); do
		METRIC[$name/$2]=$1
		shift 2
	done
done < <(grep -E '^Benchmark[^[:space:]]+[[:space:]]+[0-9]+[[:space:]]+[0-9.]+ ns/op' "$OUT")

# row LABEL KEY [BASE]: a table row; with BASE, the ratio BASE's ms / this.
row() {
	local v=${MS[$2]:-n/a} r=''
	if [[ -n ${3:-} && $v != n/a ]]; then r=$(ratio "${MS[$3]:-nan}" "$v"); fi
	printf '| %s | %s | %s |\n' "$1" "$v" "$r"
}
# engine_rows SUFFIX NET FLAGS: the table of minirun's, docker's and podman's
# `run --rm FLAGS busybox true`: BenchmarkMinirunRun/NET, then
# BenchmarkDockerRunSUFFIX and BenchmarkPodmanRunSUFFIX with runc and
# minirun, with the ratio minirun's / this.
engine_rows() {
	local s=$1 base=MinirunRun/$2 f=$3
	say "| command | ms | minirun run ${f}/ this |"
	say "|---|---:|---:|"
	row "\`minirun run --rm ${f}busybox true\`" "$base"
	row "\`docker run --rm ${f}busybox true\` (runc)" "DockerRun$s/runc" "$base"
	row "\`docker run --runtime minirun ...\`" "DockerRun$s/minirun" "$base"
	row "\`podman run --rm ${f}busybox true\` (runc)" "PodmanRun$s/runc" "$base"
	row "\`podman --runtime minirun run ...\`" "PodmanRun$s/minirun" "$base"
}
# fleet_row LABEL KEY: a row of the N-container table.
fleet_row() {
	local k=$2
	printf '| %s | %s | %s | %s | %s |\n' "$1" "$(fmt "${METRIC[$k/s/up]:-nan}" 2)" "$(fmt "${METRIC[$k/ms/run-d]:-nan}" 1)" \
		"$(fmt "${METRIC[$k/pings/op]:-nan}" 0)" "$(fmt "${METRIC[$k/s/rm]:-nan}" 2)"
}
report() {
	say "## minirun against docker and podman"
	say ""
	say "In one run of \`N=$N FLEET=$FLEET bench/engines.sh\` (Go benchmarks of tests/engines). Every engine's bridge network"
	say "lives in a network namespace of the benchmark's own (dockerd starts in one; podman's and minirun's commands enter one):"
	say "the same work for all, and nothing of the host's network is touched."
	say ""
	say "### \`run --rm busybox true\` on the default bridge network"
	say ""
	say "Mean wall time of one run, N=$N each after one untimed run; the last column is minirun's"
	say "\`run\` divided by that row (the issue's goal: at most 0.10 against docker and podman)."
	say "docker: dockerd's default bridge docker0 with its iptables rules, ip_forward and masquerading;"
	say "podman: its default network \`podman\` (netavark); minirun: its default network on minirun0 (nftables)."
	say ""
	engine_rows Bridge bridge ""
	say ""
	say "### \`run --rm --network none busybox true\`"
	say ""
	say "The same without a network (only \`lo\`); the last column is minirun's \`run --network none\` divided by that row."
	say "ctr has no network of its own: its container gets a new network namespace with only \`lo\`."
	say ""
	engine_rows "" none "--network none "
	row "\`ctr run --rm busybox true\` (runc)" CtrRun/runc MinirunRun/none
	row "\`ctr run --runc-binary minirun ...\`" CtrRun/minirun MinirunRun/none
	if ((FLEET)); then
		say ""
		say "### $FLEET containers up and reachable by name"
		say ""
		say "\`run -d --network <a network made for the run> --name <name> busybox sleep 600\`, $FLEET times one after another,"
		say "then \`exec <last> ping -c1 -W2 <first>\` until it answers (name resolution: minirun's hosts files, podman's"
		say "aardvark-dns); **up** is the time from the first \`run -d\` to that answer; then one \`rm -f\` of all of them."
		say "podman with runc, netavark and aardvark-dns. One op each."
		say ""
		say "| engine | up (s) | one run -d, mean (ms) | pings | rm -f of all (s) |"
		say "|---|---:|---:|---:|---:|"
		fleet_row minirun Fleet/minirun
		fleet_row podman Fleet/podman
		say ""
		say "podman's time up / minirun's: $(ratio "${METRIC[Fleet/podman/s/up]:-nan}" "${METRIC[Fleet/minirun/s/up]:-nan}") (the issue's goal: at least 3)."
	fi
	notes_md
	say ""
	say "Machine: $MACHINE; cgroups $CGMODE; minirun $COMMIT; $DATE. $(version podman); $(version dockerd); $(version runc)."
}
machine_info
report
write_result engines.md report
