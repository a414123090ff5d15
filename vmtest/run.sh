#!/usr/bin/env bash
# vmtest/run.sh — run a command as root inside a throw-away Linux VM with a
# pure cgroup v2 hierarchy, and exit with that command's exit status.
#
#   vmtest/run.sh [options] -- COMMAND [ARGS...]
#
#   --mem SIZE        guest memory (qemu -m), default 2G
#   --cpus N          guest CPUs, default 2
#   --timeout SECS    kill the VM after SECS seconds (exit 124), default 600
#   --files DIR       copy DIR into the VM at /work (the command's cwd)
#   --env NAME=VALUE  set an environment variable for COMMAND (repeatable)
#   --modules "M..."  extra kernel modules to load (with their dependencies)
#   --console         also stream the kernel console (ttyS0) to stderr
#   -v, --verbose     print timings and what the harness does to stderr
#   --bzimage         boot the compressed bzImage instead of the PVH vmlinux
#
# Exit status: COMMAND's status; 124 on timeout; 125 when the harness itself
# failed (message on stderr says what: deps, qemu, kernel, boot); 130/143 when
# interrupted. COMMAND's stdout and stderr both arrive on run.sh's stdout, as
# they are written. The harness's own messages go to stderr.
#
# Example:
#   CGO_ENABLED=0 GOAMD64=v1 go test -c -o /tmp/t/cgroups.test ./cgroups/
#   vmtest/run.sh --files /tmp/t -- ./cgroups.test -test.v
#
# How it works (details in vmtest/README.md):
#   1. deps.sh makes sure qemu, cpio, busybox-static, kmod and a Debian kernel
#      (downloaded + extracted into a cache, never installed) are there.
#   2. An initramfs is built in a temp dir: busybox, /init (init.sh), the
#      kernel modules we need, the command, and DIR at /work.
#   3. qemu boots Debian's kernel with it under TCG (software emulation: there
#      is no /dev/kvm here). init mounts cgroup2 etc., runs the command with
#      its output on a virtio-serial port, reports the exit status on a second
#      port, and powers the VM off.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PATH=$PATH:/usr/sbin:/sbin

mem=2G cpus=2 timeout=600 files='' console=0 verbose=0 force_bzimage=${MINIRUN_VMTEST_BZIMAGE:-0}
envs=() extra_modules=${MINIRUN_VMTEST_MODULES:-}

usage() { # usage [STATUS]: the header comment of this file
	sed -n '2,/^# Exit status/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit "${1:-125}"
}
fail() {
	echo "vmtest: error: $*" >&2
	exit 125
}
info() { if [ "$verbose" = 1 ]; then echo "vmtest: $*" >&2; fi; }
warn() { echo "vmtest: warning: $*" >&2; }

while [ $# -gt 0 ]; do
	case $1 in
	--mem) mem=${2:?--mem needs a value}; shift 2 ;;
	--cpus) cpus=${2:?--cpus needs a value}; shift 2 ;;
	--timeout) timeout=${2:?--timeout needs a value}; shift 2 ;;
	--files) files=${2:?--files needs a directory}; shift 2 ;;
	--env) envs+=("${2:?--env needs NAME=VALUE}"); shift 2 ;;
	--modules) extra_modules+=" ${2:?--modules needs a list}"; shift 2 ;;
	--console) console=1; shift ;;
	-v | --verbose) verbose=1; shift ;;
	--bzimage) force_bzimage=1; shift ;;
	-h | --help) usage 0 ;;
	--) shift; break ;;
	-*) echo "vmtest: unknown option $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "vmtest: no COMMAND given" >&2; usage; }
