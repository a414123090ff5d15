#!/usr/bin/env bash
# vmtest/deps.sh — install what vmtest/run.sh needs; idempotent and quick
# (well under a second) when everything is already there. CI calls it; run.sh
# calls it too, so running it by hand is optional.
#
#   vmtest/deps.sh            install missing host tools, fetch the kernel once
#   vmtest/deps.sh --refresh  also look for a newer Debian kernel and fetch it
#   vmtest/deps.sh --print    print the cached kernel directory (after ensuring it)
#
# What it does:
#  1. Host tools from Debian, installed only if missing, --no-install-recommends:
#     qemu-system-x86 (the emulator), cpio (GNU cpio writes the newc initramfs
#     format), busybox-static (the VM's whole userland), kmod (depmod/modprobe,
#     used on the host only to compute module load order).
#  2. The guest kernel: Debian's linux-image-amd64 points at a versioned
#     package (linux-image-6.1.0-NN-amd64). We `apt-get download` that .deb and
#     `dpkg-deb -x` it into the cache. Nothing is installed on the host, no
#     initramfs-tools/grub hooks run, the host's boot config is untouched.
#     Then depmod (into the cache) and vmlinux extraction (see
#     extract-vmlinux.sh) so qemu can boot the kernel via PVH.
#
# Cache: $MINIRUN_VMTEST_CACHE, default /var/cache/minirun-vmtest (outside the
# work tree so that fresh CI clones on the same machine reuse it). Layout:
#   debs/*.deb                the downloaded kernel package
#   kernel/<pkg>_<ver>/       dpkg-deb -x of it + modules.dep + vmlinux
#   current -> kernel/<pkg>_<ver>   the kernel run.sh uses
# Pin another kernel with MINIRUN_VMTEST_KERNEL_PKG=linux-image-6.1.0-NN-amd64.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${MINIRUN_VMTEST_CACHE:-/var/cache/minirun-vmtest}
refresh=0 print=0
for a in "$@"; do
	case $a in
	--refresh) refresh=1 ;;
	--print) print=1 ;;
	*) echo "usage: $0 [--refresh] [--print]" >&2; exit 2 ;;
	esac
done

log() { echo "vmtest/deps: $*" >&2; }
die() { echo "vmtest/deps: error: $*" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_update() {
	if [ "$apt_updated" = 0 ]; then
		log "apt-get update"
		apt-get update -qq >&2 || die "apt-get update failed"
		apt_updated=1
	fi
}

# --- 1. host tools ---------------------------------------------------------
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v cpio >/dev/null || missing+=(cpio)
[ -x /bin/busybox ] || missing+=(busybox-static)
{ command -v depmod && command -v modprobe; } >/dev/null 2>&1 || missing+=(kmod)
command -v xz >/dev/null || missing+=(xz-utils)
command -v zstd >/dev/null || missing+=(zstd)
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing ${missing[*]} and not root to install them"
	apt_update
	log "installing ${missing[*]}"
	aptlog=$(mktemp)
	if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$aptlog" 2>&1; then
		tail -n 30 "$aptlog" >&2; rm -f "$aptlog"
		die "apt-get install ${missing[*]} failed"
	fi
	rm -f "$aptlog"
fi
# depmod/modprobe live in /sbin, which a non-login root shell may lack on PATH.
export PATH=$PATH:/usr/sbin:/sbin

# --- 2. the guest kernel -----------------------------------------------------
# Fast path: a complete cached kernel and no --refresh -> done, no apt at all.
if [ "$refresh" = 0 ] && [ -z "${MINIRUN_VMTEST_KERNEL_PKG:-}" ] &&
	[ -e "$CACHE/current/.complete" ]; then
	[ "$print" = 1 ] && readlink -f "$CACHE/current"
	exit 0
fi

mkdir -p "$CACHE/debs" "$CACHE/kernel"
# Two runs filling the cache at once would extract over each other: lock.
exec 9>"$CACHE/.lock"
flock 9
# A half-done download or extraction is removed if we fail.
partial=()
trap 'if [ ${#partial[@]} -gt 0 ]; then rm -rf "${partial[@]}"; fi' EXIT
[ "$refresh" = 1 ] && apt_update

# Which versioned package does the linux-image-amd64 metapackage point at?
resolve_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1
}
pkg=${MINIRUN_VMTEST_KERNEL_PKG:-}
if [ -z "$pkg" ]; then
	pkg=$(resolve_pkg)
	if [ -z "$pkg" ]; then apt_update; pkg=$(resolve_pkg); fi
	[ -n "$pkg" ] || die "cannot resolve linux-image-amd64 to a kernel package (apt-cache depends linux-image-amd64)"
fi
ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
	apt_update
	ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
fi
{ [ -n "$ver" ] && [ "$ver" != "(none)" ]; } || die "no installable version of $pkg"
dir=$CACHE/kernel/${pkg}_${ver//:/%3a}

if [ ! -e "$dir/.complete" ]; then
	deb=$(ls "$CACHE"/debs/"${pkg}"_"${ver//:/%3a}"_amd64.deb 2>/dev/null | head -n1 || true)
	if [ -z "$deb" ]; then
		log "downloading $pkg=$ver"
		# apt drops privileges to _apt for downloads: give it a dir it may write.
		dl=$(mktemp -d "$CACHE/debs/.dl.XXXXXX")
		partial+=("$dl")
		chmod 755 "$dl"; chown _apt "$dl" 2>/dev/null || true
		(cd "$dl" && apt-get download -qq "$pkg=$ver" >&2) || { rm -rf "$dl"; die "apt-get download $pkg=$ver failed"; }
		mv "$dl"/*.deb "$CACHE/debs/"
		rm -rf "$dl"
		deb=$(ls "$CACHE"/debs/"${pkg}"_*_amd64.deb | head -n1)
	fi
	log "extracting $(basename "$deb")"
	rm -rf "$dir.tmp"
	partial+=("$dir.tmp")
	mkdir -p "$dir.tmp"
	dpkg-deb -x "$deb" "$dir.tmp"
	kver=$(ls "$dir.tmp/lib/modules" 2>/dev/null | head -n1)
	[ -n "$kver" ] || die "$deb has no lib/modules/<kver>"
	[ -f "$dir.tmp/boot/vmlinuz-$kver" ] || die "$deb has no boot/vmlinuz-$kver"
	echo "$kver" >"$dir.tmp/kver"
	# The package ships modules.order/modules.builtin but not modules.dep:
	# its postinst would run depmod. Run it against the extracted tree.
	depmod -b "$dir.tmp" "$kver"
	# Uncompressed ELF vmlinux for qemu's PVH boot (see extract-vmlinux.sh).
	if "$here/extract-vmlinux.sh" "$dir.tmp/boot/vmlinuz-$kver" >"$dir.tmp/vmlinux.tmp"; then
		mv "$dir.tmp/vmlinux.tmp" "$dir.tmp/vmlinux"
	else
		log "warning: could not extract vmlinux; run.sh will boot the bzImage"
		rm -f "$dir.tmp/vmlinux.tmp"
	fi
	touch "$dir.tmp/.complete"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
fi
ln -sfn "kernel/$(basename "$dir")" "$CACHE/current.tmp"
mv -T "$CACHE/current.tmp" "$CACHE/current"
log "kernel: $(cat "$dir/kver") ($pkg $ver) in $dir"
[ "$print" = 1 ] && echo "$dir"
exit 0
