#!/usr/bin/env bash
# vmtest/extract-vmlinux.sh BZIMAGE > vmlinux
#
# Prints the uncompressed ELF kernel ("vmlinux") contained in an x86 bzImage.
#
# Why: a bzImage boots through the legacy 16-bit setup code, then decompresses
# itself. Under qemu's TCG emulation that decompression alone takes seconds.
# An ELF vmlinux carries a Xen "PVH" entry note (XEN_ELFNOTE_PHYS32_ENTRY);
# qemu's `-kernel vmlinux` loads the ELF directly and jumps to that 32-bit
# entry point: no real-mode setup, no self-decompression.
#
# How (same idea as the kernel tree's scripts/extract-vmlinux, but exact):
# the boot protocol header (Documentation/arch/x86/boot.rst, protocol >= 2.08)
# says where the compressed payload is:
#   0x1f1  setup_sects      (u8)   setup code is (setup_sects+1)*512 bytes
#   0x202  "HdrS" magic
#   0x248  payload_offset   (u32)  relative to the start of protected-mode code
#   0x24c  payload_length   (u32)  includes the 4-byte uncompressed size the
#                                  kernel build appends to the stream
# We cut out the payload, recognise its compressor by magic bytes and
# decompress it. If the header is unusable we fall back to scanning for magics
# like scripts/extract-vmlinux does. Output is checked to be an ELF file.
set -euo pipefail
img=${1:?usage: extract-vmlinux.sh BZIMAGE}

u8()  { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }

# decompress FILE -> stdout, choosing the tool by the first bytes.
decompress() {
	local m; m=$(od -An -tx1 -N6 "$1" | tr -d ' \n')
	case $m in
	fd377a585a00*) xz -dc "$1" ;;                 # xz
	28b52ffd*)     zstd -dcq "$1" ;;              # zstd
	1f8b08*)       gzip -dc "$1" ;;               # gzip
	425a68*)       bzip2 -dc "$1" ;;              # bzip2
	5d0000*)       xz -F lzma -dc "$1" ;;         # lzma
	894c5a4f*)     lzop -dc "$1" ;;               # lzo
	02214c18*)     lz4 -dc "$1" ;;                # lz4 (legacy frame)
	*) return 1 ;;
	esac
}
is_elf() { [ "$(od -An -tx1 -N4 "$1" | tr -d ' \n')" = 7f454c46 ]; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$(od -An -c -j 514 -N4 "$img" | tr -d ' ')" = HdrS ]; then
	sects=$(u8 "$img" 497); [ "$sects" = 0 ] && sects=4
	off=$(( (sects + 1) * 512 + $(u32 "$img" 584) ))
	len=$(u32 "$img" 588)
	# Drop the trailing 4-byte size so the decompressor sees a clean stream.
	dd if="$img" of="$tmp/payload" bs=64k iflag=skip_bytes,count_bytes \
		skip="$off" count="$((len - 4))" status=none
	if decompress "$tmp/payload" >"$tmp/vmlinux" 2>/dev/null && is_elf "$tmp/vmlinux"; then
		cat "$tmp/vmlinux"; exit 0
	fi
fi

# Fallback: look for each compressor's magic anywhere in the image.
for magic in '\xfd\x37\x7a\x58\x5a\x00' '\x28\xb5\x2f\xfd' '\x1f\x8b\x08' 'BZh'; do
	for pos in $(LC_ALL=C grep -aboP "$magic" "$img" | cut -d: -f1); do
		tail -c +"$((pos + 1))" "$img" >"$tmp/payload"
		decompress "$tmp/payload" >"$tmp/vmlinux" 2>/dev/null || true
		if [ -s "$tmp/vmlinux" ] && is_elf "$tmp/vmlinux"; then
			cat "$tmp/vmlinux"; exit 0
		fi
	done
done
echo "extract-vmlinux: no compressed ELF kernel found in $img" >&2
exit 1