[[ $timeout =~ ^[0-9]+$ ]] || fail "--timeout must be whole seconds, got '$timeout'"
[[ $cpus =~ ^[0-9]+$ ]] || fail "--cpus must be a number, got '$cpus'"
[ -z "$files" ] || [ -d "$files" ] || fail "--files $files: not a directory"
for e in ${envs[@]+"${envs[@]}"}; do
	[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || fail "--env wants NAME=VALUE, got '$e'"
done

t_start=$(date +%s.%N)

# --- 1. dependencies ---------------------------------------------------------
kdir=$("$here/deps.sh" --print) || fail "vmtest/deps.sh failed (see above): cannot install qemu-system-x86/cpio/busybox-static/kmod or fetch Debian's linux-image-amd64"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
command -v cpio >/dev/null || fail "cpio not found (apt-get install cpio)"
[ -x /bin/busybox ] || fail "/bin/busybox not found (apt-get install busybox-static)"
kver=$(cat "$kdir/kver" 2>/dev/null) || fail "kernel cache $kdir is incomplete: no kver (delete it and rerun vmtest/deps.sh)"
[ -f "$kdir/boot/vmlinuz-$kver" ] || fail "kernel cache $kdir has no boot/vmlinuz-$kver (delete it and rerun vmtest/deps.sh)"

# --- temp dir, cleanup, signals ----------------------------------------------
# Everything lives in one temp dir; the EXIT trap kills what we started (by
# PID) and removes it, whatever way we leave.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/minirun-vmtest.XXXXXX")
qemu_pid='' reader_pid='' console_pid='' timer_pid=''
# shellcheck disable=SC2317 # (called from the EXIT trap)
kill_pid() { if [ -n "$1" ]; then kill "$1" 2>/dev/null || true; fi; }
# shellcheck disable=SC2317
cleanup() {
	local pid
	for pid in "$qemu_pid" "$timer_pid"; do kill_pid "$pid"; done
	if [ -n "$qemu_pid" ]; then wait "$qemu_pid" 2>/dev/null || true; fi
	for pid in "$reader_pid" "$console_pid"; do kill_pid "$pid"; done
	wait 2>/dev/null || true
	if [ "${MINIRUN_VMTEST_KEEP:-0}" = 1 ]; then
		echo "vmtest: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'echo "vmtest: interrupted" >&2; exit 130' INT
trap 'echo "vmtest: terminated" >&2; exit 143' TERM HUP

# --- 2. the initramfs ----------------------------------------------------------
st=$tmp/stage
mkdir -p "$st"/{bin,etc,proc,sys,dev,tmp,run,root,mnt,newroot,work,vmtest,lib/modules/vmtest,usr}
# busybox-static is the whole userland. /init creates the applet symlinks
# (busybox --install, one process) because ~270 `ln` forks here cost more.
cp /bin/busybox "$st/bin/busybox"
ln -s busybox "$st/bin/sh"
ln -s bin "$st/sbin"
ln -s ../bin "$st/usr/bin"
ln -s ../bin "$st/usr/sbin"
cp "$here/init.sh" "$st/init"
chmod 755 "$st/init"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$st/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$st/etc/group"
printf '127.0.0.1 localhost vmtest\n::1 localhost ip6-localhost\n' >"$st/etc/hosts"
echo vmtest >"$st/etc/hostname"

# Kernel modules. Debian builds virtio, overlayfs, veth, bridge, nftables…
# as modules; we ask modprobe (against the extracted package, on the host) for
# each module's dependency chain, and copy the files in that order. Modules
# built into the kernel print "builtin ..." and need nothing.
# Decompress .ko.xz/.ko.zst here: busybox insmod can't be trusted with them.
harness_modules="virtio_pci virtio_console"
default_modules="overlay veth bridge nf_tables nf_nat nft_chain_nat nft_masq nft_nat nft_ct nft_fib_ipv4 br_netfilter loop tun dummy"
# One modprobe call for the whole list (-a); a module it cannot find is a
# warning on stderr, and fatal only for the harness' own virtio modules.
read -ra mods <<<"$harness_modules $default_modules $extra_modules"
deps=$(modprobe -d "$kdir" -S "$kver" --show-depends -a "${mods[@]}" 2>"$tmp/modprobe.err") || true
while read -r line; do
	case $line in
	*"Module "*" not found"*)
		m=${line#*Module }
		m=${m%% *}
		case " $harness_modules " in
		*" $m "*) fail "kernel module $m not found in $kdir/lib/modules/$kver" ;;
		*) warn "kernel module $m not found in the kernel package, skipped" ;;
		esac
		;;
	?*) warn "modprobe: $line" ;;
	esac
done <"$tmp/modprobe.err"
declare -A seen=()
plain=()
: >"$st/vmtest/modules"
while read -r verb path _; do
	[ "$verb" = insmod ] || continue # "builtin NAME": nothing to load
	base=${path##*/}
	name=${base%%.ko*}
	[ -z "${seen[$name]:-}" ] || continue
	seen[$name]=1
	case $path in
	*.ko) plain+=("$path") ;;
	*.ko.xz) xz -dc "$path" >"$st/lib/modules/vmtest/$name.ko" ;;
	*.ko.zst) zstd -dcq "$path" >"$st/lib/modules/vmtest/$name.ko" ;;
	*.ko.gz) gzip -dc "$path" >"$st/lib/modules/vmtest/$name.ko" ;;
	*) fail "unexpected module file $path" ;;
	esac
	echo "$name.ko" >>"$st/vmtest/modules"
