#!/usr/bin/env bash
# Lab 10, check your work: containerd runs containers through minirun.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
# shellcheck source=ctd.sh
. "$here/ctd.sh"
need_busybox
need_containerd
tmpdir
D=$TMP/containerd ID=lab10c-$$
# after containerd is stopped: the containers' cgroups (and what is left in them)
cleanup "rm_cgroups lab10c-$$"
ctd_config
start_containerd
check "containerd answers on the lab's socket" "${CTR[@]}" version
minirun save -o "$TMP/busybox.tar" busybox
check "ctr images import of minirun's save archive" "${CTR[@]}" images import "$TMP/busybox.tar"
run=("${CTR[@]}" run --runc-binary "$MINIRUN" --runc-root "$D/minirun-state" --fifo-dir "$D/fifo")
out=$("${run[@]}" --rm --cgroup "lab10c-$$/a" docker.io/library/busybox:latest "$ID-a" sh -c 'echo pid $$; grep -E "^CapEff:" /proc/self/status' 2>&1 || true)
check_match "ctr run --runc-binary minirun: the command runs as PID 1" "$out" '^pid 1$'
check_match "with Docker's capabilities" "$out" 'CapEff:\s+00000000a80425fb'
rc=0
"${run[@]}" --rm --cgroup "lab10c-$$/b" docker.io/library/busybox:latest "$ID-b" sh -c 'exit 7' >/dev/null 2>&1 || rc=$?
check_eq "the exit code comes back through the shim" "$rc" 7

cleanup "${CTR[*]} task kill -s KILL $ID-c; sleep 0.5; ${CTR[*]} task delete $ID-c; ${CTR[*]} container delete $ID-c"
"${run[@]}" -d --cgroup "lab10c-$$/c" docker.io/library/busybox:latest "$ID-c" sleep 300 >/dev/null
pid=$("${CTR[@]}" task ls | awk -v id="$ID-c" '$1 == id {print $2}')
check_match "a detached task is RUNNING" "$("${CTR[@]}" task ls)" "^$ID-c +$pid +RUNNING"
check_match "minirun's state root (given by the shim) has it, running" "$(minirun --root "$D/minirun-state/lab" list)" "^$ID-c +$pid +running"
check_match "its parent is the shim" "$(ps -o args= -p "$(ps -o ppid= -p "$pid" | tr -d ' ')")" 'containerd-shim-runc-v2'
"${CTR[@]}" task kill -s KILL "$ID-c"
for _ in 1 2 3 4 5 6 7 8 9 10; do "${CTR[@]}" task ls | grep -q "^$ID-c .*STOPPED" && break; sleep 0.2; done
check_match "task kill: STOPPED" "$("${CTR[@]}" task ls)" "^$ID-c .*STOPPED"
"${CTR[@]}" task delete "$ID-c" >/dev/null 2>&1 || true
"${CTR[@]}" container delete "$ID-c"
check_no_match "task delete: gone from minirun's state" "$(minirun --root "$D/minirun-state/lab" list)" "^$ID-c "

check_match "the CRI plugin loaded with the runtime 'minirun' configured" "$("${CTR[@]}" plugins ls)" 'io.containerd.grpc.v1 +cri .* ok'
if command -v crictl >/dev/null; then
	check_eq "crictl: containerd's CRI knows the handler minirun (a RuntimeClass's handler)" \
		"$(crictl --runtime-endpoint "unix://$SOCK" info | jq -r '.config.containerd.runtimes.minirun.options.BinaryName')" "$MINIRUN"
else
	echo "SKIP the crictl check: crictl is not installed (tests/engines TestCRI runs pods through the CRI plugin)"
fi
finish
