#!/usr/bin/env bash
# Lab 03, check your work: chroot leaks the host, pivot_root does not.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
need_busybox
tmpdir
R=$TMP/rootfs
mkdir "$R"
"$REPO/scripts/busybox-rootfs.sh" | tar -x -C "$R"
secret=host-secret-$$
echo "$secret" >"$TMP/secret"

out=$(chroot "$R" /bin/sh -c 'test -x /bin/busybox && echo rootfs; cat '"$TMP"'/secret 2>/dev/null || echo hidden')
check_eq "chroot: / is the rootfs, the host path is not found" "$out" $'rootfs\nhidden'
out=$(unshare --mount --propagation private sh -c "mount -t proc proc $R/proc && chroot $R /bin/sh -c 'cat /proc/\$PPID/root$TMP/secret'" 2>&1 || true)
check_eq "chroot + /proc: the host's secret leaks through /proc/\$PPID/root" "$out" "$secret"
check "the proc mount of the chroot did not leak to the host" sh -c "! grep -q ' $R/proc ' /proc/self/mountinfo"

out=$(unshare --mount --pid --fork --propagation private sh -c "
mount --bind $R $R && cd $R && mkdir -p .oldroot && pivot_root . .oldroot && cd / &&
exec /bin/sh -c 'mount -t proc proc /proc; umount -l /.oldroot; rmdir /.oldroot;
  echo \$\$; test -e /.oldroot && echo oldroot; cat /proc/1/root$TMP/secret 2>/dev/null || echo hidden'" 2>&1 || true)
check_eq "pivot_root + new PID ns: PID 1, old root gone, secret hidden" "$out" $'1\nhidden'

out=$(minirun run --rm --network none busybox sh -c 'head -n 1 /proc/self/mountinfo; cat /proc/1/root'"$TMP"'/secret 2>/dev/null || echo hidden')
check_match "minirun: / is an overlay mount" "$(head -n 1 <<<"$out")" '^[0-9]+ [0-9]+ [0-9:]+ / / .* - overlay '
check_eq "minirun: no way out through /proc/1/root" "$(tail -n 1 <<<"$out")" hidden
out=$(minirun run --rm --network none --rootfs "$R" /bin/sh -c 'cat /proc/1/root'"$TMP"'/secret 2>/dev/null || echo hidden')
check_eq "minirun --rootfs DIR: no way out either" "$out" hidden
finish
