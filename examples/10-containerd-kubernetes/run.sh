#!/usr/bin/env bash
# Lab 10: minirun under containerd (ctr run --runc-binary), and how
# Kubernetes selects it (a RuntimeClass naming a containerd runtime).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
# shellcheck source=ctd.sh
. "$here/ctd.sh"
need_busybox
need_containerd
tmpdir
D=$TMP/containerd
ID=lab10-$$

step "a containerd of our own"
say "containerd manages images (content store, snapshots) and containers; it" \
	"does not run them itself. For each container it starts a shim" \
	"(containerd-shim-runc-v2), and the shim runs a runc-compatible binary:" \
	"create, start, state, kill, delete - the verbs of lab 09." \
	"This containerd has its configuration, root, state and socket in $D," \
	"so it does not touch the host's (if any)."
# after containerd is stopped: the containers' cgroups (and what is left in them)
cleanup "rm_cgroups lab10-$$"
ctd_config
show_sh "grep -A4 'runtimes.minirun\\]' $D/config.toml"
start_containerd
show "${CTR[@]}" version

step "an image for containerd"
say "containerd has its own image store. 'minirun save' writes an archive that" \
	"'ctr images import' reads (lab 07)."
show minirun save -o "$TMP/busybox.tar" busybox
show "${CTR[@]}" images import "$TMP/busybox.tar"
show "${CTR[@]}" images ls -q

step "ctr run with minirun as the runtime binary"
say "--runc-binary tells the shim which binary to exec instead of runc;" \
	"--runc-root is that binary's --root (its state directory). --cgroup is" \
	"the OCI cgroupsPath: relative, so below your own cgroup."
show "${CTR[@]}" run --rm --runc-binary "$MINIRUN" --runc-root "$D/minirun-state" --fifo-dir "$D/fifo" \
	--cgroup "lab10-$$/a" docker.io/library/busybox:latest "$ID-a" \
	sh -c 'echo "hello from $(hostname), PID $$"; grep -E "^(CapEff|Seccomp):" /proc/self/status'

step "a detached task: who runs what"
cleanup "${CTR[*]} task kill -s KILL $ID-b; sleep 0.5; ${CTR[*]} task delete $ID-b; ${CTR[*]} container delete $ID-b"
show "${CTR[@]}" run -d --runc-binary "$MINIRUN" --runc-root "$D/minirun-state" --fifo-dir "$D/fifo" \
	--cgroup "lab10-$$/b" docker.io/library/busybox:latest "$ID-b" sleep 300
show "${CTR[@]}" task ls
say "minirun's own view, in the state root the shim gave it:"
show minirun --root "$D/minirun-state/lab" list
SHIM=$(ps -o ppid= -p "$("${CTR[@]}" task ls | awk -v id="$ID-b" '$1 == id {print $2}')" | tr -d ' ')
show ps -o pid,args -p "$SHIM"
say "The container's parent is the shim, not containerd: containerd can restart" \
	"without killing containers. minirun ran only for create and start and exited."
show "${CTR[@]}" task kill -s KILL "$ID-b"
sleep 0.5
show "${CTR[@]}" task delete "$ID-b"
show "${CTR[@]}" container delete "$ID-b"

step "Kubernetes: a RuntimeClass"
say "The kubelet speaks CRI to containerd's CRI plugin. A runtime named in" \
	"containerd's configuration (here 'minirun', see config.toml above) is" \
	"chosen per pod by a RuntimeClass whose handler is that name:"
show_sh "cd $REPO && sed -n '/^## 2. The RuntimeClass/,/^## 3/p' docs/KUBERNETES.md | grep -v '^##'"
if command -v crictl >/dev/null; then
	say "crictl talks CRI like the kubelet: containerd knows the handler 'minirun':"
	show_sh "crictl --runtime-endpoint unix://$SOCK info | jq '.config.containerd.runtimes.minirun | {runtimeType, options}'"
else
	say "(crictl is not installed: 'go install sigs.k8s.io/cri-tools/cmd/crictl@latest'" \
		" to ask containerd's CRI plugin directly. docs/KUBERNETES.md runs a pod" \
		" with crictl runp --runtime minirun; tests/engines TestCRI does it in CI.)"
fi
say "Done. Now run ./check.sh to check your work."
