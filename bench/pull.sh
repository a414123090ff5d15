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
# say warn die, checks, cleanup, scratch fs, build, statistics
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$here/lib.sh"

need_whole N WARMUP
need_min N 1
need_root "loop device, mounts, podman's overlay storage"
need_tools "" losetup mkfs.ext4 mount umount awk sort du
find_go
[[ -n $GO ]] || die "go not found: add /usr/local/go/bin to PATH (needed for the registry and the timer)"

# Global paths skopeo and podman create as root even with every flag below
# (skopeo: the blob info cache /var/lib/containers/cache; podman:
# /run/containers/networks). Those that do not exist now are removed at exit.
GLOBAL_NEW=()
for p in /var/lib/containers /var/lib/containers/cache /run/containers; do
	[[ -e $p ]] || GLOBAL_NEW+=("$p")
done

# ---------------------------------------------------------------- temp dir, cleanup
make_tmp minirun-pullbench
W=$TMP/scratch # the loop-mounted ext4
mkdir -p "$W" "$TMP/conf"
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

cleanup() {
	local d p i
	(($1 == 0)) || printf '\n'
	if [[ -n $REG_PID ]]; then
		kill "$REG_PID" 2>/dev/null
		wait "$REG_PID" 2>/dev/null
	fi
	if mountpoint -q "$W"; then
		for d in "$W"/podman*; do
			[[ -d $d ]] && clean_podman "$d"
		done
	fi
	# The mounts below the temp dir, the scratch fs last; the loop device; the
	# temp dir.
	rm_tmp
	for ((i = ${#GLOBAL_NEW[@]} - 1; i >= 0; i--)); do
		p=${GLOBAL_NEW[i]}
		[[ -e $p ]] && rm -rf --one-file-system "$p"
	done
	# Check that nothing is left.
	check_tmp
	if [[ -n $REG_PID ]] && kill -0 "$REG_PID" 2>/dev/null; then
		left_behind "registry process $REG_PID"
	fi
	for p in "${GLOBAL_NEW[@]}"; do
		[[ ! -e $p ]] || left_behind "$p"
	done
	((LEFT)) || say "cleanup: registry stopped, ${LOOP:-loop device} detached, $TMP removed; no mounts or loop devices left behind"
}
on_exit cleanup

# ---------------------------------------------------------------- scratch filesystem
# The root fs here is ext4 without a journal, where creating files right after
# a large rm -rf is several times slower for a while. A journaled ext4 on a
# sparse file behaves like a normal disk.
scratch_fs "$W" "$SCRATCH_SIZE"
FS_DESC="ext4 (journal: $(journal "$LOOP")) on $LOOP, $SCRATCH_SIZE sparse file in $(findmnt -no FSTYPE -T "$TMP" 2>/dev/null || echo '?') $TMP"

# ---------------------------------------------------------------- binaries
build_minirun
say "building the registry and the timer ..."
(cd "$repo" && "$GO" build -o "$TMP/bin/registry" bench/registry/main.go) || die "go build bench/registry/main.go failed"
build_timeit || die "go build bench/timeit.go failed: $(cat "$LOGS/timeit-build")"
TIMEIT=$TMP/bin/timeit

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
# shellcheck disable=SC2016 # skopeo's "$0".."$4" are the inner sh's
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
		# shellcheck disable=SC2046 # out_of's paths are plain words
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
FMT_DECIMALS=0 # whole milliseconds, for fmt

for name in "${NAMES[@]}"; do
	stats "$name"
	if ! is_active "$name"; then
		ROWS_TXT+=("$(printf '%-27s %5s  %9s  %13s  %9s  %8s  %8s' "${LABEL[$name]}" - skipped - - - -)")
		ROWS_MD+=("| ${LABEL[$name]} | - | skipped (see notes) | - | - | - | - |")
		continue
	fi
	count_runs "$name" "$N"
	ROWS_TXT+=("$(printf '%-27s %5s  %9s  %13s  %9s  %8s  %8s' "${LABEL[$name]}" "$RUNS_TXT" "$(fmt "$WMED")" "$(fmt "$WMIN")-$(fmt "$WMAX")" "$(fmt "$CMED")" "$(fmt "$RMED")" "${SIZE[$name]:-?}")")
	ROWS_MD+=("| ${LABEL[$name]} | $RUNS_TXT | $(fmt "$WMED") | $(fmt "$WMIN")–$(fmt "$WMAX") | $(fmt "$CMED") | $(fmt "$RMED") | ${SIZE[$name]:-?} |")
done
RATIOS=(
	"minirun / (skopeo + umoci): $(ratios minirun skopeo)"
	"minirun / podman: $(ratios minirun podman)"
)

# ---------------------------------------------------------------- machine info
machine_info
VERS=$(version "$MINIRUN")
[[ -z $SKOPEO ]] || VERS="$VERS; $(version "$SKOPEO")"
[[ -z $UMOCI ]] || VERS="$VERS; $(version "$UMOCI")"
[[ -z $PODMAN ]] || VERS="$VERS; $(version "$PODMAN")"
TIMER_DESC="bench/timeit.go: wall from fork to wait4 (monotonic), user+sys and max RSS from wait4's rusage"

HDR=$(printf '%-27s %5s  %9s  %13s  %9s  %8s  %8s' tool runs "wall med" "wall min-max" "CPU med" "RSS med" "on disk")
UNITS=$(printf '%-27s %5s  %9s  %13s  %9s  %8s  %8s' "" "" ms ms ms MiB MiB)
{
	say ""
	say "== image pull + unpack from 127.0.0.1: $N interleaved runs per tool, $WARMUP warm-up run(s), fresh store per run =="
	say "image: $IMAGE_DESC"
	say "machine: $MACHINE; work dirs on $FS_DESC"
	say "tools: $VERS; commit $COMMIT"
	say "timer: $TIMER_DESC"
	say ""
	table_txt
	say ""
	say "ratios of medians (below 1: minirun is faster / uses less CPU):"
	printf '  %s\n' "${RATIOS[@]}"
	notes_txt
	say ""
}

report_md() {
	say "# Image pull + unpack: minirun, skopeo + umoci, podman"
	say ""
	say "$DATE. \`N=$N bench/pull.sh\`: $N interleaved runs per tool (minirun, skopeo + umoci, podman, minirun, ...), $WARMUP untimed warm-up run(s) each,"
	say "a fresh empty store per run, deleted (and the scratch fs synced) with the timer stopped. Registry: go-containerregistry's"
	say "in-process registry on 127.0.0.1 (bench/registry/main.go), plain HTTP."
	say ""
	say "- image: $IMAGE_DESC"
	say "- $MACHINE; work dirs on $FS_DESC"
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
	notes_md
}
write_result pull.md report_md