done <<<"$deps"
if [ ${#plain[@]} -gt 0 ]; then cp -t "$st/lib/modules/vmtest/" "${plain[@]}"; fi
for m in $harness_modules; do
	[ -n "${seen[$m]:-}" ] || grep -q "/$m.ko" "$kdir/lib/modules/$kver/modules.builtin" ||
		fail "kernel module $m: neither a module file nor built in"
done

# The command and its environment, as POSIX-sh-quoted words: 'a'\''b'.
shq() {
	local s=$1
	printf "'%s'" "${s//\'/\'\\\'\'}"
}
{
	printf 'exec'
	for a in "$@"; do printf ' %s' "$(shq "$a")"; done
	printf '\n'
} >"$st/vmtest/cmd"
: >"$st/vmtest/env"
for e in ${envs[@]+"${envs[@]}"}; do
	printf 'export %s=%s\n' "${e%%=*}" "$(shq "${e#*=}")" >>"$st/vmtest/env"
done

# --files DIR -> /work, symlinks kept as they are (image trees need that).
if [ -n "$files" ]; then
	cp -a "$files"/. "$st/work/" || fail "copying --files $files"
fi

# GNU cpio, newc format, everything owned by root. Left uncompressed: the
# kernel would spend longer gunzipping under TCG than qemu spends loading a
# bigger file (see README for the measurement).
case ${MINIRUN_VMTEST_COMPRESS:-none} in
none) compress=(cat) ;;
gzip) compress=(gzip -1) ;;
zstd) compress=(zstd -q -1) ;;
*) fail "MINIRUN_VMTEST_COMPRESS must be none, gzip or zstd" ;;
esac
(cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | "${compress[@]}") >"$tmp/initrd" ||
	fail "building the initramfs with cpio"
nmod=$(wc -l <"$st/vmtest/modules")
rm -rf "$st"
t_initrd=$(date +%s.%N)
info "initramfs: $(du -h "$tmp/initrd" | cut -f1), $nmod modules, built in $(awk "BEGIN{printf \"%.2f\", $t_initrd - $t_start}")s"

# --- 3. boot -----------------------------------------------------------------
# Kernel command line:
#   console=ttyS0       kernel messages on the first serial port -> console.log
#   cgroup_no_v1=all    no controller may be bound to a cgroup v1 hierarchy, so
#                       all of them are available in cgroup2: a pure v2 system
#                       as on current distributions (systemd >= 247 defaults)
#   mitigations=off     no CPU-bug mitigations: pure cost under emulation
#   quiet               fewer console messages: serial output is slow
#   panic=-1            reboot at once on panic; with -no-reboot qemu exits
#   rdinit=/init        run our init from the initramfs
#   random.trust_cpu=on seed the RNG from RDRAND so getrandom() never blocks
#   i8042.* 8250.nr_uarts=1   don't probe a PS/2 controller or extra UARTs
# MINIRUN_VMTEST_APPEND adds more (a later "loglevel=7" undoes "quiet").
cmdline="console=ttyS0 cgroup_no_v1=all mitigations=off quiet panic=-1 rdinit=/init random.trust_cpu=on i8042.noaux i8042.nokbd i8042.nopnp 8250.nr_uarts=1 ${MINIRUN_VMTEST_APPEND:-}"

