#!/usr/bin/env bash
# examples/check-all.sh: runs every lab as a student would (run.sh), then its
# "check your work" (check.sh), and prints a summary. Exits 1 if any lab
# failed. A lab that cannot run here (check.sh or run.sh exits 77, e.g.
# containerd or Go missing) is skipped with its reason; a skip is not a
# failure.
#
#	sudo examples/check-all.sh               # every lab, with minirun from PATH
#	sudo examples/check-all.sh 05 06         # some labs, by number
#	sudo MINIRUN=bin/minirun examples/check-all.sh --private
#
# It builds nothing. MINIRUN (default: minirun from PATH) is the binary.
# With --private (what `make labs` and CI use) everything minirun keeps goes
# to a new temporary directory: state root, data root with the busybox image
# imported from scripts/busybox-rootfs.sh, and a default network of its own
# (bridge, nftables table, subnet); all removed at the end. Without it the
# labs use your minirun's usual roots and need `sudo make busybox-image`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
private=0 only=()
for a; do
	case $a in
	--private) private=1 ;;
	-h | --help)
		sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	[0-9][0-9]) only+=("$a") ;;
	*)
		echo "check-all.sh: unknown argument '$a' (labs are given by number: 01 05 ...)" >&2
		exit 2
		;;
	esac
done
((EUID == 0)) || {
	echo "check-all.sh: the labs need root: sudo $0" >&2
	exit 1
}
MINIRUN=${MINIRUN:-$(command -v minirun || true)}
[[ -n $MINIRUN && -x $MINIRUN ]] || {
	echo "check-all.sh: no minirun binary: set MINIRUN=/path/to/minirun or 'sudo make install'" >&2
	exit 1
}
MINIRUN=$(realpath "$MINIRUN")
export MINIRUN

LOGS=$(mktemp -d /tmp/minirun-labs-logs.XXXXXX)
failed=0
PRIV='' IPF_BEFORE=$(cat /proc/sys/net/ipv4/ip_forward)

# The private roots and network, and their removal.
private_setup() {
	local a b
	PRIV=$(mktemp -d /tmp/minirun-labs.XXXXXX)
	export MINIRUN_ROOT=$PRIV/state MINIRUN_DATA_ROOT=$PRIV/data
	export MINIRUN_DEFAULT_BRIDGE=mrlab$$ MINIRUN_NFT_TABLE=minirun_labs_$$
	for _ in $(seq 50); do
		a=$((200 + RANDOM % 50)) b=$((RANDOM % 250))
		if ! ip -4 route show | grep -q "^10\.$a\.$b\."; then
			export MINIRUN_DEFAULT_SUBNET=10.$a.$b.0/24
			break
		fi
	done
	echo "private roots in $PRIV; default network: bridge $MINIRUN_DEFAULT_BRIDGE, nftables table ip $MINIRUN_NFT_TABLE, ${MINIRUN_DEFAULT_SUBNET:-?}"
	"$repo/scripts/busybox-rootfs.sh" | "$MINIRUN" import -c 'CMD ["sh"]' - busybox:latest >"$LOGS/import.log" 2>&1 || {
		echo "check-all.sh: importing busybox failed: $(cat "$LOGS/import.log")" >&2
		exit 1
	}
}
private_teardown() {
	local ids
	[[ -n $PRIV ]] || return 0
	ids=$(ls "$MINIRUN_DATA_ROOT/containers" 2>/dev/null)
	if [[ -n $ids ]]; then
		echo "LEFT BEHIND by a lab: containers $ids (removed)"
		# shellcheck disable=SC2086 # one ID a word
		"$MINIRUN" rm -f $ids >/dev/null 2>&1
	fi
	[[ ! -e $MINIRUN_DATA_ROOT/networks/bridge.json ]] || "$MINIRUN" network rm bridge >/dev/null 2>&1
	ip link del "$MINIRUN_DEFAULT_BRIDGE" 2>/dev/null
	nft delete table ip "$MINIRUN_NFT_TABLE" 2>/dev/null
	awk -v t="$PRIV/" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
	rm -rf --one-file-system "$PRIV"
	return 0
}
finish() {
	private_teardown
	# the logs stay only when something failed
	if ((failed == 0)); then rm -rf "$LOGS"; else echo "logs kept in $LOGS"; fi
	[[ $(cat /proc/sys/net/ipv4/ip_forward) == "$IPF_BEFORE" ]] || echo "$IPF_BEFORE" >/proc/sys/net/ipv4/ip_forward
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
((private)) && private_setup

# run_step LAB SCRIPT: runs LAB's SCRIPT, output in $LOGS/LAB.SCRIPT.log;
# its exit status.
run_step() {
	(cd "$here/$1" && "./$2") >"$LOGS/$1.$2.log" 2>&1
}

declare -a summary=()
skipped=0 passed=0
t_all=$SECONDS
for dir in "$here"/[0-9][0-9]-*/; do
	lab=$(basename "$dir")
	if ((${#only[@]})) && [[ " ${only[*]} " != *" ${lab:0:2} "* ]]; then continue; fi
	t0=$SECONDS
	echo "== $lab"
	result='' reason=''
	run_step "$lab" run.sh
	rc=$?
	if ((rc == 77)); then
		result=SKIP reason=$(grep -m1 'SKIP' "$LOGS/$lab.run.sh.log" | sed 's/\x1b\[[0-9;]*m//g; s/^SKIP [^:]*: //')
	elif ((rc != 0)); then
		result=FAIL reason="run.sh exited $rc"
		echo "   run.sh failed ($rc); the end of its output:"
		tail -n 25 "$LOGS/$lab.run.sh.log" | sed 's/^/   | /'
	else
		run_step "$lab" check.sh
		rc=$?
		sed 's/^/   /' "$LOGS/$lab.check.sh.log"
		if ((rc == 77)); then
			result=SKIP reason=$(grep -m1 'SKIP' "$LOGS/$lab.check.sh.log" | sed 's/\x1b\[[0-9;]*m//g; s/^SKIP [^:]*: //')
		elif ((rc != 0)); then
			result=FAIL reason="check.sh: $(grep -c 'FAIL' "$LOGS/$lab.check.sh.log") check(s) failed"
		else
			result=PASS reason=$(tail -n 1 "$LOGS/$lab.check.sh.log" | sed 's/^[^:]*: //')
		fi
	fi
	case $result in
	PASS) passed=$((passed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	FAIL) failed=$((failed + 1)) ;;
	esac
	summary+=("$(printf '%-4s %-28s %4ss  %s' "$result" "$lab" $((SECONDS - t0)) "$reason")")
done

echo
echo "== summary ($((SECONDS - t_all)) s, minirun: $MINIRUN)"
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
