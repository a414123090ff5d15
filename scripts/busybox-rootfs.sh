#!/bin/sh
# Builds a busybox root filesystem as a tar stream on stdout, from Debian's
# busybox-static package: the offline way to get the `busybox` image.
#   scripts/busybox-rootfs.sh | minirun import -c 'CMD ["sh"]' - busybox:latest
set -eu
BUSYBOX=${BUSYBOX:-/bin/busybox}
if [ ! -x "$BUSYBOX" ]; then
	echo "busybox-rootfs: $BUSYBOX not found: install Debian's busybox-static (apt-get install busybox-static)" >&2
	exit 1
fi
if ! "$BUSYBOX" --list >/dev/null 2>&1; then
	echo "busybox-rootfs: $BUSYBOX is not a multi-call busybox" >&2
	exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
cd "$dir"
mkdir -p bin etc root tmp var/spool/mail var/www home dev proc sys usr/sbin usr/bin sbin
chmod 1777 tmp
chmod 700 root
cp "$BUSYBOX" bin/busybox
# Like the busybox image: every applet is a hard link to /bin/busybox.
for applet in $("$BUSYBOX" --list); do
	[ "$applet" = busybox ] && continue
	[ -e "bin/$applet" ] || ln bin/busybox "bin/$applet"
done
cat > etc/passwd <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
P
cat > etc/group <<'G'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
G
echo 'root:*::0:::::' > etc/shadow
chmod 600 etc/shadow
tar --numeric-owner --owner=0 --group=0 -cf - .
