#!/usr/bin/env bash
# bench/all.sh: the whole benchmark suite, one script after another, and
# docs/PERFORMANCE.md written from what they measured in this run:
#
#   sudo make bench-all        (= bench/all.sh with the binary make builds)
#
# Each script prints its figures and writes bench/results/<name>.md; this
# one puts those tables, the machine and the method in docs/PERFORMANCE.md.
# A script that fails leaves a line saying so, and the others still run.
# Spaced out: file-heavy runs (the 100 containers, the pulls) are followed
# by a pause, because this machine's ext4 without a journal is several times
# slower at creating files for a minute after deleting many (see the method).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
need_root "every benchmark runs containers"
PAUSE=${PAUSE:-30}
need_whole PAUSE
OUT=${OUT:-$repo/docs/PERFORMANCE.md}
SCRIPTS=(startup network lifecycle pull engines)
declare -A STATUS=()

# REPORT_ONLY=1: write docs/PERFORMANCE.md from bench/results/ as they are.
for s in "${SCRIPTS[@]}"; do
	if [[ ${REPORT_ONLY:-0} == 1 ]]; then
		STATUS[$s]="not run (REPORT_ONLY=1)"
		continue
	fi
	say "=================== bench/$s.sh"
	rm -f "$here/results/$s.md"
	if SCRATCH=${SCRATCH:-1} "$here/$s.sh"; then STATUS[$s]=ok; else STATUS[$s]="failed (exit $?)"; fi
	case $s in lifecycle | pull) say "pause ${PAUSE}s (file-heavy run)" && sleep "$PAUSE" ;; esac
done

machine_info
WRITTEN="Written by \`sudo make bench-all\` (bench/all.sh) on $DATE, minirun $COMMIT."
if [[ ${REPORT_ONLY:-0} == 1 ]]; then
	WRITTEN="Assembled on $DATE from bench/results/ (\`REPORT_ONLY=1 bench/all.sh\`); each section says when and on which commit it was measured."
fi
{
	cat <<EOF
# Performance

$WRITTEN
Machine: $MACHINE; cgroups $CGMODE; runc: $(version runc); crun: $(version crun).
Ratios compare runtimes measured in the same script run, interleaved. Re-run the command to reproduce it on
your machine; each script's own options are in bench/README.md.

## Method

- Timers: hyperfine (\`-N\`, one run per invocation so that runtimes alternate)
  where a script compares commands; bench/timeit.go (wall, user+sys CPU and
  peak RSS of the whole process tree, from wait4's rusage) for per-run CPU and
  memory; Go benchmarks (\`go test -bench\`) for the engines, whose daemons
  they start and stop (tests/engines).
- Medians with min–max; CPU = user + sys of the runtime and its children.
- Hygiene: this machine's root filesystem is ext4 without a journal, which is
  several times slower at creating files for a minute or more after many were
  deleted; the file-heavy scripts (the 100 containers, the pulls) run on a
  loop-mounted journaled ext4 (\`SCRATCH=1\`, the default here) and are
  followed by a ${PAUSE}s pause.
- Page cache: every runtime binary a script times is written back and dropped
  from the page cache first (\`sync\` + \`dd iflag=nocache count=0\`), so each
  comes back into memory the same way, read by exec. Linux 6.x caches a file
  in folios of up to 2 MiB and maps a whole folio on a page fault: a binary
  just written by the Go linker sits in large folios, and the same minirun
  binary then showed a peak RSS of 14.6 MiB instead of 10.6 MiB (runc, read
  by exec long before, 9.9 MiB either way). Peak RSS includes the timer's own
  pages until the exec (about 2.4 MiB, a floor for every row).
- Nothing of the host is touched: private state and data roots, bridges and
  nftables tables of the scripts' own, cgroups below the script's own.

EOF
	for s in "${SCRIPTS[@]}"; do
		say ""
		if [[ -s $here/results/$s.md ]]; then
			# The scripts' own headings become second-level ones here.
			sed 's/^# /## /' "$here/results/$s.md"
		else
			say "## bench/$s.sh"
			say ""
			say "No figures: the script ${STATUS[$s]:-did not run} in this run (its output above says why)."
		fi
	done
} >"$OUT"
say "wrote $OUT"
for s in "${SCRIPTS[@]}"; do say "  bench/$s.sh: ${STATUS[$s]}"; done
