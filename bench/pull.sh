#!/usr/bin/env bash
# bench/pull.sh: pull + unpack of one multi-layer image from a registry on
# 127.0.0.1, by minirun, by skopeo + umoci and by podman.
#
#   sudo bench/pull.sh                 N=5 timed runs per tool
#   sudo N=3 bench/pull.sh
#   sudo MINIRUN=/path/to/minirun bench/pull.sh   time that binary, build none
#
# The registry is bench/registry/main.go (go-containerregistry's in-process
# registry, with a generated, deterministic 5-layer gzip image of ~66 MB and
# 6,000 files pushed to it). The three tools run interleaved (minirun,
# skopeo+umoci, podman, minirun, ...), each into a fresh empty store; the
# store is deleted between runs with the timer stopped. All work dirs are on a
# scratch ext4 filesystem (with a journal) on a loop device. Prints a table
# and writes it as Markdown to bench/results/pull.md. See bench/README.md.
#
# Env: N (timed runs per tool, default 5), WARMUP (untimed runs per tool
# first, default 1), MINIRUN, SCRATCH_SIZE (sparse image size, default 4G).
#
# Needs root, Go (builds minirun, the registry and bench/timeit.go), losetup,
# mkfs.ext4, and for the other rows skopeo + umoci and podman (Debian
# packages skopeo, umoci, podman; a missing tool's row is skipped). Installs
# nothing, configures nothing globally (podman gets its config through env
# and flags pointing into the temp dir). Everything lives in one mktemp -d
# directory under /tmp; the registry, the loop device and the mounts are
# removed on exit, interrupted or not.
set -euo pipefail

N=${N:-5}
WARMUP=${WARMUP:-1}
SCRATCH_SIZE=${SCRATCH_SIZE:-4G}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

say() { printf '%s\n' "$*"; }
warn() { printf 'pull.sh: %s\n' "$*" >&2; }
die() {
	warn "$*"
	exit 1
}

for v in N WARMUP; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
((N >= 1)) || die "N must be at least 1"
((EUID == 0)) || die "needs root (loop device, mounts, podman's overlay storage): sudo bench/pull.sh"
for t in losetup mkfs.ext4 mount umount awk sort du; do
	command -v "$t" >/dev/null || die "$t not found"
