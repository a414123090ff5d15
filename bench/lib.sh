# bench/lib.sh: statistics shared by the benchmark scripts (sourced).
# A run's figures are one line each in $M/<name>: wall ns, user µs, sys µs,
# max RSS KiB, exit status (what bench/timeit.go prints).

# median of the numbers on stdin ("nan" for none)
median() { sort -n | awk '{a[NR] = $1} END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# stats NAME: sets OK FAILS WMED WMIN WMAX CMED RMED (ms, ms, ms, ms, MiB)
# from the successful runs in $M/NAME.
stats() {
	local f=$M/$1
	OK=0 FAILS=0 WMED=nan WMIN=nan WMAX=nan CMED=nan RMED=nan
	[[ -s $f ]] || return 0
	OK=$(awk '$5 == 0' "$f" | wc -l)
	FAILS=$(awk '$5 != 0' "$f" | wc -l)
	((OK > 0)) || return 0
	WMED=$(awk '$5 == 0 {print $1 / 1e6}' "$f" | median)
	WMIN=$(awk '$5 == 0 {print $1 / 1e6}' "$f" | sort -n | awk 'NR == 1')
	WMAX=$(awk '$5 == 0 {print $1 / 1e6}' "$f" | sort -n | awk 'END {print}')
	CMED=$(awk '$5 == 0 {print ($2 + $3) / 1e3}' "$f" | median)
	RMED=$(awk '$5 == 0 {print $4 / 1024}' "$f" | median)
}

# fmt X [DECIMALS]: a figure for the table ("n/a" for none); DECIMALS
# defaults to $FMT_DECIMALS, else 1.
fmt() { awk -v x="$1" -v d="${2:-${FMT_DECIMALS:-1}}" 'BEGIN { if (x == "nan" || x == "") print "n/a"; else printf "%.*f\n", d, x }'; }

# ratio A B: A/B with two decimals ("n/a" when either is missing or B is 0)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f\n", a / b }'; }
