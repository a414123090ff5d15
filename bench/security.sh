#!/usr/bin/env bash
# bench/security.sh: what the security defaults cost at start-up (issue 8).
#
# One busybox bundle running /bin/true, `<runtime> run --bundle` with:
#   - Docker's default seccomp profile in config.json (the one `minirun run`
#     puts there: taken from `minirun run --dry-run`) and without it, for
#     minirun, runc (libseccomp) and crun (libseccomp);
#   - minirun's CVE-2019-5736 protection (container/exeseal.go: init and exec
#     helpers run from a detached read-only mount of the binary) on and off
#     (MINIRUN_NO_EXE_SEAL=1, a knob for this benchmark).
# Runs are interleaved (order rotated every run) after warm-up runs; it
# prints medians and the ratios with/without, and writes
# bench/results/security.md. See bench/README.md.
#
#   sudo bench/security.sh                       # N=30 runs each
#   sudo N=10 bench/security.sh                  # quick
#   sudo MINIRUN=bin/minirun bench/security.sh   # this binary
set -euo pipefail

N=${N:-30}
WARMUP=${WARMUP:-3}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

need_whole N WARMUP
need_min N 1
need_root "namespaces, mounts, cgroups"
need_tools "Debian package: @" runc unshare tar awk sort jq
RUNC=$(command -v runc)
CRUN=$(command -v crun || true)
find_go

own_cgroup
CGPATH=${OWN_CGROUP%/}/minirun-secbench-$$
cgroups_below "minirun-secbench-$$" "$OWN_CGROUP"
cg_missing "$CGPATH"

private_network mrsecb0 minirun_secbench

make_tmp minirun-secbench
S=$TMP/state
DATA=$TMP/data
mkdir -p "$S" "$DATA" "$TMP/rootfs"

NAMES=(minirun-seccomp minirun-none minirun-noseal runc-seccomp runc-none)
[[ -z $CRUN ]] || NAMES+=(crun-seccomp crun-none)
declare -A LABEL=(
	[minirun-seccomp]="minirun, seccomp + exe seal"
	[minirun-none]="minirun, no seccomp"
	[minirun-noseal]="minirun, seccomp, no exe seal"
	[runc-seccomp]="runc, seccomp"
	[runc-none]="runc, no seccomp"
	[crun-seccomp]="crun, seccomp"
	[crun-none]="crun, no seccomp"
)

# shellcheck disable=SC2016 # $0 and $@ belong to the inner sh
WRAP='umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"'
wrapped() { unshare -m sh -c "$WRAP" "$@"; }

rt_of() { case $1 in minirun-*) echo "$MINIRUN" ;; runc-*) echo "$RUNC" ;; crun-*) echo "$CRUN" ;; esac; }
bundle_of() { case $1 in *-none) echo "$TMP/b-none" ;; *) echo "$TMP/b-seccomp" ;; esac; }