done
GO=$(command -v go || true)
[[ -n $GO ]] || { [[ -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go; } || true
[[ -n $GO ]] || die "go not found: add /usr/local/go/bin to PATH (needed for the registry and the timer)"

# Global paths skopeo and podman create as root even with every flag below
# (skopeo: the blob info cache /var/lib/containers/cache; podman:
# /run/containers/networks). Those that do not exist now are removed at exit.
GLOBAL_NEW=()
for p in /var/lib/containers /var/lib/containers/cache /run/containers; do
	[[ -e $p ]] || GLOBAL_NEW+=("$p")
done

# ---------------------------------------------------------------- temp dir, cleanup
TMP=$(mktemp -d /tmp/minirun-pullbench.XXXXXX)
W=$TMP/scratch # the loop-mounted ext4
M=$TMP/measure
LOGS=$TMP/logs
mkdir -p "$W" "$M" "$LOGS" "$TMP/bin" "$TMP/conf"
LOOP=
REG_PID=

# podman's flags: state, storage and temp dirs on the scratch fs; no systemd,
# no journald. Config files come from env vars pointing into the temp dir.
export CONTAINERS_REGISTRIES_CONF=$TMP/conf/registries.conf
export CONTAINERS_CONF=$TMP/conf/containers.conf
export CONTAINERS_STORAGE_CONF=$TMP/conf/storage.conf
printf 'unqualified-search-registries = []\n' >"$CONTAINERS_REGISTRIES_CONF"
printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' >"$CONTAINERS_CONF"
printf '[storage]\ndriver = "overlay"\nrunroot = "%s"\ngraphroot = "%s"\n' "$W/podman/run" "$W/podman/root" >"$CONTAINERS_STORAGE_CONF"
podman_flags() { # podman_flags DIR
	PF=(--root "$1/root" --runroot "$1/run" --tmpdir "$1/tmp" --storage-driver overlay
		--cgroup-manager cgroupfs --events-backend file)
}

# umount_below DIR: unmounts everything mounted below DIR (not DIR itself), deepest first.
umount_below() {
	awk -v t="$1/" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	return 0
}

# clean_podman DIR: podman system reset, then unmount and remove what is left.
clean_podman() {
	local d=$1
	[[ -e $d ]] || return 0
	if [[ -d $d/root && -n ${PODMAN:-} ]]; then
		podman_flags "$d"
		"$PODMAN" "${PF[@]}" system reset -f >>"$LOGS/podman-reset.log" 2>&1 || true
	fi
	umount_below "$d"
	rm -rf --one-file-system "$d"
}

CLEANED=
cleanup() {
	local rc=$? left=0 d p
	[[ -z $CLEANED ]] || return 0
	CLEANED=1
	set +e
	trap '' INT TERM HUP
	((rc == 0)) || printf '\n'
	if [[ -n $REG_PID ]]; then
		kill "$REG_PID" 2>/dev/null
		wait "$REG_PID" 2>/dev/null
	fi
	if mountpoint -q "$W"; then
		for d in "$W"/podman*; do
			[[ -d $d ]] && clean_podman "$d"
		done
	fi
	umount_below "$W"
	if mountpoint -q "$W"; then
		umount "$W" 2>/dev/null || umount -l "$W"
	fi
	[[ -z $LOOP ]] || losetup -d "$LOOP" 2>/dev/null
	rm -rf --one-file-system "$TMP"
	for ((i = ${#GLOBAL_NEW[@]} - 1; i >= 0; i--)); do
		p=${GLOBAL_NEW[i]}
		[[ -e $p ]] && rm -rf --one-file-system "$p"
	done
	# Check that nothing is left.
	if grep -q "$TMP" /proc/self/mountinfo; then
		warn "LEFT BEHIND: mounts:"
		grep "$TMP" /proc/self/mountinfo >&2
		left=1
	fi
	if losetup -a | grep -q "$TMP"; then
		warn "LEFT BEHIND: loop device: $(losetup -a | grep "$TMP")"
		left=1
	fi
	if [[ -n $REG_PID ]] && kill -0 "$REG_PID" 2>/dev/null; then
		warn "LEFT BEHIND: registry process $REG_PID"
		left=1
	fi
	if [[ -e $TMP ]]; then
		warn "LEFT BEHIND: $TMP"
		left=1
	fi
	for p in "${GLOBAL_NEW[@]}"; do
		[[ -e $p ]] && { warn "LEFT BEHIND: $p"; left=1; }
	done
	((left)) || say "cleanup: registry stopped, ${LOOP:-loop device} detached, $TMP removed; no mounts or loop devices left behind"
	return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------- scratch filesystem
# The root fs here is ext4 without a journal, where creating files right after
# a large rm -rf is several times slower for a while. A journaled ext4 on a
# sparse file behaves like a normal disk.
truncate -s "$SCRATCH_SIZE" "$TMP/scratch.img"
mkfs.ext4 -q -F "$TMP/scratch.img" || die "mkfs.ext4 failed"
LOOP=$(losetup -f --show "$TMP/scratch.img") || die "losetup failed"
mount "$LOOP" "$W" || die "mount $LOOP failed"
FS_DESC="ext4 (journal: $(dumpe2fs -h "$LOOP" 2>/dev/null | grep -q has_journal && echo on || echo off)) on $LOOP, $SCRATCH_SIZE sparse file in $(findmnt -no FSTYPE -T "$TMP" 2>/dev/null || echo '?') $TMP"

# ---------------------------------------------------------------- binaries
if [[ -n ${MINIRUN:-} ]]; then
	[[ -x $MINIRUN ]] || die "MINIRUN=$MINIRUN is not an executable"
	MINIRUN=$(realpath "$MINIRUN")
else
	say "building minirun ..."
	make -s -C "$repo" build GO="$GO" MINIRUN_OUT="$TMP/bin/minirun" || die "make build failed (the Makefile's static cgo build)"
	MINIRUN=$TMP/bin/minirun
fi
say "building the registry and the timer ..."
(cd "$repo" && "$GO" build -o "$TMP/bin/registry" bench/registry/main.go) || die "go build bench/registry/main.go failed"
(cd "$repo" && CGO_ENABLED=0 "$GO" build -o "$TMP/bin/timeit" bench/timeit.go) || die "go build bench/timeit.go failed"
TIMEIT=$TMP/bin/timeit

NOTES=()
SKOPEO=$(command -v skopeo || true)
UMOCI=$(command -v umoci || true)
PODMAN=$(command -v podman || true)
NAMES=(minirun skopeo podman)
declare -A LABEL=([minirun]="minirun pull" [skopeo]="skopeo copy + umoci unpack" [podman]="podman pull (overlay)")
ACTIVE=(minirun)
if [[ -n $SKOPEO && -n $UMOCI ]]; then
	ACTIVE+=(skopeo)
else
	NOTES+=("skopeo + umoci skipped: not installed (Debian packages skopeo, umoci)")
fi
if [[ -n $PODMAN ]]; then
	ACTIVE+=(podman)
else
	NOTES+=("podman skipped: not installed (Debian package podman)")
fi

# ---------------------------------------------------------------- registry
say "starting the registry and pushing the image ..."
"$TMP/bin/registry" >"$TMP/port" 2>"$LOGS/registry.log" &
REG_PID=$!
for ((i = 0; i < 600; i++)); do
	[[ -s $TMP/port ]] && break
	kill -0 "$REG_PID" 2>/dev/null || die "the registry exited: $(cat "$LOGS/registry.log")"
	sleep 0.1
done
PORT=$(head -n 1 "$TMP/port")
[[ $PORT =~ ^[0-9]+$ ]] || die "the registry printed no port within 60 s: $(cat "$LOGS/registry.log")"
REF=127.0.0.1:$PORT/bench/img:1
IMAGE_DESC=$(sed -n 's/^registry: pushed //p' "$LOGS/registry.log" | sed "s|^127.0.0.1:$PORT/||")
say "image: $IMAGE_DESC"

# ---------------------------------------------------------------- commands
# cmd_for NAME: sets CMD (the timed command) for one run into a fresh store.
cmd_for() {
	case $1 in
	minirun) CMD=("$MINIRUN" --data-root "$W/minirun" pull -q "$REF") ;;
	skopeo) CMD=(sh -c '"$0" copy -q --src-tls-verify=false "docker://$2" "oci:$3:img" && "$1" unpack --image "$3:img" "$4"' \
		"$SKOPEO" "$UMOCI" "$REF" "$W/oci" "$W/bundle") ;;
	podman)
		podman_flags "$W/podman"
		CMD=("$PODMAN" "${PF[@]}" pull -q --tls-verify=false "$REF")
		;;
	esac
}
# out_of NAME: what a run of NAME leaves (for the size column)
out_of() {
	case $1 in
	minirun) echo "$W/minirun" ;;
	skopeo) echo "$W/oci $W/bundle" ;;
	podman) echo "$W/podman/root" ;;
	esac
}
# clean NAME: removes what a run left; untimed. Then syncs the scratch fs so
# that the next run does not pay for this run's writeback.
clean() {
	case $1 in
	minirun) rm -rf --one-file-system "$W/minirun" ;;
	skopeo) rm -rf --one-file-system "$W/oci" "$W/bundle" ;;
	podman) clean_podman "$W/podman" ;;
	esac
	sync -f "$W"
}

