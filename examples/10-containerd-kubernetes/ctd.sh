# shellcheck shell=bash disable=SC2034 # (SOCK, CTR are for the scripts)
# Lab 10's helpers (sourced after lib.sh and tmpdir): a containerd of the
# lab's own, as tests/engines starts one: its configuration, root, state and
# socket below $TMP, in a mount namespace where /run is a private tmpfs
# (containerd 1.6 puts its shims' sockets in /run/containerd/s whatever its
# configuration says) and a network namespace with only lo.

need_containerd() {
	local t
	for t in containerd ctr containerd-shim-runc-v2 unshare; do
		command -v "$t" >/dev/null || skip "$t not found (Debian: apt-get install containerd)"
	done
}

# ctd_config: $TMP/containerd/config.toml, with the CRI plugin and a
# runtime "minirun" configured as docs/KUBERNETES.md says.
ctd_config() {
	local d=$TMP/containerd
	mkdir -p "$d"/{root,state,tmp,fifo,cni/conf,cni/bin}
	cat >"$d/config.toml" <<TOML
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$d/cni/bin"
    conf_dir = "$d/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.minirun]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.minirun.options]
        BinaryName = "$MINIRUN"
        Root = "$d/cri-minirun"
TOML
}

# start_containerd: starts it (log in $TMP/containerd/containerd.log), waits
# until it answers; SOCK is its socket, CTR the ctr command line for the
# namespace "lab". At exit: SIGTERM to containerd by PID, then SIGKILL to
# whatever is left in its mount namespace (shims outlive containerd by
# design; everything in that namespace was started by this lab).
start_containerd() {
	local d=$TMP/containerd i mnt
	SOCK=$d/containerd.sock
	CTR=(ctr --address "$SOCK" --namespace lab)
	TMPDIR=$d/tmp unshare --mount --net --propagation private sh -c '
mount -t tmpfs -o mode=0755 tmpfs /run
ip link set lo up
exec containerd --config "$1"' sh "$d/config.toml" >"$d/containerd.log" 2>&1 &
	CTD_PID=$!
	cleanup "ctd_stop $CTD_PID"
	for ((i = 0; i < 100; i++)); do
		ctr --address "$SOCK" version >/dev/null 2>&1 && break
		kill -0 "$CTD_PID" 2>/dev/null || die "containerd exited: $(tail -n 5 "$d/containerd.log")"
		sleep 0.2
	done
	ctr --address "$SOCK" version >/dev/null 2>&1 || die "containerd did not answer in 20 s: $(tail -n 5 "$d/containerd.log")"
	CTD_MNT=$(readlink "/proc/$CTD_PID/ns/mnt")
}

ctd_stop() {
	local pid=$1 p i
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[[ -n ${CTD_MNT:-} ]] || return 0
	for p in /proc/[0-9]*; do
		[[ $(readlink "$p/ns/mnt" 2>/dev/null) == "$CTD_MNT" ]] && kill -KILL "${p#/proc/}" 2>/dev/null
	done
	return 0
}
