#!/usr/bin/env bash
# bench/engines.sh: `minirun run --rm busybox true` end to end (image store,
# overlay, cgroup, bridge network, teardown) against `docker run --rm
# busybox true` and `podman run --rm busybox true` on this machine, in one
# run. The daemons are the engine tests' own (tests/engines: a private
# dockerd with its containerd, podman with private storage; both with
# runc, Debian's, and with minirun as their OCI runtime), started and
# stopped by the Go benchmarks, which are also the timers:
#
#   go test -run '^$' -bench 'DockerRun|PodmanRun|CtrRun' ./tests/engines/
#   go test -run '^$' -bench Run ./tests/integration/
#
# Docker and podman run with --network none (their tests' daemons have no
# bridge: dockerd --bridge=none, so that they touch nothing of the host's
# network), minirun with its default bridge: the comparison favours them.
#
#   sudo bench/engines.sh            # N=10 runs each
#   sudo N=20 bench/engines.sh
#
# Writes bench/results/engines.md. Needs root, Go, docker.io, podman,
# containerd (Debian packages; `make test-deps` installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

N=${N:-10}
need_whole N
need_min N 2
need_root "daemons, containers"
find_go
[[ -n $GO ]] || die "go not found: sudo env PATH=\$PATH:/usr/local/go/bin bench/engines.sh"
make_tmp engines
cleanup() { rm -rf "$TMP"; }
on_exit cleanup
OUT=$TMP/bench.txt

say "== minirun run --rm busybox true (default bridge network), N=$N"
(cd "$repo" && "$GO" test -count=1 -run '^$' -bench '^BenchmarkRun$/no-limits' -benchtime "${N}x" ./tests/integration/) | tee -a "$OUT"
say "== docker / podman / ctr run --rm busybox true (--network none), runc and minirun as their runtime, N=$N"
(cd "$repo" && "$GO" test -count=1 -timeout 20m -run '^$' -bench 'DockerRun|PodmanRun|CtrRun' -benchtime "${N}x" ./tests/engines/) | tee -a "$OUT" || warn "an engine benchmark failed (see above): its row is missing"

# "BenchmarkDockerRun/runc-2   10   301234567 ns/op" → ms by name.
declare -A MS=()
while read -r name _ ns _; do
	name=${name#Benchmark}
	name=${name%-[0-9]*}
	MS[$name]=$(awk -v n="$ns" 'BEGIN { printf "%.1f", n / 1e6 }')
done < <(grep -E '^Benchmark[^[:space:]]+[[:space:]]+[0-9]+[[:space:]]+[0-9.]+ ns/op' "$OUT")

row() { # row LABEL KEY [x]: with x, a ratio column (minirun's run / this row)
	local v=${MS[$2]:-n/a} r='' base=${3:-}
	if [[ -n $base && $v != n/a ]]; then r=$(ratio "${MS[Run/no-limits]:-nan}" "$v"); fi
	printf '| %s | %s | %s |\n' "$1" "$v" "${r:-}"
}
report() {
	say "## minirun run against docker run and podman run"
	say ""
	say "Mean wall time of one \`run --rm busybox true\`, N=$N each, in one run of \`bench/engines.sh\`;"
	say "the last column is minirun's \`run\` (with its bridge network) divided by that row (the issue's goal: at most 0.10 against docker and podman)."
	say ""
	say "| command | ms | minirun run / this |"
	say "|---|---:|---:|"
	row "\`minirun run --rm busybox true\` (default bridge)" "Run/no-limits"
	row "\`docker run --rm --network none busybox true\` (runc)" "DockerRun/runc" x
	row "\`docker run --runtime minirun ...\`" "DockerRun/minirun" x
	row "\`podman run --rm --network none busybox true\` (runc)" "PodmanRun/runc" x
	row "\`podman --runtime minirun run ...\`" "PodmanRun/minirun" x
	row "\`ctr run --rm busybox true\` (runc)" "CtrRun/runc" x
	row "\`ctr run --runc-binary minirun ...\`" "CtrRun/minirun" x
	say ""
	say "Machine: $MACHINE; cgroups $CGMODE; minirun $COMMIT; $DATE."
}
machine_info
report
write_result engines.md report
