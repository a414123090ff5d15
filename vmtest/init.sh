#!/bin/sh
# vmtest/init.sh — PID 1 inside the test VM (copied to /init in the initramfs).
#
# Runs under busybox sh. run.sh put these next to it:
#   /vmtest/modules    kernel modules to insmod, one file name a line, in
#                      dependency order (files in /lib/modules/vmtest/)
#   /vmtest/env        `export NAME='value'` lines from run.sh --env
#   /vmtest/cmd        the shell command line to run (already quoted)
# and talks to the host through two virtio-serial ports (see run.sh):
#   vmtest.out         the command's stdout+stderr, streamed
#   vmtest.status      lines for the harness: BOOT/START/EXIT <...>
# Everything init itself prints goes to /dev/console = ttyS0 = console.log.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root TERM=dumb

say() { echo "vmtest-init: $*"; }
# mark STEP: a timestamped milestone on the console (kernel uptime, seconds).
mark() {
	read -r up _ </proc/uptime
	say "[$up] $*"
}
die() {
	say "FATAL: $*"
	poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 1000
}

# ---------------------------------------------------------------------------
# Stage 1: make the root file system pivotable.
#
# The kernel unpacks the initramfs into "rootfs", the very first mount of the
# system. rootfs is special: it has no parent mount and can never be unmounted
# or moved, so pivot_root(2) — which every container runtime uses to enter a
# container's root — fails with EINVAL for any process whose root is rootfs,
# even inside a new mount namespace (the namespace's copy of rootfs is still
# parentless).
#
# The trick: bind-mount / onto a directory, move that bind mount on top of /,
# and chroot into it. The new root is an ordinary mount (same files, no copy)
# whose parent is rootfs, so pivot_root works from then on. We then re-exec
# ourselves as stage 2 inside the new root.
if [ "$1" != stage2 ]; then
	# First, busybox's applet symlinks (busybox --install needs /proc to find
	# itself). They land in the initramfs, so the new root has them too.
	/bin/busybox mount -t proc proc /proc
	/bin/busybox --install -s /bin
	/bin/busybox umount /proc
	mount -o bind / /newroot || die "bind-mount / /newroot"
	cd /newroot || die "cd /newroot"
	mount --move . / || die "mount --move . /"
	# shellcheck disable=SC2093 # die only runs if exec fails
	exec chroot . /bin/sh /init stage2
	die "chroot into the bind-mounted root"
fi

# ---------------------------------------------------------------------------
# Stage 2: the usual early-userspace mounts.
mount -t proc -o nosuid,nodev,noexec proc /proc
mark "stage 2 started"
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o nosuid,noexec,gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o nosuid,nodev shm /dev/shm
mount -t mqueue -o nosuid,nodev,noexec mqueue /dev/mqueue 2>/dev/null
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
# /tmp without nodev: tests mknod device nodes in t.TempDir() and open them
# (a nodev mount would turn every such open into EACCES).
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run

# cgroup v2, alone. The kernel was booted with cgroup_no_v1=all, so no v1
# hierarchy can claim a controller: every controller the kernel has shows up
# in the unified hierarchy (a controller bound to a v1 hierarchy would be
# missing from cgroup2's cgroup.controllers — the situation on the host).
# Mount options as systemd uses them.
mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup ||
	mount -t cgroup2 cgroup2 /sys/fs/cgroup || die "mount cgroup2"
# Delegate every available controller to child cgroups, one at a time so a
# controller the kernel refuses (e.g. cpu with RT tasks) doesn't block others.
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null ||
		say "warning: cannot enable cgroup controller $c"
done

hostname vmtest
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
mark "stage 2 mounts done"

# ---------------------------------------------------------------------------
# Kernel modules, in the order modprobe --show-depends gave on the host.
# The virtio ones come first: they carry our output. "File exists" (already
# loaded, or a dependency listed twice) is fine; other failures are logged.
# One fork per module: no per-module grep or $(...) capture.
while read -r ko; do
	[ -n "$ko" ] || continue
	insmod "/lib/modules/vmtest/$ko" 2>/tmp/.insmod.err || {
		read -r err </tmp/.insmod.err
		case $err in
		*"File exists"*) ;;
		*) say "warning: insmod $ko: $err" ;;
		esac
	}
done </vmtest/modules
rm -f /tmp/.insmod.err
mark "modules loaded"

# ---------------------------------------------------------------------------
# Find the virtio-serial ports by name. The port's name arrives from the host
# through a control message, shortly after the device appears: poll briefly.
find_port() {
	i=0
	while [ $i -lt 400 ]; do
		for p in /sys/class/virtio-ports/*; do
			[ -r "$p/name" ] || continue
			read -r n <"$p/name" || continue
			[ "$n" = "$1" ] && [ -c "/dev/${p##*/}" ] && { echo "/dev/${p##*/}"; return 0; }
		done
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}
OUT=$(find_port vmtest.out) || die "virtio-serial port vmtest.out not found (virtio_pci/virtio_console loaded? $(ls /sys/class/virtio-ports 2>&1))"
STATUS=$(find_port vmtest.status) || die "virtio-serial port vmtest.status not found"
exec 3>"$STATUS"
read -r up _ </proc/uptime
echo "BOOT $up" >&3
mark "ports found"

# ---------------------------------------------------------------------------
# Run the command: a child of PID 1, in a shell, cwd /work, stdin /dev/null,
# stdout+stderr to the host. This shell (PID 1) waits for it and, while
# waiting, reaps orphans that get re-parented to it.
[ -f /vmtest/env ] && . /vmtest/env
read -r up _ </proc/uptime
echo "START $up" >&3
cd /work && sh /vmtest/cmd </dev/null >"$OUT" 2>&1 3>&-
rc=$?
read -r up _ </proc/uptime
echo "EXIT $rc $up" >&3
exec 3>&-

# Power off at once: there is nothing to sync (all file systems are in RAM).
# qemu runs with -no-reboot, and panic=-1 turns a failed poweroff (init
# exiting -> kernel panic -> reboot) into a qemu exit as well.
poweroff -f
echo o >/proc/sysrq-trigger
sleep 1000