# One qemu run. Sets boot_rc: 0 when the VM reported an exit status,
# 1 when it never booted (so the caller may retry with another kernel image),
# 2 on timeout, 3 when it booted but died without a status.
run_vm() {
	local kernel=$1
	rm -f "$tmp/out.fifo" "$tmp/status" "$tmp/console.log" "$tmp/qemu.err"
	mkfifo "$tmp/out.fifo"
	: >"$tmp/status"
	: >"$tmp/console.log"

	# The command's output: a virtio-serial port whose host side is a FIFO;
	# cat copies it to our stdout as the guest writes. A virtio port hands
	# over whole buffers per notification, while the emulated 16550 UART
	# (ttyS0) traps into qemu for every single byte: measured here, 2 MB took
	# 10.6 s through ttyS0 and 0.05 s through virtio-serial. So ttyS0 only
	# carries the (quiet) kernel log, and test output can be as verbose as
	# it likes.
	cat "$tmp/out.fifo" &
	reader_pid=$!
	if [ "$console" = 1 ]; then
		tail -n +1 -f "$tmp/console.log" >&2 &
		console_pid=$!
	fi

	# -nodefaults: no VGA, NIC, floppy, CD-ROM, monitor — less to emulate.
	# -cpu max: every feature TCG can emulate (the default qemu64 model lacks
	#   SSE4.2/POPCNT, which Go binaries built with GOAMD64>v1 need).
	# -kernel vmlinux: an ELF with a PVH note is entered directly in 32-bit
	#   mode (see extract-vmlinux.sh); a bzImage goes the slow way.
	# virtio-serial-pci with two named ports: output and status.
	# shellcheck disable=SC2086 # MINIRUN_VMTEST_QEMU_EXTRA is split on purpose
	qemu-system-x86_64 \
		-nodefaults -nographic -no-reboot ${MINIRUN_VMTEST_QEMU_EXTRA:-} \
		-machine q35,accel=tcg -cpu max -m "$mem" -smp "$cpus" \
		-kernel "$kernel" -initrd "$tmp/initrd" -append "$cmdline" \
		-serial "file:$tmp/console.log" \
		-device virtio-serial-pci,id=vser \
		-chardev "file,id=out,path=$tmp/out.fifo" \
		-device virtserialport,bus=vser.0,chardev=out,name=vmtest.out \
		-chardev "file,id=status,path=$tmp/status" \
		-device virtserialport,bus=vser.0,chardev=status,name=vmtest.status \
		</dev/null 2>"$tmp/qemu.err" &
	qemu_pid=$!
	info "qemu pid $qemu_pid: $kernel"

	# Wait for qemu or the timer, whichever ends first.
	local remaining finished='' qrc=0
	remaining=$(awk "BEGIN{r=$timeout - ($(date +%s.%N) - $t_start); print (r > 1 ? r : 1)}")
	sleep "$remaining" &
	timer_pid=$!
	wait -n -p finished "$qemu_pid" "$timer_pid" || qrc=$?
	if [ "$finished" = "$timer_pid" ]; then
		timer_pid=
		kill "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
		qemu_pid=
		boot_rc=2
	else
		kill "$timer_pid" 2>/dev/null || true
		wait "$timer_pid" 2>/dev/null || true
		timer_pid='' qemu_pid=''
		qemu_rc=$qrc
		boot_rc=3
	fi

	# qemu is gone. If it never opened the FIFO, cat still blocks in open():
	# opening the FIFO read-write never blocks and gives cat its writer,
	# closing it again gives cat its EOF.
	exec {fd}<>"$tmp/out.fifo"
	exec {fd}>&-
	wait "$reader_pid" 2>/dev/null || true
	reader_pid=
	if [ -n "$console_pid" ]; then
		sleep 0.2
		kill "$console_pid" 2>/dev/null || true
		wait "$console_pid" 2>/dev/null || true
		console_pid=
	fi

	if [ "$boot_rc" = 2 ]; then return; fi
	if grep -q '^EXIT ' "$tmp/status"; then
		boot_rc=0
	elif ! grep -q '^BOOT ' "$tmp/status"; then
		boot_rc=1
	fi
}

console_tail() {
	echo "vmtest: --- last 40 lines of the kernel console ---" >&2
	# (minus SeaBIOS's terminal escape sequences)
	tail -n 40 "$tmp/console.log" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' >&2 || true
	if [ -s "$tmp/qemu.err" ]; then
		echo "vmtest: --- qemu stderr ---" >&2
		tail -n 20 "$tmp/qemu.err" >&2
	fi
}

boot_rc='' qemu_rc=''
if [ "$force_bzimage" != 1 ] && [ -f "$kdir/vmlinux" ]; then
	run_vm "$kdir/vmlinux"
	# Retry only if the kernel printed nothing at all — no "[  1.234]" line,
	# only SeaBIOS's banner, if anything (PVH entry failed, or qemu refused
	# the ELF); a kernel that panicked later would panic the same way again.
	if [ "$boot_rc" = 1 ] && ! grep -aqE '\[ *[0-9]+\.[0-9]+\]|vmtest-init' "$tmp/console.log"; then
		warn "PVH boot of $kdir/vmlinux failed (qemu exit $qemu_rc), retrying with the bzImage"
		[ "$verbose" = 1 ] && console_tail
		run_vm "$kdir/boot/vmlinuz-$kver"
	fi
else
	run_vm "$kdir/boot/vmlinuz-$kver"
fi
t_end=$(date +%s.%N)

# --- 4. result ---------------------------------------------------------------
case $boot_rc in
0)
	read -r _ rc up_end < <(grep '^EXIT ' "$tmp/status" | tail -n1)
	up_boot=$(sed -n 's/^START //p' "$tmp/status" | head -n1)
	info "$(awk "BEGIN{printf \"guest booted to COMMAND in %.2fs (kernel uptime), COMMAND ran %.2fs, whole run %.2fs (initramfs %.2fs)\", $up_boot, $up_end - $up_boot, $t_end - $t_start, $t_initrd - $t_start}")"
	# init's warnings (a module that would not load, a controller that would
	# not enable) are worth seeing even when COMMAND passed.
	grep -a 'vmtest-init: warning' "$tmp/console.log" | sed 's/^/vmtest: /' >&2 || true
	exit "$rc"
	;;
1)
	echo "vmtest: error: the VM did not boot (qemu exit status $qemu_rc; kernel $kver from $kdir)" >&2
	console_tail
	exit 125
	;;
2)
	echo "vmtest: timeout: killed the VM after ${timeout}s" >&2
	console_tail
	exit 124
	;;
*)
	echo "vmtest: error: the VM stopped before COMMAND's exit status was reported (qemu exit status $qemu_rc)" >&2
	console_tail
	exit 125
	;;
esac
