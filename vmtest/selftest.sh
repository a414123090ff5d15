#!/usr/bin/env bash
# vmtest/selftest.sh — prove that vmtest/run.sh gives tests what they need.
#
#   vmtest/selftest.sh          all checks (~6 VM boots, about 40 s)
#   vmtest/selftest.sh --quick  only the main check (one boot)
#
# Checks:
#   A  one VM: /sys/fs/cgroup is cgroup2 and v1 is unavailable; memory, pids
#      and cpu are in the root's cgroup.subtree_control; overlay, veth and
#      bridge are loaded; a container-style pivot_root works; a static Go
#      binary (testdata/hello, built here with CGO_ENABLED=0 GOAMD64=v1)
#      runs from --files; then `exit 3` must make run.sh exit 3.
#   B  a Go binary as COMMAND itself: its exit status (42) comes back, its
#      stdout and stderr both arrive on run.sh's stdout.
#   C  arguments and --env values with spaces and quotes arrive unchanged.
#   D  --timeout: a command that sleeps is killed, run.sh exits 124.
#   E  harness failures exit 125: a bad --files, and a kernel that cannot
#      find its init (the message must show the kernel's panic).
#   F  nothing is left behind: no qemu, no temp dirs.
# Ends with "N passed, N failed"; exit status 0 only if all passed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
export PATH=$PATH:/usr/local/go/bin
quick=0
[ "${1:-}" = --quick ] && quick=1

passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
now() { date +%s.%N; }
secs() { awk "BEGIN{printf \"%.1f\", $2 - $1}"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vmtest-selftest.XXXXXX")
trap 'rm -rf "$work"' EXIT
t0=$(now)

# Make sure the harness' dependencies are there before timing anything.
"$here/deps.sh" || { echo "FAIL: vmtest/deps.sh"; exit 1; }

# A static Go binary: no C library in the VM, and GOAMD64=v1 so it runs on
# any CPU model qemu emulates.
mkdir -p "$work/files"
if (cd "$root" && CGO_ENABLED=0 GOAMD64=v1 go build -o "$work/files/hello" ./vmtest/testdata/hello); then
	pass "built testdata/hello (static, GOAMD64=v1)"
else
	fail "go build ./vmtest/testdata/hello"
fi
existing_tmp=$(ls -d "${TMPDIR:-/tmp}"/minirun-vmtest.* 2>/dev/null | sort)

# run NAME ARGS... : run.sh -v ARGS, output in $work/NAME.{out,err}, status in $rc
run() {
	local name=$1
	shift
	local t
	t=$(now)
	"$here/run.sh" -v "$@" >"$work/$name.out" 2>"$work/$name.err"
	rc=$?
	local boot
	boot=$(sed -n 's/.*booted to COMMAND in \([0-9.]*\)s.*/\1/p' "$work/$name.err")
	echo "  [$name] exit $rc, boot ${boot:-?}s (kernel start to COMMAND), whole run $(secs "$t" "$(now)")s"
}
show() { sed 's/^/    | /' "$work/$1.out" "$work/$1.err"; }

# --- A ------------------------------------------------------------------------
# The guest side: each check prints ok/FAIL; any FAIL -> exit 1, else exit 3.
read -r -d '' guest <<'EOF'
bad=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; bad=1; fi; }
# busybox stat has no name for cgroup2's magic; coreutils would print cgroup2fs.
check "/sys/fs/cgroup is cgroup2 (f_type $(stat -f -c %t /sys/fs/cgroup))" \
	'[ "$(stat -f -c %t /sys/fs/cgroup)" = 63677270 ] && grep -q " /sys/fs/cgroup cgroup2 " /proc/mounts'
check "cgroup v1 cannot be mounted (cgroup_no_v1=all)" \
	'mkdir -p /tmp/v1 && ! mount -t cgroup -o memory none /tmp/v1 2>/dev/null'
echo "subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
for c in memory pids cpu; do
	check "$c in cgroup.subtree_control" "grep -qw $c /sys/fs/cgroup/cgroup.subtree_control"
done
for m in overlay veth bridge; do
	check "module $m loaded" "grep -q '^$m ' /proc/modules || [ -d /sys/module/$m ]"
done
check "overlay in /proc/filesystems" 'grep -qw overlay /proc/filesystems'
echo "other modules: $(cut -d' ' -f1 /proc/modules | grep -E '^(nf_tables|nft_|nf_nat|br_netfilter|loop)' | sort | tr '\n' ' ')"
check "pivot_root in a new mount namespace" \
	'unshare -m sh -c "mkdir -p /tmp/r && mount -t tmpfs t /tmp/r && mkdir /tmp/r/old && cd /tmp/r && pivot_root . old"'