# run NAME FILE: one run, timed into FILE; output to NAME's log.
run() {
	local name=$1
	cmd_for "$name"
	[[ $name != minirun ]] || mkdir -p "$W/minirun" # a fresh, empty data root
	"$TIMEIT" "$2" "${CMD[@]}" >>"$LOGS/$name.log" 2>&1 </dev/null
}

declare -A SIZE
# ---------------------------------------------------------------- check (untimed)
say "checking each tool once (untimed) ..."
OK_ACTIVE=()
for name in "${ACTIVE[@]}"; do
	if run "$name" "$M/check-$name"; then
		SIZE[$name]=$(du -scm $(out_of "$name") 2>/dev/null | tail -n 1 | cut -f 1)
		OK_ACTIVE+=("$name")
	else
		NOTES+=("${LABEL[$name]} failed its check run and was left out: $(tail -n 3 "$LOGS/$name.log" | tr '\n' ' ')")
		warn "${LABEL[$name]} failed: $(tail -n 5 "$LOGS/$name.log")"
	fi
	clean "$name"
done
ACTIVE=("${OK_ACTIVE[@]}")
((${#ACTIVE[@]})) || die "every tool failed"

# ---------------------------------------------------------------- runs
for ((w = 0; w < WARMUP; w++)); do
	say "warm-up $((w + 1))/$WARMUP ..."
	for name in "${ACTIVE[@]}"; do
		run "$name" "$M/warmup-$name" || warn "${LABEL[$name]}: warm-up run failed"
		clean "$name"
	done
done
for ((r = 1; r <= N; r++)); do
	printf 'run %d/%d:' "$r" "$N"
	for name in "${ACTIVE[@]}"; do
		run "$name" "$M/$name" || warn "${LABEL[$name]}: run $r failed (see its log)"
		printf ' %s %.2f s' "$name" "$(tail -n 1 "$M/$name" | awk '{print $1 / 1e9}')"
		clean "$name"
	done
	printf '\n'
done

# ---------------------------------------------------------------- statistics
FMT_DECIMALS=0 # whole milliseconds
# median, stats, fmt, ratio
source "$here/lib.sh"

declare -A R_WMED R_CMED
ROWS_TXT=()
ROWS_MD=()
for name in "${NAMES[@]}"; do
	stats "$name"
	R_WMED[$name]=$WMED
	R_CMED[$name]=$CMED
	if [[ " ${ACTIVE[*]} " != *" $name "* ]]; then
		ROWS_TXT+=("$(printf '%-27s %5s  %9s  %13s  %9s  %8s  %8s' "${LABEL[$name]}" - skipped - - - -)")
		ROWS_MD+=("| ${LABEL[$name]} | - | skipped (see notes) | - | - | - | - |")
		continue
	fi
	runs=$OK
	((FAILS == 0)) || runs="$OK (+$FAILS failed)"
	((FAILS == 0)) || NOTES+=("${LABEL[$name]}: $FAILS of $N timed runs failed (left out); end of its log: $(tail -n 3 "$LOGS/$name.log" | tr '\n' ' ')")
	ROWS_TXT+=("$(printf '%-27s %5s  %9s  %13s  %9s  %8s  %8s' "${LABEL[$name]}" "$runs" "$(fmt "$WMED")" "$(fmt "$WMIN")-$(fmt "$WMAX")" "$(fmt "$CMED")" "$(fmt "$RMED")" "${SIZE[$name]:-?}")")
	ROWS_MD+=("| ${LABEL[$name]} | $runs | $(fmt "$WMED") | $(fmt "$WMIN")–$(fmt "$WMAX") | $(fmt "$CMED") | $(fmt "$RMED") | ${SIZE[$name]:-?} |")
done
RATIOS=(
	"minirun / (skopeo + umoci): wall $(ratio "${R_WMED[minirun]}" "${R_WMED[skopeo]}"), CPU $(ratio "${R_CMED[minirun]}" "${R_CMED[skopeo]}")"
	"minirun / podman: wall $(ratio "${R_WMED[minirun]}" "${R_WMED[podman]}"), CPU $(ratio "${R_CMED[minirun]}" "${R_CMED[podman]}")"
)

# ---------------------------------------------------------------- machine info
KERNEL=$(uname -r)
NPROC=$(nproc)
CPU=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
# version TOOL: the first line of TOOL --version (awk reads it all: no SIGPIPE)
version() { { "$1" --version 2>/dev/null || true; } | awk 'NR == 1'; }
VERS=$(version "$MINIRUN")
[[ -z $SKOPEO ]] || VERS="$VERS; $(version "$SKOPEO")"
[[ -z $UMOCI ]] || VERS="$VERS; $(version "$UMOCI")"
[[ -z $PODMAN ]] || VERS="$VERS; $(version "$PODMAN")"
COMMIT=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$repo" status --porcelain 2>/dev/null) ]] || COMMIT="$COMMIT (+ uncommitted changes)"
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
TIMER_DESC="bench/timeit.go: wall from fork to wait4 (monotonic), user+sys and max RSS from wait4's rusage"

HDR=$(printf '%-27s %5s  %9s  %13s  %9s  %8s  %8s' tool runs "wall med" "wall min-max" "CPU med" "RSS med" "on disk")
UNITS=$(printf '%-27s %5s  %9s  %13s  %9s  %8s  %8s' "" "" ms ms ms MiB MiB)
{
	say ""
	say "== image pull + unpack from 127.0.0.1: $N interleaved runs per tool, $WARMUP warm-up run(s), fresh store per run =="
	say "image: $IMAGE_DESC"
	say "machine: kernel $KERNEL, $NPROC CPUs ($CPU); work dirs on $FS_DESC"
	say "tools: $VERS; commit $COMMIT"
	say "timer: $TIMER_DESC"
	say ""
	say "$HDR"
	say "$UNITS"
	printf '%s\n' "${ROWS_TXT[@]}"
	say ""
	say "ratios of medians (below 1: minirun is faster / uses less CPU):"
	printf '  %s\n' "${RATIOS[@]}"
	if ((${#NOTES[@]})); then
		say ""
		say "notes:"
		printf '  - %s\n' "${NOTES[@]}"
	fi
	say ""
}

mkdir -p "$here/results"
{
	say "# Image pull + unpack: minirun, skopeo + umoci, podman"
	say ""
	say "$DATE. \`N=$N bench/pull.sh\`: $N interleaved runs per tool (minirun, skopeo + umoci, podman, minirun, ...), $WARMUP untimed warm-up run(s) each,"
	say "a fresh empty store per run, deleted (and the scratch fs synced) with the timer stopped. Registry: go-containerregistry's"
	say "in-process registry on 127.0.0.1 (bench/registry/main.go), plain HTTP."
	say ""
	say "- image: $IMAGE_DESC"
	say "- kernel $KERNEL, $NPROC CPUs ($CPU); work dirs on $FS_DESC"
	say "- $VERS; commit $COMMIT"
	say "- timer: $TIMER_DESC"
	say ""
	say "Commands (\`D\` is a fresh dir on the scratch fs):"
	say ""
	say "- minirun: \`minirun --data-root D pull -q 127.0.0.1:PORT/bench/img:1\`"
	say "- skopeo + umoci: \`skopeo copy -q --src-tls-verify=false docker://127.0.0.1:PORT/bench/img:1 oci:D/oci:img && umoci unpack --image D/oci:img D/bundle\`"
	say "- podman: \`podman --root D/root --runroot D/run --tmpdir D/tmp --storage-driver overlay --cgroup-manager cgroupfs --events-backend file pull -q --tls-verify=false 127.0.0.1:PORT/bench/img:1\`"
	say ""
	say "| tool | runs | wall median (ms) | wall min–max (ms) | CPU median, user+sys (ms) | max RSS median (MiB) | on disk after (MiB) |"
	say "|---|---:|---:|---:|---:|---:|---:|"
	printf '%s\n' "${ROWS_MD[@]}"
	say ""
	say "Ratios of medians (below 1: minirun is faster / uses less CPU):"
	say ""
	printf -- '- %s\n' "${RATIOS[@]}"
	if ((${#NOTES[@]})); then
		say ""
		say "Notes:"
		say ""
		printf -- '- %s\n' "${NOTES[@]}"
	fi
} >"$here/results/pull.md"
say "wrote $here/results/pull.md"
