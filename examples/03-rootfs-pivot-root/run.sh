#!/usr/bin/env bash
# Lab 03: a root filesystem; chroot (and its escape) versus pivot_root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
need_busybox
need_tools unshare chroot pivot_root
tmpdir
R=$TMP/rootfs
cd "$REPO"

step "a root filesystem is just a directory tree"
say "scripts/busybox-rootfs.sh writes a tar of a minimal tree: a static busybox," \
	"its applets as links, /etc/passwd, empty /proc /sys /dev /tmp."
show mkdir "$R"
show_sh "scripts/busybox-rootfs.sh | tar -x -C $R"
show ls "$R"
show_sh "ls $R/bin | head -n 5; ls $R/bin | wc -l"
say "A secret outside that tree, which no container should see:"
show_sh "echo host-secret-$$ > $TMP/secret"

step "chroot(2): another / for path lookups, nothing more"
show chroot "$R" /bin/sh -c 'ls /; cat '"$TMP"'/secret || echo "not found: good?"'
say "Inside, '/' is the rootfs. But chroot changes one thing only: where this" \
	"process starts absolute paths. Same mounts, same PIDs, same network," \
	"and root keeps every capability, including chroot(2) itself."

step "the escape: /proc/PID/root is a host process's root"
say "Mount a proc in the rootfs (in a private mount namespace, so the mount" \
	"vanishes with it). /proc/PID/root is a magic link to that process's root" \
	"directory. We are still in the host's PID namespace, so every host process" \
	"is there: \$PPID, the shell that ran chroot, has the host's / as root" \
	"(/proc/1/root too, if you have CAP_SYS_PTRACE)."
show unshare --mount --propagation private sh -c \
	"mount -t proc proc $R/proc && chroot $R /bin/sh -c 'cat /proc/\$PPID/root$TMP/secret'"
say "There: the secret, read from inside the chroot. The classic escape needs" \
	"no /proc at all: as root, chroot into a subdirectory without chdir," \
	"then chdir(\"..\") up past the old root (see chroot(2), NOTES)."

step "pivot_root(2): swap the root mount, then unmount the old one"
say "pivot_root moves the whole mount namespace's root: new_root becomes /," \
	"the old root is put at put_old, and after 'umount -l' it is gone from this" \
	"namespace: no path leads back. new_root must be a mount point, hence the" \
	"bind mount of the directory onto itself. With a new PID namespace, /proc/1" \
	"is our own shell."
show unshare --mount --pid --fork --propagation private sh -c "
mount --bind $R $R && cd $R && mkdir -p .oldroot && pivot_root . .oldroot && cd / &&
exec /bin/sh -c 'mount -t proc proc /proc; umount -l /.oldroot; rmdir /.oldroot;
  echo \"PID \$\$, root: \$(ls /proc/1/root | tr \"\\n\" \" \")\";
  cat /proc/1/root$TMP/secret || echo no way out; wc -l < /proc/self/mountinfo'"

step "minirun does pivot_root, on an overlay of the image"
say "minirun run sets up a mount namespace with mount propagation private," \
	"mounts the image's overlay (lab 04), /proc, /dev, /sys, then pivot_root" \
	"and umount of the old root. The first line of mountinfo is its root."
show minirun run --rm --network none busybox sh -c 'head -n 1 /proc/self/mountinfo; cat /proc/1/root'"$TMP"'/secret || echo no way out'
say "A plain directory works as well (--rootfs), still with pivot_root:"
show minirun run --rm --network none --rootfs "$R" /bin/sh -c 'ls /; cat /proc/1/root'"$TMP"'/secret || echo no way out'
say "Done. Now run ./check.sh to check your work."
