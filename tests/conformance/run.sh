#!/bin/bash
# OCI runtime-spec conformance: the validation suite of
# github.com/opencontainers/runtime-tools (the spec's own tests, Go programs
# that build to TAP binaries *.t), run against minirun, runc and crun in the
# same run, with a table of the results. See tests/conformance/README.md.
#
#   sudo tests/conformance/run.sh            (or: sudo make conformance)
#   sudo tests/conformance/run.sh hostname pidfile    only these tests
#
# Environment:
#   RUNTIMES   which runtimes (default "minirun runc crun")
#   MINIRUN    the minirun binary (default: `make build` and bin/minirun)
#   OUT        raw TAP logs and the built suite (default bin/conformance,
#              git-ignored; kept after the run, `make clean` removes it)
#   RESULTS    the summary table (default tests/conformance/results.md)
#   TEST_TIMEOUT  seconds per test binary (default 120)
#
# What it does, and what it installs:
#   - apt-get installs runc, crun and busybox-static if they are missing.
#   - The suite, runtime-tools v0.9.0 (the newest release on the Go module
#     proxy), is built in a module of its own under $OUT/suite, never in
#     minirun's go.mod. v0.9.0 predates Go modules, so its dependencies are
#     pinned here to versions that build (runtime-spec v1.0.2, selinux v1.8.0).
#   - The rootfs-amd64.tar.gz the tests unpack is made from the host's static
#     busybox (scripts/busybox-rootfs.sh), plus the suite's runtimetest.
#
# Cgroups: the tests use linux.cgroupsPath "/cgrouptest" (absolute, i.e. at
# the root of each hierarchy) and read/write /sys/fs/cgroup/<ctl>/cgrouptest
# themselves. So that nothing lands outside cgroups this script owns, it
# creates one cgroup per v1 hierarchy, "minirun-conformance-<pid>" below this
# process's own cgroup (memory: below our process_api path; the other
# hierarchies: at /), moves the test runner into them and runs the whole
# suite in a new cgroup namespace + mount namespace with the cgroup
# filesystems mounted afresh: there "/" of every hierarchy is our cgroup.
# Each runtime keeps its state in its own --root under $WORK (a wrapper
# script is the suite's RUNTIME), TMPDIR is $WORK/tmp, and the EXIT trap
# deletes leftover containers, kills every process left in our cgroups (by
# PID: all of them are ours), removes the cgroups bottom-up and $WORK.
#
# Expected failures on this host (the host's or the suite's, not the
# runtime's; tests/conformance/expected.tsv gives each reason, the table
# marks them): no AppArmor or SELinux (linux_process_apparmor_profile,
# linux_mount_label), no hugetlb v1 controller (linux_cgroups_*hugetlb), no
# net_cls/net_prio (linux_cgroups_*network), blkio without weight files (no
# BFQ; linux_cgroups_*blkio), no kernel-memory limit on Linux 6.x
# (linux_cgroups_*memory), CAP_SYS_RESOURCE outside this session's bounding
# set (process_capabilities), and bugs or races of the v0.9.0 suite itself
# (hooks, hooks_stdin, misc_props, pidfile, poststart, prestart, start,
# process_rlimits).
set -u

REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$REPO/tests/conformance
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin
RUNTIMES=${RUNTIMES:-"minirun runc crun"}
OUT=${OUT:-$REPO/bin/conformance}
RESULTS=${RESULTS:-$HERE/results.md}
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
RT_VERSION=v0.9.0
CGNAME=minirun-conformance-$$
HIERARCHIES="cpu cpuacct cpuset memory devices freezer blkio pids systemd"
ALLCG="$HIERARCHIES unified" # our cgroups: the v1 hierarchies and cgroup2