check "uid 0, cwd /work, PATH" '[ "$(id -u)" = 0 ] && [ "$PWD" = /work ] && case :$PATH: in *:/bin:/sbin:/usr/bin:*) true;; *) false;; esac'
check "PID 1 is the VM init" 'grep -q init /proc/1/cmdline'
check "hello (static Go) runs" './hello | grep "^hello from go"'
check "/dev/null, /dev/pts, /tmp, /run" '[ -c /dev/null ] && [ -c /dev/ptmx ] && grep -q " /tmp tmpfs " /proc/mounts && grep -q " /run tmpfs " /proc/mounts'
[ $bad = 0 ] || exit 1
exit 3
EOF
run A --files "$work/files" -- sh -c "$guest"
if [ "$rc" = 3 ] && ! grep -q '^FAIL' "$work/A.out" && grep -q '^ok: hello' "$work/A.out"; then
	pass "A: cgroup2, controllers, modules, pivot_root, Go binary, exit 3 -> 3"
else
	fail "A: expected exit 3 and no FAIL line (got $rc)"
fi
show A

if [ "$quick" = 0 ]; then
	# --- B --------------------------------------------------------------------
	run B --files "$work/files" -- ./hello 42
	if [ "$rc" = 42 ] && grep -q '^hello from go .* cwd=/work cgroup=0::/$' "$work/B.out" &&
		grep -q '^hello: this line went to stderr$' "$work/B.out"; then
		pass "B: Go binary as COMMAND: exit 42, stdout+stderr streamed"
	else
		fail "B: expected exit 42 and both output lines (got $rc)"
		show B
	fi

	# --- C --------------------------------------------------------------------
	arg="it's \"quoted\", \$HOME, \`x\`, a\\b and  two  spaces"
	# shellcheck disable=SC2016 # expanded in the VM
	run C --env "V=$arg" --env EMPTY= -- sh -c 'printf "[%s]\n" "$1" "$V" "${EMPTY-unset}" "$#"' zero "$arg"
	want=$(printf '[%s]\n' "$arg" "$arg" "" 1)
	if [ "$rc" = 0 ] && [ "$(cat "$work/C.out")" = "$want" ]; then
		pass "C: arguments and --env values arrive byte for byte"
	else
		fail "C: quoting (got $rc)"
		show C
	fi

	# --- D --------------------------------------------------------------------
	run D --timeout 15 -- sh -c 'echo started; sleep 1000'
	if [ "$rc" = 124 ] && grep -q '^started$' "$work/D.out" && grep -q 'timeout: killed the VM after 15s' "$work/D.err"; then
		pass "D: --timeout kills the VM, exit 124, output up to then kept"
	else
		fail "D: expected 124 (got $rc)"
		show D
	fi

	# --- E --------------------------------------------------------------------
	run E1 --files "$work/does-not-exist" -- true
	if [ "$rc" = 125 ] && grep -q 'not a directory' "$work/E1.err"; then
		pass "E1: bad --files -> 125 with a message"
	else
		fail "E1: expected 125 (got $rc)"
		show E1
	fi
	MINIRUN_VMTEST_APPEND=rdinit=/no-such-init run E2 -- true
	if [ "$rc" = 125 ] && grep -q 'the VM did not boot' "$work/E2.err" && grep -q 'Kernel panic' "$work/E2.err"; then
		pass "E2: boot failure -> 125 with the kernel log's last lines"
	else
		fail "E2: expected 125 with a kernel panic in the message (got $rc)"
		show E2
	fi
fi

# --- F --------------------------------------------------------------------------
sleep 0.2
left=$(comm -13 <(echo "$existing_tmp") <(ls -d "${TMPDIR:-/tmp}"/minirun-vmtest.* 2>/dev/null | sort))
# orphans: qemu processes whose run.sh temp dir is gone (others' live runs
# still have theirs)
procs=
while read -r pid dir; do
	[ -n "$pid" ] && [ ! -d "$dir" ] && procs+=" qemu:$pid"
done < <(pgrep -a -f 'qemu-system-x86_64 .*/minirun-vmtest\.' |
	sed -n 's#^\([0-9]*\) .* -initrd \([^ ]*\)/initrd .*#\1 \2#p')
if [ -z "$left" ] && [ -z "$procs" ]; then
	pass "F: no temp dirs or qemu processes left behind"
else
	fail "F: left behind: $left $procs"
fi

echo "selftest took $(secs "$t0" "$(now)")s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
