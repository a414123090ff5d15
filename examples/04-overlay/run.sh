#!/usr/bin/env bash
# Lab 04: overlayfs by hand (copy-up, whiteouts, opaque directories), then
# the layers under a minirun container.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
need_busybox
tmpdir
NAME=lab04-$$
cd "$TMP"

step "two read-only layers and a writable one"
say "overlayfs merges directories: lowerdir (read-only, the leftmost on top)," \
	"upperdir (where every change goes) and workdir (overlay's scratch space," \
	"on the same filesystem as upperdir). Image layers are the lowerdirs."
show mkdir -p base app upper work merged base/etc app/etc base/data
show_sh "echo 'from base' > base/etc/motd; echo 'base config' > base/etc/config; echo x > base/data/a; echo y > base/data/b"
show_sh "echo 'from app' > app/etc/motd"
show mount -t overlay overlay -o lowerdir=app:base,upperdir=upper,workdir=work merged
show_sh "cat merged/etc/motd merged/etc/config; ls merged/data"
say "app's motd hides base's: the upper of two lowers wins, file by file."

step "writing: copy-up"
say "A write to a lower file first copies it whole into upperdir (copy-up);" \
	"the lower layers never change."
show_sh "echo 'edited' >> merged/etc/config"
show_sh "cat base/etc/config; echo ---; cat upper/etc/config"

step "deleting: a whiteout"
say "A lower file cannot be removed, so overlay hides it: a whiteout is a" \
	"character device 0:0 with the same name in upperdir."
show rm merged/etc/motd
show ls -l upper/etc
show_sh "ls merged/etc; cat base/etc/motd app/etc/motd"

step "replacing a directory: an opaque directory"
say "rm -r of a directory then mkdir of the same name: upperdir gets a new" \
	"directory marked opaque (xattr trusted.overlay.opaque=y), which hides" \
	"everything below it in the lowers. Image tars say the same with .wh.<name>" \
	"files and .wh..wh..opq (the OCI image spec's whiteouts)."
show_sh "rm -r merged/data && mkdir merged/data && echo new > merged/data/c"
show ls merged/data
show getfattr -n trusted.overlay.opaque upper/data
show umount merged

step "a minirun container is the same thing"
say "Each image layer is unpacked once into the data root; a container's" \
	"upperdir and workdir are its own. Its overlay shows in /proc/PID/mountinfo."
cleanup "\"$MINIRUN\" rm -f $NAME"
show minirun run -d --name "$NAME" --network none busybox sleep 300
PID=$(container_pid "$NAME")
show_sh "grep ' / / ' /proc/$PID/mountinfo | tr ',' '\n' | grep -E 'lowerdir|upperdir|workdir'"
UPPER=$(grep ' / / ' "/proc/$PID/mountinfo" | tr ',' '\n' | sed -n 's/^upperdir=//p')
show minirun exec "$NAME" sh -c 'rm /bin/vi; echo hello > /tmp/note'
show_sh "cd $UPPER && find . -mindepth 1 | sort && ls -l bin/vi"
say "bin/vi is a whiteout now; the layer below still has vi, and a new" \
	"container of the same image gets it back:"
show minirun run --rm --network none busybox ls -l /bin/vi
say "Done. Now run ./check.sh to check your work."