# ---------------------------------------------------------------- inner part
# Runs in the new cgroup + mount namespace (see the header): mounts the
# cgroup filesystems afresh, then runs every test with every runtime.
if [ "${1:-}" = __inner ]; then
	shift
	set -e
	mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
	for h in $HIERARCHIES; do
		mkdir -p /sys/fs/cgroup/$h
		opt=$h
		[ $h = systemd ] && opt=none,name=systemd
		mount -t cgroup -o "$opt" cgroup /sys/fs/cgroup/$h
	done
	mkdir -p /sys/fs/cgroup/unified
	mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
	set +e
	cd "$SUITE"
	for t in "$@"; do
		for rt in $RUNTIMES; do
			mkdir -p "$OUT/logs/$rt"
			printf '  %-40s %-8s ' "$t" "$rt" >&2
			start=$(date +%s)
			# Each test in a mount namespace of its own too: a runtime that
			# pivots or mounts where it should not harms only that test.
			TMPDIR=$WORK/tmp RUNTIME=$WORK/bin/$rt unshare --mount --propagation private \
				timeout -k 5 "$TEST_TIMEOUT" ./"$t.t" \
				>"$OUT/logs/$rt/$t.tap" 2>"$OUT/logs/$rt/$t.err"
			echo $? >"$OUT/logs/$rt/$t.rc"
			echo "$(grep -c '^ok' "$OUT/logs/$rt/$t.tap") ok, $(grep -c '^not ok' "$OUT/logs/$rt/$t.tap") not ok ($(($(date +%s) - start))s)" >&2
			# Containers the test left behind, then cgroups (all below
			# ours): a runtime's leftover /cgrouptest must not change the
			# next test, whichever runtime runs it.
			for id in $(ls "$WORK/state/$rt" 2>/dev/null); do
				"$WORK/bin/$rt" kill "$id" KILL >/dev/null 2>&1
				"$WORK/bin/$rt" delete -f "$id" >/dev/null 2>&1
			done
			left=$(find /sys/fs/cgroup/*/ -mindepth 1 -type d 2>/dev/null)
			if [ -n "$left" ]; then
				echo "$left" >"$OUT/logs/$rt/$t.leftover-cgroups"
				find /sys/fs/cgroup/*/ -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
			fi
		done
	done
	exit 0
fi

# ---------------------------------------------------------------- outer part
if [ "$(id -u)" -ne 0 ]; then
	echo "conformance: needs root (containers, cgroups, namespaces)" >&2
	exit 1
fi

need=""
command -v runc >/dev/null || need="$need runc"
command -v crun >/dev/null || need="$need crun"
[ -x /bin/busybox ] || need="$need busybox-static"
if [ -n "$need" ]; then
	echo "conformance: installing Debian packages:$need"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need || exit 1
fi

WORK=$(mktemp -d /tmp/minirun-conformance.XXXXXX)
export WORK OUT RUNTIMES TEST_TIMEOUT
SUITE=${SUITE:-$OUT/suite}
export SUITE

cgdir() { # the path of our cgroup in hierarchy $1
	local h=$1 own
	own=$(awk -F: -v h="$h" '$1 == 0 && h == "unified" {print $3} {n=split($2, c, ","); for (i = 1; i <= n; i++) if (c[i] == h || c[i] == "name=" h) print $3}' /proc/self/cgroup)
	echo "/sys/fs/cgroup/$h${own%/}/$CGNAME"
}

cleanup() {
	trap - EXIT INT TERM
	# Containers still alive: delete them with their own runtime (the
	# inner part normally did), then kill whatever is left in our cgroups.
	for rt in $RUNTIMES; do
		for id in $(ls "$WORK/state/$rt" 2>/dev/null); do
			"$WORK/bin/$rt" delete -f "$id" >/dev/null 2>&1
		done
	done
	for pass in 1 2 3 4 5; do
		left=""
		for h in $ALLCG; do
			d=$(cgdir "$h")
			[ -d "$d" ] || continue
			left="$left $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)"
		done
		left=$(echo $left)
		[ -z "$left" ] && break
		for p in $left; do
			kill -CONT "$p" 2>/dev/null
			kill -KILL "$p" 2>/dev/null
		done
		# A frozen cgroup keeps its processes: thaw it.
		fz=$(cgdir freezer)
		[ -d "$fz" ] && find "$fz" -name freezer.state | while read -r f; do echo THAWED >"$f" 2>/dev/null; done
		sleep 1
	done
	for h in $ALLCG; do
		d=$(cgdir "$h")
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
		[ -d "$d" ] && echo "conformance: could not remove $d" >&2
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# minirun
if [ -z "${MINIRUN:-}" ]; then
	make -C "$REPO" -s build >/dev/null || exit 1
	MINIRUN=$REPO/bin/minirun
fi

# Wrappers: each runtime with its own state root under $WORK.
mkdir -p "$WORK/bin" "$WORK/tmp" "$WORK/state" "$OUT"
# Bundles live in $WORK/tmp: a container in a user namespace (its root is
# an unprivileged host uid) must be able to reach them.
chmod 755 "$WORK" "$WORK/tmp"
for rt in $RUNTIMES; do
	case $rt in
	minirun) bin=$MINIRUN ;;
	*) bin=$(command -v "$rt") ;;
	esac
	mkdir -p "$WORK/state/$rt"
	printf '#!/bin/sh\nexec %s --root %s "$@"\n' "$bin" "$WORK/state/$rt" >"$WORK/bin/$rt"
	chmod +x "$WORK/bin/$rt"
