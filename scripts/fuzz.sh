#!/usr/bin/env bash
# scripts/fuzz.sh GO FUZZTIME PKG:Target...: `go test -fuzz` each target for
# FUZZTIME (make fuzz). A target fails when it finds an input: go test then
# writes it to PKG/testdata/fuzz/Target/ and the run fails.
#
# One failure is not the target's: with a duration -fuzztime, Go's fuzzing
# coordinator (go1.26) can report "context deadline exceeded" at the end of
# the time although nothing failed and no input was written
# (https://go.dev/issue/75804, fixed in go1.27). Such a run, and only such a
# run, is repeated once; a second one fails.
set -uo pipefail
GO=$1 FUZZTIME=$2
shift 2
inputs() { find "$1" -type f 2>/dev/null | sort; }
for t in "$@"; do
	pkg=${t%%:*} fn=${t##*:}
	dir=$pkg/testdata/fuzz/$fn
	for try in 1 2; do
		echo "== $fn ./$pkg ($FUZZTIME)"
		before=$(inputs "$dir")
		out=$(mktemp)
		"$GO" test -run '^$' -fuzz "^$fn\$" -fuzztime "$FUZZTIME" -parallel 2 "./$pkg" 2>&1 | tee "$out"
		rc=${PIPESTATUS[0]}
		deadline=0
		grep -q '^    context deadline exceeded$' "$out" && deadline=1
		rm -f "$out"
		((rc == 0)) && break
		if ((try == 1 && deadline)) && [[ $(inputs "$dir") == "$before" ]]; then
			echo "fuzz: $fn: \"context deadline exceeded\" and no failing input written (go.dev/issue/75804): once more"
			continue
		fi
		echo "fuzz: $fn failed" >&2
		exit 1
	done
done
