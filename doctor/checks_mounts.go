package doctor

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/rootfs"
)

// mountEntry is one line of /proc/self/mountinfo (man 5 proc):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//	id parent maj:min root mountpoint options [optional...] - fstype source superoptions
type mountEntry struct {
	ID, Parent  string
	Root, Point string
	Optional    []string // "shared:1", "master:2", "propagate_from:3", "unbindable"
	FSType      string
	Source      string
	Line        string
}

func parseMountinfo(text string) []mountEntry {
	var out []mountEntry
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		sep := -1
		for i, x := range f {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 6 || len(f) < sep+3 {
			continue
		}
		out = append(out, mountEntry{
			ID: f[0], Parent: f[1], Root: rootfs.UnescapeMountinfo(f[3]), Point: rootfs.UnescapeMountinfo(f[4]),
			Optional: f[6:sep], FSType: f[sep+1], Source: f[sep+2], Line: line,
		})
	}
	return out
}

// propagation names a mount's propagation type from its optional fields.
func (m mountEntry) propagation() string {
	var kinds []string
	for _, o := range m.Optional {
		switch {
		case strings.HasPrefix(o, "shared:"):
			kinds = append(kinds, "shared")
		case strings.HasPrefix(o, "master:"):
			kinds = append(kinds, "slave")
		case o == "unbindable":
			kinds = append(kinds, "unbindable")
		}
	}
	if len(kinds) == 0 {
		return "private"
	}
	return strings.Join(kinds, "+")
}

// rootMount is the mount seen at "/" (the last one mounted there).
func rootMount(ms []mountEntry) (mountEntry, bool) {
	var found mountEntry
	ok := false
	for _, m := range ms {
		if m.Point == "/" {
			found, ok = m, true
		}
	}
	return found, ok
}

func mountChecks() []Check {
	return []Check{
		{ID: "mounts.propagation", Group: "mounts", Title: "propagation of the root mount /", Run: checkPropagation},
		{ID: "mounts.pivot_root", Group: "mounts", Title: "pivot_root(2) can leave this root filesystem", Run: checkPivotRoot},
		{ID: "mounts.overlay", Group: "mounts", Title: "overlayfs is in the kernel", Run: checkOverlay},
		{ID: "mounts.overlay_upper", Group: "mounts", Title: "the data root can hold overlay upper directories", Run: checkOverlayUpper},
		{ID: "mounts.idmapped_layers", Group: "mounts", Title: "image layers can be idmapped for --userns=auto", Run: checkIDMappedLayers},
	}
}

// theRoot finds the mount at "/", or marks r skipped.
func theRoot(e *Env, r *Result) (mountEntry, bool) {
	ms, err := e.Mounts()
	if err != nil {
		r.evidence("/proc/self/mountinfo: %v", err)
		r.set(Skip, "cannot read the mount table")
		return mountEntry{}, false
	}
	root, ok := rootMount(ms)
	if !ok {
		r.set(Skip, "no mount at / in /proc/self/mountinfo")
	}
	return root, ok
}

func checkPropagation(e *Env, r *Result) {
	root, ok := theRoot(e, r)
	if !ok {
		return
	}
	p := root.propagation()
	r.evidence("/proc/self/mountinfo, the line of /: %s", root.Line)
	r.evidence("propagation of /: %s", p)
	r.Why = "A mount namespace starts as a copy of its parent's, and a mount in it that belongs to a shared peer group " +
		"still propagates to (and from) the host. pivot_root(2) refuses with EINVAL when the parent mount of the new root " +
		"or the parent mount of the current root has shared propagation (man 2 pivot_root). systemd makes / shared " +
		"on every boot (man 8 systemd: 'mount --make-rshared /'), which is why a tutorial's first pivot_root fails with " +
		"'invalid argument' on a systemd host. minirun's init makes / recursively private in the container's new mount " +
		"namespace (mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE)) before its mounts and pivot_root, as runc does, so minirun " +
		"is not affected."
	if strings.Contains(p, "shared") {
		r.set(Warn, "/ is shared: pivot_root fails with EINVAL unless the container's mount namespace first makes / private (minirun does; many tutorials do not)")
		r.Fix = []string{
			"in your own code, right after unshare(CLONE_NEWNS): mount --make-rprivate /   (C: mount(NULL, \"/\", NULL, MS_REC|MS_PRIVATE, NULL))",
			"do not change the host's / itself: systemd, udisks and container engines rely on shared propagation",
		}
		return
	}
	r.set(OK, "/ is "+p+": mounts made in a new mount namespace stay there")
}