done

# The suite: runtime-tools' sources from the module cache, in a module of
# their own with pinned dependencies.
if [ ! -f "$SUITE/.built-$RT_VERSION" ]; then
	echo "conformance: building runtime-tools $RT_VERSION validation suite in $SUITE"
	rm -rf "$SUITE" && mkdir -p "$SUITE"
	src=$(cd "$WORK" && go mod download -json "github.com/opencontainers/runtime-tools@$RT_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[ -d "$src" ] || { echo "conformance: go mod download runtime-tools failed" >&2; exit 1; }
	cp -r "$src" "$SUITE/src" && chmod -R u+w "$SUITE/src"
	cat >"$SUITE/src/go.mod" <<'EOF'
module github.com/opencontainers/runtime-tools

go 1.16

require (
	github.com/blang/semver v3.5.1+incompatible
	github.com/hashicorp/go-multierror v1.1.1
	github.com/mndrix/tap-go v0.0.0-20171203230836-629fa407e90b
	github.com/mrunalp/fileutils v0.5.1
	github.com/opencontainers/runtime-spec v1.0.2
	github.com/opencontainers/selinux v1.8.0
	github.com/satori/go.uuid v1.2.0
	github.com/sirupsen/logrus v1.10.2
	github.com/stretchr/testify v1.12.1
	github.com/syndtr/gocapability v0.0.0-20200815063812-42c35b437635
	github.com/urfave/cli v1.22.17
	github.com/xeipuuv/gojsonschema v1.2.0
	golang.org/x/sys v0.50.0
)
EOF
	(
		set -e
		cd "$SUITE/src"
		GOFLAGS=-mod=mod go mod tidy
		CGO_ENABLED=0 go build -o "$SUITE/runtimetest" ./cmd/runtimetest
		for d in validation/*/; do
			n=$(basename "$d")
			[ "$n" = util ] && continue
			go build -o "$SUITE/$n.t" "./$d"
		done
	) || { echo "conformance: building the suite failed" >&2; exit 1; }
	touch "$SUITE/.built-$RT_VERSION"
fi
# The tests unpack ./rootfs-amd64.tar.gz for every container: made once,
# atomically (another run may be using the suite).
if [ ! -s "$SUITE/rootfs-amd64.tar.gz" ]; then
	"$REPO/scripts/busybox-rootfs.sh" | gzip -1 >"$SUITE/rootfs-amd64.tar.gz.$$" &&
		mv -f "$SUITE/rootfs-amd64.tar.gz.$$" "$SUITE/rootfs-amd64.tar.gz" || exit 1
fi

if [ $# -gt 0 ]; then
	TESTS="$*"
else
	TESTS=$(cd "$SUITE" && ls *.t | sed 's/\.t$//')
fi

# Our cgroups, one per hierarchy (cpuset needs its cpus and mems first).
for h in $ALLCG; do
	d=$(cgdir "$h")
	mkdir "$d" || exit 1
	if [ "$h" = cpuset ]; then
		cat "$(dirname "$d")/cpuset.cpus" >"$d/cpuset.cpus"
		cat "$(dirname "$d")/cpuset.mems" >"$d/cpuset.mems"
	fi
done
rm -rf "$OUT/logs"
echo "conformance: running $(echo $TESTS | wc -w) tests x ($RUNTIMES) in cgroup $CGNAME"
(
	for h in $ALLCG; do
		echo "$BASHPID" >"$(cgdir "$h")/cgroup.procs" || exit 1
	done
	exec unshare --cgroup --mount --propagation private bash "$0" __inner $TESTS
)

# ---------------------------------------------------------------- the table
# A test passes when its binary exits 0 with no "not ok". Some tests print
# only "1..0" when all is well and a YAML "error" block when not (hooks,
# prestart, ...); the *_fail tests and process_* tests that run runtimetest
# print runtimetest's TAP, and nothing at all when create failed, which is
# a pass only for *_fail (the runtime MUST refuse that config).
count() { if [ -f "$2" ]; then grep -c "$1" "$2"; else echo 0; fi; }
expected() { awk -F'\t' -v t="$1" '$1 == t {print $2}' "$HERE/expected.tsv" 2>/dev/null; }
verdict() { # pass, fail or - (not run) for runtime $1, test $2
	local log=$OUT/logs/$1/$2.tap ok nok
	[ -f "$log" ] || { echo -; return; }
	ok=$(count '^ok' "$log")
	nok=$(count '^not ok' "$log")
	if [ "$(cat "$OUT/logs/$1/$2.rc")" != 0 ] || [ "$nok" -gt 0 ]; then
		echo fail
	elif [ "$ok" -gt 0 ]; then
		echo pass
	elif ! grep -q '^TAP version' "$log"; then
		case $2 in *_fail) echo pass ;; *) echo fail ;; esac
	elif grep -q '^  *"error":' "$log"; then
		echo fail
	else
		echo pass
	fi
}
reason() { # why runtime $1 failed test $2: the first failing assertion, or the last error line
	local tap=$OUT/logs/$1/$2.tap err=$OUT/logs/$1/$2.err line why
	line=$(grep -m1 '^not ok' "$tap" | sed 's/^not ok [0-9]* - //')
	why=$(awk '/^not ok/ {f=1; next} f && /^ok|^not ok/ {exit} f && /"(error|stderr)":/ {sub(/^ *"(error|stderr)": */, ""); print; exit}' "$tap")
	if [ -z "$line" ]; then
		line=$(sed -n 's/^ *"error": *//p' "$tap" | head -1)
		why=$(grep -v '^$' "$err" | grep -v '^exit status' | tail -1)
		[ -z "$line" ] && line="exit $(cat "$OUT/logs/$1/$2.rc"), no assertion"
	fi
	echo "$line${why:+: $why}" | sed 's/\\n/ /g; s/Refer to:.*//' | tr '|\n' '/ ' | cut -c1-200
}
cell() { # verdict (assertions ok/total)
	local log=$OUT/logs/$1/$2.tap v ok nok
	v=$(verdict "$1" "$2")
	[ "$v" = - ] && { echo -; return; }
	ok=$(count '^ok' "$log")
	nok=$(count '^not ok' "$log")
	echo "$v ($ok/$((ok + nok)))"
}