delete_containers() {
	local name d
	for name in "${NAMES[@]}"; do
		[[ -d $S/$name ]] || continue
		for d in "$S/$name"/*/; do
			[[ -d $d ]] && wrapped "$(rt_of "$name")" --root "$S/$name" delete --force "$(basename "$d")" >/dev/null 2>&1
		done
	done
	return 0
}
recover() {
	thaw_cgroups
	delete_containers
}
cleanup() {
	thaw_cgroups
	delete_containers
	rm_network --root "$S/dry" --data-root "$DATA"
	rm_tmp
	kill_cgroup_procs
	rm_cgroups
	check_tmp "minirun-secbench-$$"
	check_cgroups
	check_network
	((LEFT)) || say "cleanup: removed $TMP; no mounts, cgroups or state left behind"
}
on_exit cleanup

build_minirun
choose_timer timeit hyperfine gnutime bashtime -- "$MINIRUN" "$RUNC" "$CRUN" "$TMP"

# ---------------------------------------------------------------- bundles
say "making the bundles in $TMP ..."
"$repo/scripts/busybox-rootfs.sh" | tar -x -C "$TMP/rootfs"
import_busybox --root "$S/dry" --data-root "$DATA" || die "$IMPORT_ERR"
# Docker's default profile, exactly as `minirun run` would use it.
"$MINIRUN" --root "$S/dry" --data-root "$DATA" run --dry-run --network none busybox true >"$TMP/dry.json" 2>"$LOGS/dry.log" ||
	die "minirun run --dry-run failed: $(cat "$LOGS/dry.log")"
jq -e '.linux.seccomp.syscalls | length > 0' "$TMP/dry.json" >/dev/null || die "no linux.seccomp in minirun run --dry-run's config"
mkdir -p "$TMP/b-none" "$TMP/b-seccomp"
(cd "$TMP/b-none" && "$RUNC" spec)
# As bench/startup.sh: runc's spec, /bin/true, no ambient caps, no hooks,
# only the device rules, a new cgroup and network namespace, a cgroup below
# ours; the rootfs shared by both bundles.
# shellcheck disable=SC2016 # jq's variables
jq --arg cg "$CGPATH" --arg root "$TMP/rootfs" '
  .ociVersion = "1.0.2"
| .root = {path: $root, readonly: false}
| .process.terminal = false
| .process.args = ["/bin/true"]
| del(.process.capabilities.ambient)
| del(.hooks)
| del(.linux.seccomp)
| (if .linux.resources.devices then .linux.resources = {devices: .linux.resources.devices} else del(.linux.resources) end)
| .linux.namespaces |= (if any(.[]; .type == "cgroup") then . else . + [{type: "cgroup"}] end)
| .linux.namespaces |= (if any(.[]; .type == "network") then . else . + [{type: "network"}] end)
| .linux.cgroupsPath = $cg
' "$TMP/b-none/config.json" >"$TMP/b-none/c" && mv "$TMP/b-none/c" "$TMP/b-none/config.json"
jq --slurpfile dry "$TMP/dry.json" '.linux.seccomp = $dry[0].linux.seccomp' "$TMP/b-none/config.json" >"$TMP/b-seccomp/config.json"
NSYS=$(jq '[.linux.seccomp.syscalls[].names[]] | length' "$TMP/b-seccomp/config.json")

cmd_for() {
	local name=$1 id=$2 rt
	rt=$(rt_of "$name")
	if [[ $name == minirun-noseal ]]; then
		CMD=(unshare -m sh -c "$WRAP" env MINIRUN_NO_EXE_SEAL=1 "$rt" --root "$S/$name" run --bundle "$(bundle_of "$name")" "$id")
	else
		CMD=(unshare -m sh -c "$WRAP" "$rt" --root "$S/$name" run --bundle "$(bundle_of "$name")" "$id")
	fi
}
SEQ=0
next_id() { SEQ=$((SEQ + 1)); ID="sb$$-$SEQ"; }

# ---------------------------------------------------------------- check, measure
ACTIVE=()
for name in "${NAMES[@]}"; do
	next_id
	cmd_for "$name" "$ID"
	if out=$("${CMD[@]}" </dev/null 2>&1); then
		ACTIVE+=("$name")
	else
		warn "${LABEL[$name]}: FAILED the check run, not measured: $out"
		NOTES+=("${LABEL[$name]}: not measured: $(printf '%s' "$out" | head -c 300 | tr '\n' ' ')")
		recover
	fi
done
((${#ACTIVE[@]})) || die "no configuration passed the check run"
K=${#ACTIVE[@]}
say "warm-up: $WARMUP runs each ..."
for ((i = 0; i < WARMUP; i++)); do
	for name in "${ACTIVE[@]}"; do
		next_id
		cmd_for "$name" "$ID"
		"${CMD[@]}" </dev/null >>"$LOGS/warmup.log" 2>&1 || recover
	done
done
say "measuring: $N interleaved runs each of ${ACTIVE[*]} ..."
for ((i = 0; i < N; i++)); do
	for ((j = 0; j < K; j++)); do
		name=${ACTIVE[(i + j) % K]}
		next_id
		cmd_for "$name" "$ID"
		measure "$name" "${CMD[@]}" || recover
	done
done

# ---------------------------------------------------------------- report
for name in "${NAMES[@]}"; do
	stats "$name"
	if ! is_active "$name"; then
		ROWS_TXT+=("$(printf '%-32s %5s  %9s  %15s  %9s' "${LABEL[$name]}" - FAILED - -)")
		ROWS_MD+=("| ${LABEL[$name]} | - | failed (see notes) | - | - |")
		continue
	fi
	((FAILS == 0)) || NOTES+=("${LABEL[$name]}: $FAILS of $N runs failed (excluded): $(head -n 2 "$LOGS/$name.log" | tr '\n' ' ')")
	ROWS_TXT+=("$(printf '%-32s %5s  %9s  %15s  %9s' "${LABEL[$name]}" "$OK" "$(fmt "$WMED")" "$(fmt "$WMIN") - $(fmt "$WMAX")" "$(fmt "$CMED")")")
	ROWS_MD+=("| ${LABEL[$name]} | $OK | $(fmt "$WMED") | $(fmt "$WMIN")–$(fmt "$WMAX") | $(fmt "$CMED") |")
done
# diff A B: the difference of the wall medians in ms.
diff_ms() { awk -v a="${R_WMED[$1]:-nan}" -v b="${R_WMED[$2]:-nan}" 'BEGIN { if (a == "nan" || b == "nan") print "n/a"; else printf "%+.2f ms\n", a - b }'; }
RATIOS=(
	"minirun, seccomp / none: $(ratios minirun-seccomp minirun-none) ($(diff_ms minirun-seccomp minirun-none))"
	"runc, seccomp / none: $(ratios runc-seccomp runc-none) ($(diff_ms runc-seccomp runc-none))"
)
[[ -z $CRUN ]] || RATIOS+=("crun, seccomp / none: $(ratios crun-seccomp crun-none) ($(diff_ms crun-seccomp crun-none))")
RATIOS+=("minirun, exe seal / no seal: $(ratios minirun-seccomp minirun-noseal) ($(diff_ms minirun-seccomp minirun-noseal))")

machine_info
HDR=$(printf '%-32s %5s  %9s  %15s  %9s' configuration runs "wall med" "wall min-max" "CPU med")
UNITS=$(printf '%-32s %5s  %9s  %15s  %9s' "" "" ms ms ms)
{
	say ""
	say "== security start-up cost: $N interleaved runs each, $WARMUP warm-up, /bin/true, run --bundle =="
	say "machine: $MACHINE, cgroups $CGMODE"
	say "runtimes: $(version "$MINIRUN") | $(version "$RUNC")${CRUN:+ | $(version "$CRUN")}; commit $COMMIT"
	say "profile: Docker's default from minirun run --dry-run ($NSYS syscall names)"
	say "timer: $TIMER_DESC"
	say ""
	say "$HDR"
	say "$UNITS"
	printf '%s\n' "${ROWS_TXT[@]}"
	say ""
	say "ratios of medians:"
	printf '  %s\n' "${RATIOS[@]}"
	notes_txt
}
report_md() {
	say "# Start-up cost of seccomp and of the /proc/self/exe protection"
	say ""
	say "$DATE. \`bench/security.sh\`, N=$N interleaved runs per configuration (order rotated every run), $WARMUP warm-up runs each."
	say "Every command is \`unshare -m sh -c 'umount /sys/fs/cgroup/unified; exec <runtime> --root <tmp> run --bundle <bundle> <new id>'\`,"
	say "the bundle a busybox rootfs with \`runc spec\`'s config running \`/bin/true\` (as bench/startup.sh), with or without"
	say "\`linux.seccomp\` = Docker's default profile as \`minirun run --dry-run\` writes it ($NSYS syscall names)."
	say "\"exe seal\": minirun runs init from a detached read-only mount of its binary (container/exeseal.go, CVE-2019-5736); \`MINIRUN_NO_EXE_SEAL=1\` turns it off."
	say ""
	say "- $MACHINE, cgroups $CGMODE"
	say "- $(version "$MINIRUN"), commit $COMMIT; $(version "$RUNC")${CRUN:+; $(version "$CRUN")}"
	say "- timer: $TIMER_DESC"
	say ""
	say "| configuration | runs | wall median (ms) | wall min–max (ms) | CPU median, user+sys (ms) |"
	say "|---|---:|---:|---:|---:|"
	printf '%s\n' "${ROWS_MD[@]}"
	say ""
	say "Ratios of medians (difference of wall medians):"
	say ""
	printf -- '- %s\n' "${RATIOS[@]}"
	notes_md
}
write_result security.md report_md