func checkPivotRoot(e *Env, r *Result) {
	root, ok := theRoot(e, r)
	if !ok {
		return
	}
	r.evidence("filesystem of /: %s (source %s, mount id %s, parent %s)", root.FSType, root.Source, root.ID, root.Parent)
	r.Why = "pivot_root(2) moves the old root away and makes the container's filesystem \"/\". The kernel's initial " +
		"root, the initramfs (filesystem type rootfs), can never be moved or unmounted, so pivot_root fails with EINVAL " +
		"when it is the root: on hosts that boot and stay in an initramfs (some PXE, live and CI systems, Docker's " +
		"DOCKER_RAMDISK). Real systems leave the initramfs early: its /init mounts the real root and calls switch_root."
	initial := root.FSType == "rootfs" || root.FSType == "ramfs"
	// The namespace's root mount is its own parent in mountinfo ("2 2 0:2
	// / / rw - rootfs rootfs rw"); some reports show parent 0.
	nsRoot := root.Parent == root.ID || root.Parent == "0"
	if initial && !nsRoot {
		// The kernel's initramfs bind-mounted and moved over / (what
		// vmtest/init.sh does instead of switch_root): a mount with a
		// parent, which pivot_root can move away.
		r.set(OK, "/ is the initial ramfs, but bind-mounted over itself (its parent is mount "+root.Parent+"): pivot_root can move it away")
		return
	}
	if initial {
		r.set(Fail, "/ is the initial ramfs ("+root.FSType+"): pivot_root fails with EINVAL")
		r.Fix = []string{
			"minirun run --no-pivot ...   (and `minirun create --no-pivot` for the OCI verbs): MS_MOVE the rootfs over / and chroot; weaker, since a process with CAP_SYS_CHROOT can get out",
			"or boot into a real root: from the initramfs, mount the root filesystem on /newroot and `exec switch_root /newroot /sbin/init`",
			"or give / a parent without copying anything (minirun's vmtest/init.sh does this): mkdir /newroot; mount --bind / /newroot; cd /newroot; mount --move . /; exec chroot . /init",
		}
		return
	}
	r.set(OK, "/ is a real mount ("+root.FSType+"): pivot_root can move it away")
}

func checkOverlay(e *Env, r *Result) {
	b, err := e.Host.ReadFile("/proc/filesystems")
	if err != nil {
		r.evidence("/proc/filesystems: %v", err)
		r.set(Skip, "cannot read /proc/filesystems")
		return
	}
	r.Why = "minirun stacks an image's layers with overlayfs: the layers are read-only lower directories shared by " +
		"every container, and each container writes to its own upper directory. Without it only --rootfs DIR works."
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[len(f)-1] == "overlay" {
			r.evidence("/proc/filesystems: %s", strings.TrimSpace(line))
			r.set(OK, "overlay is registered")
			return
		}
	}
	r.evidence("/proc/filesystems: no \"overlay\" line")
	rel, _ := e.Host.Uname()
	for _, m := range []string{"overlay.ko", "overlay.ko.xz", "overlay.ko.zst", "overlay.ko.gz"} {
		p := filepath.Join("/lib/modules", rel, "kernel/fs/overlayfs", m)
		if _, _, err := e.Host.StatOwner(p); err == nil {
			r.evidence("%s: present", p)
			r.set(Warn, "overlay is a module that is not loaded yet; mount(2) normally loads it on demand (request_module)")
			r.Fix = []string{"modprobe overlay", "echo overlay > /etc/modules-load.d/overlay.conf   (load it at boot)"}
			return
		}
	}
	r.evidence("/lib/modules/%s/kernel/fs/overlayfs/overlay.ko*: not found", rel)
	r.set(Fail, "overlayfs is neither built in nor available as a module")
	r.Fix = []string{"use a kernel with CONFIG_OVERLAY_FS=y or =m", "or run with --rootfs DIR (a plain directory, no layers)"}
}

// Filesystem magic numbers (statfs(2) f_type) with overlay-upper quirks.
var fsNames = map[int64]string{
	unix.EXT4_SUPER_MAGIC: "ext4", unix.XFS_SUPER_MAGIC: "xfs", unix.BTRFS_SUPER_MAGIC: "btrfs",
	unix.TMPFS_MAGIC: "tmpfs", unix.OVERLAYFS_SUPER_MAGIC: "overlay", unix.NFS_SUPER_MAGIC: "nfs",
	unix.RAMFS_MAGIC: "ramfs", 0x2fc12fc1: "zfs", unix.FUSE_SUPER_MAGIC: "fuse", unix.ECRYPTFS_SUPER_MAGIC: "ecryptfs",
	unix.F2FS_SUPER_MAGIC: "f2fs",
}