{
	echo "# OCI runtime-spec conformance (runtime-tools $RT_VERSION validation)"
	echo
	echo "Generated by \`tests/conformance/run.sh\` on Linux $(uname -r) (cgroup v1, hybrid), $(date -u +%Y-%m-%d):"
	echo "minirun $("$MINIRUN" --version 2>/dev/null | head -1 | sed 's/^minirun version //'),"
	echo "$(runc --version | head -1), $(crun --version | head -1)."
	echo "A cell is the test's verdict and (assertions passed/total); a test passes when its"
	echo "binary exits 0 with no failed assertion (see the script for tests with no assertions)."
	echo "Expected failures (host or suite, not the runtime) are listed in expected.tsv."
	echo
	echo "| test | minirun | runc | crun | minirun failure: reason |"
	echo "| --- | --- | --- | --- | --- |"
	for t in $TESTS; do
		note=""
		if [ "$(verdict minirun "$t")" = fail ]; then
			exp=$(expected "$t")
			if [ -n "$exp" ]; then
				note="expected: $exp"
			elif [ "$(verdict runc "$t")" = pass ] || [ "$(verdict crun "$t")" = pass ]; then
				note="**minirun**: $(reason minirun "$t")"
			elif [ "$(verdict runc "$t")$(verdict crun "$t")" = failfail ]; then
				note="runc and crun fail too: $(reason minirun "$t")"
			else
				note="$(reason minirun "$t")"
			fi
		fi
		echo "| $t | $(cell minirun "$t") | $(cell runc "$t") | $(cell crun "$t") | $note |"
	done
	echo
	for rt in $RUNTIMES; do
		pass=0 exp=0 ap=0 af=0
		for t in $TESTS; do
			if [ "$(verdict "$rt" "$t")" = pass ]; then
				pass=$((pass + 1))
			elif [ -n "$(expected "$t")" ]; then
				exp=$((exp + 1))
			fi
			ap=$((ap + $(count '^ok' "$OUT/logs/$rt/$t.tap")))
			af=$((af + $(count '^not ok' "$OUT/logs/$rt/$t.tap")))
		done
		n=$(echo $TESTS | wc -w)
		echo "- **$rt**: $pass of $n tests pass; $exp of the $((n - pass)) failures are expected on this host; assertions $ap passed, $af failed"
	done
	echo
	echo "Raw TAP logs: \`$OUT/logs/<runtime>/<test>.{tap,err,rc}\` (not committed)."
} >"$RESULTS"
cat "$RESULTS"
