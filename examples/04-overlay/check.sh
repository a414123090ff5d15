#!/usr/bin/env bash
# Lab 04, check your work: copy-up, whiteouts, opaque dirs, a container's upper.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
need_busybox
tmpdir
NAME=lab04c-$$
cd "$TMP"
mkdir -p lower/etc lower/data upper work merged
echo base >lower/etc/config
echo x >lower/data/a
mount -t overlay overlay -o lowerdir=lower,upperdir=upper,workdir=work merged
echo edited >>merged/etc/config
check_eq "copy-up: the lower file is unchanged" "$(cat lower/etc/config)" base
check_eq "copy-up: upperdir holds the whole edited file" "$(cat upper/etc/config)" $'base\nedited'
rm merged/etc/config
check_eq "whiteout: a character device 0:0 in upperdir" "$(stat -c '%F %t:%T' upper/etc/config)" "character special file 0:0"
check "whiteout: the file is gone from the merged view" test ! -e merged/etc/config
rm -r merged/data && mkdir merged/data
check_eq "opaque directory: trusted.overlay.opaque=y" "$(getfattr --only-values -n trusted.overlay.opaque upper/data 2>&1)" y
check_eq "opaque directory: the lower's files are hidden" "$(ls -A merged/data)" ""
umount merged

cleanup "\"$MINIRUN\" rm -f $NAME"
minirun run -d --name "$NAME" --network none busybox sleep 300 >/dev/null
pid=$(container_pid "$NAME")
root=$(grep ' / / ' "/proc/$pid/mountinfo")
check_match "the container's / is an overlay with lowerdir, upperdir and workdir" "$root" ' - overlay .*lowerdir=.*upperdir=.*workdir='
upper=$(tr ',' '\n' <<<"$root" | sed -n 's/^upperdir=//p')
minirun exec "$NAME" sh -c 'rm /bin/vi; echo hello > /tmp/note'
check_eq "rm in the container: a whiteout in its upperdir" "$(stat -c '%F %t:%T' "$upper/bin/vi" 2>&1)" "character special file 0:0"
check_eq "a new file in the container: in its upperdir" "$(cat "$upper/tmp/note" 2>&1)" hello
check "a new container of the image still has /bin/vi" minirun run --rm --network none busybox test -e /bin/vi
finish