func fsName(t int64) string {
	if n, ok := fsNames[t]; ok {
		return n
	}
	return fmt.Sprintf("0x%x", t)
}

// existingAncestor is the nearest directory of path that exists: minirun
// creates the data root on first use.
func existingAncestor(e *Env, path string) (string, int64, error) {
	p := filepath.Clean(path)
	for {
		t, err := e.Host.Statfs(p)
		if err == nil {
			return p, t, nil
		}
		if !errors.Is(err, unix.ENOENT) || p == "/" {
			return p, 0, err
		}
		p = filepath.Dir(p)
	}
}

func checkOverlayUpper(e *Env, r *Result) {
	dir, t, err := existingAncestor(e, e.Opts.DataRoot)
	if err != nil {
		r.evidence("statfs %s: %v", dir, err)
		r.set(Skip, "cannot look at the data root")
		return
	}
	r.evidence("statfs %s: %s (f_type 0x%x)", dir, fsName(t), t)
	r.Why = "Each container's writable layer is an overlay upper directory under the data root (" + e.Opts.DataRoot +
		"/containers/<id>/). Not every filesystem can be an upper: it needs d_type, xattrs (trusted.overlay.*) and " +
		"RENAME_WHITEOUT for deletions. overlay on overlay (minirun inside a Docker container), NFS, ecryptfs, " +
		"FUSE, ZFS before 2.2 and XFS formatted with ftype=0 are refused, with EINVAL in mount(2) or an error on the first delete."
	fix := []string{
		"put the data root on ext4, xfs (ftype=1) or btrfs: minirun --data-root /srv/minirun ...   (or MINIRUN_DATA_ROOT=/srv/minirun)",
		"inside a container, make the data root a volume: docker run -v /var/lib/minirun ...",
	}
	if e.Rootless() {
		// Rootless overlay (kernel >= 5.11, in a user namespace) is for rootless mode to probe.
		r.set(Skip, "probed as root only (mounting needs CAP_SYS_ADMIN)")
		if fsName(t) == "overlay" {
			r.set(Warn, "the data root is on overlay: overlay upper directories cannot live there")
			r.Fix = fix
		}
		return
	}
	if err := e.Host.OverlayProbe(dir); err != nil {
		r.evidence("overlay with upperdir in %s, in a throwaway mount namespace: %v", dir, err)
		r.set(Fail, "an overlay with its upper directory on this "+fsName(t)+" filesystem does not work")
		r.Fix = fix
		return
	}
	r.evidence("overlay with upperdir in %s (write, whiteout), in a throwaway mount namespace: ok", dir)
	r.set(OK, "an overlay upper directory works on "+fsName(t))
}

func checkIDMappedLayers(e *Env, r *Result) {
	r.Why = "With --userns=auto a container's root is an ordinary host ID (100000, say), and the image's files, " +
		"owned by 0 on disk, must look owned by it. An idmapped mount (mount_setattr(2), MOUNT_ATTR_IDMAP: Linux " +
		"5.12, and overlayfs takes idmapped layers since 5.19) shows them that way without changing a byte, so " +
		"every container shares the layers. Without it minirun copies the layers for each container with the " +
		"owners shifted (chowned copies): it works, but starts slower and takes the image's size again on disk."
	if e.Rootless() {
		r.set(Skip, "--userns=auto is for minirun as root")
		return
	}
	dir, t, err := existingAncestor(e, e.Opts.DataRoot)
	if err != nil {
		r.evidence("statfs %s: %v", dir, err)
		r.set(Skip, "cannot look at the data root")
		return
	}
	rel, _ := e.Host.Uname()
	r.evidence("kernel release: %s; data root filesystem: %s", rel, fsName(t))
	if err := e.Host.IDMapProbe(dir); err != nil {
		r.evidence("overlay with an idmapped lower layer (0 → 100000) in %s, in a throwaway mount namespace: %v", dir, err)
		r.set(Warn, "no idmapped layers here: --userns=auto falls back to chowned copies of the layers for each container (slower start, more disk)")
		r.Fix = []string{
			"a kernel ≥ 5.19 (overlayfs with idmapped layers), with the data root on a filesystem that supports idmapped mounts (ext4, xfs, btrfs; tmpfs since 6.3)",
			"nothing to do otherwise: the fallback works (MINIRUN_USERNS_CHOWN=1 forces it)",
		}
		return
	}
	r.evidence("overlay with an idmapped lower layer (0 → 100000) in %s: a layer's file owned by 0 shows as 100000", dir)
	r.set(OK, "image layers are shared through idmapped mounts")
}
