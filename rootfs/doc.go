// Package rootfs builds the filesystem a container sees, from the mounts
// of the OCI spec, and then makes it the root with pivot_root(2).
//
// # Mounts and propagation
//
// mount(2) attaches a filesystem (or, with MS_BIND, an existing directory
// tree) at a path. Inside its own mount namespace the container can mount
// and unmount freely, but mounts can still travel between namespaces through
// "propagation": a shared mount forwards its events to its peers. systemd
// makes / shared, so the first thing a container does is mark its whole
// tree private (mount("", "/", MS_REC|MS_PRIVATE)); without that pivot_root
// fails with EINVAL and mounts could leak back to the host.
// See man 7 mount_namespaces ("Shared subtrees"), man 2 mount, man 2 umount.
//
// # overlayfs
//
// An image is a stack of read-only layer directories. overlayfs shows them
// merged as one tree: lowerdir=top:...:bottom are read-only, upperdir takes
// every write (copy-up), workdir is overlayfs' scratch space on the same
// filesystem as upperdir. A deleted lower file is recorded in the upper dir
// as a "whiteout" (a 0/0 character device). The container's root is such a
// merged directory; throwing away the upper dir throws away the container's
// changes. See Documentation/filesystems/overlayfs.rst.
//
// # Idmapped mounts (user namespaces)
//
// A container in a user namespace (run --userns=auto) has its own IDs: its
// root is an ordinary host ID, say 100000, and the image's files, owned by 0
// on disk, would be nobody's to it. An idmapped mount shows a tree through a
// user namespace's mapping without changing a byte on disk: the new mount
// API makes a detached copy of a mount (open_tree(2) with OPEN_TREE_CLONE),
// gives it the mapping (mount_setattr(2) with MOUNT_ATTR_IDMAP and the
// namespace's descriptor: only a mount not attached yet may get one), and
// attaches it (move_mount(2)). Through it, file owner 0 reads as 100000, and
// what host uid 100000 creates is stored as 0. overlayfs takes idmapped
// lower layers since Linux 5.19 (MountOverlayIDMapped); the upper directory
// is not idmapped, so the container's writes keep their host IDs. Where the
// kernel or filesystem cannot idmap, ShiftedCopy is the fallback: a copy of
// a layer with every owner moved into the range (podman's "chown" storage),
// which costs the layer's size and copy time.
// See man 2 open_tree, man 2 mount_setattr, man 2 move_mount,
// man 7 user_namespaces, Documentation/filesystems/idmappings.rst.
//
// # pivot_root
//
// pivot_root(new_root, put_old) swaps the root of the mount namespace: the
// new root becomes "/", and the old one is stacked at put_old, from where it
// is unmounted (umount2(MNT_DETACH)). Unlike chroot(2), which only changes
// how one process resolves "/" and is escaped with a second chroot and some
// "cd ..", pivot_root takes the host's filesystem out of the namespace
// entirely. minirun uses the trick pivot_root(".", ".") from the man page:
// the old root ends up stacked on the new one and is detached at once.
// pivot_root cannot work when the host's own root is the initial ramfs
// (initramfs): there the fallback (NoPivot) moves the rootfs over "/" with
// MS_MOVE and chroots, which is weaker, and says so.
// See man 2 pivot_root, man 2 chroot.
//
// # /dev, /proc, /sys
//
// A container gets a small tmpfs /dev with only the harmless devices (null,
// zero, full, random, urandom, tty, made with mknod(2)), its own devpts
// instance for terminals (mount option newinstance, with /dev/ptmx pointing
// at it), /dev/shm and /dev/mqueue, and the /dev/fd and /dev/std* links into
// /proc/self/fd. /proc is mounted fresh so that it shows the container's
// PID namespace; /sys read-only. Sensitive files are "masked" (a bind mount
// of /dev/null or an empty read-only tmpfs over them) or made read-only.
// See man 5 proc, man 4 null, man 7 pty, man 4 pts.
//
// # Mount points inside the root
//
// A mount destination is a path inside the container, and the image (or a
// process of another container sharing a volume) may have put a symlink on
// the way: /data -> / must not send a mount onto the host's /. So a
// destination is never resolved as a host path. It is walked one name at a
// time from an O_PATH handle of the root, each name opened relative to the
// handle before it with O_NOFOLLOW and created when missing (mkdirat(2));
// the mount then goes onto that handle (/proc/self/fd/N). Where the walk
// meets a symlink it hands over to filepath-securejoin, which resolves the
// path as if the root were "/" (openat2(2) RESOLVE_IN_ROOT).
// See man 2 openat2, man 2 openat (O_NOFOLLOW, O_PATH), man 7 path_resolution.
package rootfs
