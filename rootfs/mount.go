package rootfs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/trace"
)

// mount is the one place minirun calls mount(2); errors name every argument.
func mount(source, target, fstype string, flags uintptr, data string) error {
	return mountAs(source, target, "", fstype, flags, data)
}

// mountAs is mount onto a handle (target /proc/self/fd/N); shown is the
// path in the container it stands for, for the trace.
func mountAs(source, target, shown, fstype string, flags uintptr, data string) error {
	end := traceMountAs(source, target, shown, fstype, flags, data)
	err := unix.Mount(source, target, fstype, flags, data)
	end(err)
	if err != nil {
		return &os.PathError{Op: fmt.Sprintf("mount(%q, %q, %q, %#x, %q)", source, target, fstype, flags, data), Path: target, Err: err}
	}
	return nil
}

// SetPropagation changes the propagation type of the mount at path
// (for example MS_REC|MS_PRIVATE on "/": nothing we mount leaks out).
func SetPropagation(path string, flags uintptr) error {
	return mount("", path, "", flags, "")
}

// PrepareRoot is the first step inside the new mount namespace: it stops
// mount propagation back to the host and makes rootfs a mount point of its
// own (pivot_root needs new_root to be one).
func PrepareRoot(rootfs string, propagation uintptr) error {
	if propagation == 0 {
		propagation = unix.MS_REC | unix.MS_PRIVATE
	}
	if err := SetPropagation("/", propagation); err != nil {
		return err
	}
	// With rootfsPropagation "shared" the mount holding rootfs may be
	// shared now, and pivot_root refuses a new root whose parent mount is
	// shared (EINVAL). Make that parent private first, as runc does; the
	// container's own propagation goes on "/" after the pivot (ApplyRootPropagation).
	// After a recursive private or slave no mount is shared: nothing to find.
	if propagation&unix.MS_REC == 0 || propagation&unix.MS_SHARED != 0 {
		if parent, err := mountPointOf(rootfs); err == nil {
			if err := SetPropagation(parent, unix.MS_PRIVATE); err != nil {
				return err
			}
		}
	}
	return mount(rootfs, rootfs, "", unix.MS_BIND|unix.MS_REC, "")
}

// ApplyRootPropagation sets linux.rootfsPropagation on the container's "/"
// once it is the root: set before the pivot it would reach the host's
// mounts, or make pivot_root fail.
func ApplyRootPropagation(propagation uintptr) error {
	if propagation == 0 {
		return nil
	}
	return SetPropagation("/", propagation)
}

// mountPointOf is the mount point of the mount that holds path (the
// longest mount point in /proc/self/mountinfo that contains it).
func mountPointOf(path string) (string, error) {
	path, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", err
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	best := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := UnescapeMountinfo(fields[4])
		if (mp == "/" || path == mp || strings.HasPrefix(path, mp+"/")) && len(mp) > len(best) {
			best = mp
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if best == "" {
		return "", fmt.Errorf("no mount holds %s", path)
	}
	return best, nil
}

// UnescapeMountinfo undoes the octal escapes of /proc/self/mountinfo (\040 is
// a space, \011 a tab, \012 a newline, \134 a backslash).
func UnescapeMountinfo(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%3o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// InRoot resolves path inside rootfs without ever leaving it: symlinks in
// the image are followed as if rootfs were "/" (a link "/data -> /" stays
// inside the container).
func InRoot(rootfs, path string) (string, error) {
	p, err := securejoin.SecureJoin(rootfs, path)
	if err != nil {
		return "", fmt.Errorf("resolve %q inside %s: %w", path, rootfs, err)
	}
	return p, nil
}

// MkdirInRoot creates a directory (and its parents) inside rootfs.
func MkdirInRoot(rootfs, path string, mode os.FileMode) (string, error) {
	p, err := InRoot(rootfs, path)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(p, mode); err != nil {
		return "", fmt.Errorf("mkdir %q in the container: %w", path, err)
	}
	return p, nil
}

// mountTarget creates the mount point of dest inside rootfs (a directory,
// or an empty file when a file is bind-mounted; symlinks of the image are
// followed as if rootfs were "/") and returns it as handles. It is
// resolved and created without a path ever being walked twice (filepath-securejoin's pathrs-lite:
// openat2(RESOLVE_IN_ROOT) or a checked walk of handles), so a process of
// the container that swaps a directory on the way for a symlink (through a
// volume it shares: CVE-2021-30465) cannot make minirun create or mount
// anything outside the root. The caller mounts onto procFd(mp.h).
func mountTarget(rootfs, dest string, file bool) (*mountPoint, error) {
	fd, err := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: rootfs, Err: err}
	}
	if mp, ok, err := walkTarget(fd, dest, file); ok || err != nil {
		if mp == nil || mp.parent != fd { // else the root is the parent mp holds
			unix.Close(fd)
		}
		return mp, err
	}
	root := os.NewFile(uintptr(fd), rootfs)
	defer root.Close()
	var h *os.File
	mkdirAll := func(dir string) (*os.File, error) {
		h, err := pathrs.MkdirAllHandle(root, dir, 0o755)
		if err == nil {
			return h, nil
		}
		// A symlink of the image that leads nowhere yet (/data -> /srv/x):
		// pathrs-lite does not create through it; resolve it inside the
		// root as securejoin does, then create that path, again in-root.
		p, jerr := securejoin.SecureJoin(rootfs, dir)
		if jerr != nil {
			return nil, err
		}
		rel, rerr := filepath.Rel(rootfs, p)
		if rerr != nil {
			return nil, err
		}
		return pathrs.MkdirAllHandle(root, "/"+rel, 0o755)
	}
	if !file {
		if h, err = mkdirAll(dest); err != nil {
			return nil, err
		}
	} else if h, err = pathrs.OpenatInRoot(root, dest); err != nil {
		// Missing: create it where dest leads inside the root (an image's
		// /etc/resolv.conf may be a symlink to a file not there yet).
		p, jerr := securejoin.SecureJoin(rootfs, dest)
		if jerr != nil {
			return nil, jerr
		}
		rel, rerr := filepath.Rel(rootfs, p)
		if rerr != nil {
			return nil, rerr
		}
		parent, err := mkdirAll("/" + filepath.Dir(rel))
		if err != nil {
			return nil, err
		}
		h, err = fileTarget(parent, filepath.Base(rel))
		parent.Close()
		if err != nil {
			return nil, err
		}
	}
	mp, err := newMountPoint(rootfs, root, h)
	if err != nil {
		h.Close()
		return nil, err
	}
	return mp, nil
}

// walkTarget is mountTarget's fast path, for a dest without symlinks on
// the way (nearly every mount): dest is walked one name at a time from the
// root's handle, each name opened with O_NOFOLLOW relative to the handle of
// the directory before it, and what is missing is created there (mkdirat,
// or an empty file for the last name of a file bind mount). Nothing is
// looked up twice and no symlink is followed, so a process of the
// container that swaps a directory for a symlink meanwhile makes the walk
// fail, never leave the root; and the mount point's parent handle comes
// for free. A symlink (or "..") on the way ends it with ok false and no
// error: the general path resolves it inside the root (filepath-securejoin).
// About 2 syscalls per name against ~25 for the general path.
func walkTarget(root int, dest string, file bool) (mp *mountPoint, ok bool, err error) {
	for _, name := range strings.Split(dest, "/") {
		if name == ".." {
			return nil, false, nil
		}
	}
	rel := strings.TrimPrefix(filepath.Clean("/"+dest), "/")
	if rel == "" {
		return nil, false, nil
	}
	names := strings.Split(rel, "/")
	dir := root
	closeDir := func() {
		if dir != root {
			unix.Close(dir)
		}
	}
	for _, name := range names[:len(names)-1] {
		next, err := walkDir(dir, name)
		closeDir()
		if err != nil {
			return walkFailed(err, dest)
		}
		dir = next
	}
	base := names[len(names)-1]
	var h int
	if file {
		h, err = walkFile(dir, base)
	} else {
		h, err = walkDir(dir, base)
	}
	if err != nil {
		closeDir()
		return walkFailed(err, dest)
	}
	id, err := mountID(h)
	if err != nil {
		unix.Close(h)
		closeDir()
		return nil, true, err
	}
	// dir may be root itself: mp then holds it, and mountTarget leaves it open.
	return &mountPoint{h: h, parent: dir, base: base, mntID: id}, true, nil
}

// walkFailed: a symlink on the way (ELOOP from O_NOFOLLOW, ENOTDIR from
// O_DIRECTORY on the link itself, or a file where a directory should be)
// hands dest to the general path, which resolves it or words the error;
// any other error is final.
func walkFailed(err error, dest string) (*mountPoint, bool, error) {
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return nil, false, nil
	}
	return nil, true, &os.PathError{Op: "create mount point", Path: dest, Err: err}
}

// walkDir opens the directory name in dir, creating it (0755) if missing.
func walkDir(dir int, name string) (int, error) {
	open := func() (int, error) {
		return unix.Openat(dir, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	fd, err := open()
	if errors.Is(err, unix.ENOENT) {
		if err = unix.Mkdirat(dir, name, 0o755); err == nil || errors.Is(err, unix.EEXIST) {
			fd, err = open()
		}
	}
	return fd, err
}

// walkFile opens the file name in dir, creating it empty if missing; a
// symlink there is ELOOP.
func walkFile(dir int, name string) (int, error) {
	open := func() (int, error) {
		return unix.Openat(dir, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	fd, err := open()
	if errors.Is(err, unix.ENOENT) {
		c, cerr := unix.Openat(dir, name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
		if cerr == nil {
			unix.Close(c)
		} else if !errors.Is(cerr, unix.EEXIST) {
			return -1, cerr
		}
		fd, err = open()
	}
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT == unix.S_IFLNK {
		unix.Close(fd)
		if err == nil {
			err = unix.ELOOP
		}
		return -1, err
	}
	return fd, nil
}

// mountPoint is a mount point inside the root: a handle of it (h), and of
// its parent directory with its name there, to find the mount made on it.
type mountPoint struct {
	h, parent int // O_PATH descriptors of the mount point and its directory
	base      string
	mntID     uint64
	// files hold h and parent when the general path opened them as
	// *os.File; Close closes those instead.
	files []*os.File
}

func newMountPoint(rootfs string, root, h *os.File) (*mountPoint, error) {
	real, err := os.Readlink(procFd(int(h.Fd())))
	if err != nil {
		return nil, err
	}
	rootReal, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(rootReal, real)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return nil, fmt.Errorf("resolves to %s, outside the root", real)
	}
	parent, err := pathrs.OpenatInRoot(root, filepath.Dir(rel))
	if err != nil {
		return nil, err
	}
	mp := &mountPoint{h: int(h.Fd()), parent: int(parent.Fd()), base: filepath.Base(rel), files: []*os.File{h, parent}}
	var want, got unix.Stat_t
	fd, err := unix.Openat(mp.parent, mp.base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == nil {
		err = unix.Fstat(fd, &got)
		unix.Close(fd)
	}
	if err == nil {
		err = unix.Fstat(mp.h, &want)
	}
	if err == nil && (got.Dev != want.Dev || got.Ino != want.Ino) {
		err = fmt.Errorf("%s changed under minirun: refusing (CVE-2021-30465)", real)
	}
	if err == nil {
		mp.mntID, err = mountID(mp.h)
	}
	if err != nil {
		parent.Close()
		return nil, err
	}
	return mp, nil
}

func (mp *mountPoint) Close() {
	if mp.files != nil {
		for _, f := range mp.files {
			f.Close()
		}
		return
	}
	unix.Close(mp.h)
	unix.Close(mp.parent)
}

// top opens the root of the mount just made on the mount point: its name
// looked up in the parent's handle (a lookup that, unlike one through
// /proc/self/fd, enters the mount on top), refusing anything that is not a
// new mount there (a symlink or directory swapped in meanwhile).
func (mp *mountPoint) top() (int, error) {
	fd, err := unix.Openat(mp.parent, mp.base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	id, err := mountID(fd)
	if err == nil && id == mp.mntID {
		err = fmt.Errorf("%s: no new mount there: refusing (CVE-2021-30465)", mp.base)
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// onTop runs fn on the mount just made, named by /proc/self/fd/N.
func (mp *mountPoint) onTop(fn func(procfd string) error) error {
	t, err := mp.top()
	if err != nil {
		return err
	}
	defer unix.Close(t)
	return fn(procFd(t))
}

func mountID(fd int) (uint64, error) {
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &stx); err != nil {
		return 0, err
	}
	return stx.Mnt_id, nil
}

// fileTarget opens (creating it empty if missing) the file name in the
// directory dir, never following a symlink there.
func fileTarget(dir *os.File, name string) (*os.File, error) {
	fd, err := walkFile(int(dir.Fd()), name)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%s is a symlink: refusing to mount over it", name)
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// procFd is the magic link of an open file. Mounting onto procFd(h) mounts
// on exactly h; its lookup does not enter a mount made there (mountPoint.top).
func procFd(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// Mount performs one mount of the OCI spec, with its destination resolved
// inside rootfs.
func Mount(rootfs string, m specs.Mount) error {
	if !filepath.IsAbs(m.Destination) {
		return fmt.Errorf("mount destination %q is not an absolute path", m.Destination)
	}
	o := ParseOptions(m.Options)
	if m.Type == "bind" {
		o.Flags |= unix.MS_BIND
		o.Bind = true
	}
	if o.Bind {
		return bindMount(rootfs, m, o)
	}
	mp, err := mountTarget(rootfs, m.Destination, false)
	if err != nil {
		return fmt.Errorf("create mount point %s: %w", m.Destination, err)
	}
	defer mp.Close()
	if m.Type == "cgroup" || m.Type == "cgroup2" {
		// mountCgroup mounts below target too: it works on the path, which
		// is the image's /sys/fs/cgroup, not a place a volume shares.
		target, err := InRoot(rootfs, m.Destination)
		if err != nil {
			return err
		}
		return mountCgroup(target, o)
	}
	if err := mountAs(m.Source, procFd(mp.h), m.Destination, m.Type, o.Flags, o.Data); err != nil {
		return fmt.Errorf("mount %s: %w", m.Destination, err)
	}
	if o.Propagation != 0 {
		return mp.onTop(func(p string) error { return SetPropagation(p, o.Propagation) })
	}
	return nil
}

func bindMount(rootfs string, m specs.Mount, o Options) error {
	fi, err := os.Stat(m.Source)
	if err != nil {
		return fmt.Errorf("bind mount source %q: %w", m.Source, err)
	}
	mp, err := mountTarget(rootfs, m.Destination, !fi.IsDir())
	if err != nil {
		return fmt.Errorf("create mount point %s: %w", m.Destination, err)
	}
	defer mp.Close()
	if done, err := bindDetached(m.Source, mp.h, o); done {
		if err != nil {
			return fmt.Errorf("bind mount %s on %s: %w", m.Source, m.Destination, err)
		}
		return nil
	}
	if err := mountAs(m.Source, procFd(mp.h), m.Destination, "", o.Flags&(unix.MS_BIND|unix.MS_REC), ""); err != nil {
		return fmt.Errorf("bind mount %s on %s: %w", m.Source, m.Destination, err)
	}
	// A bind mount ignores most flags on the first call: ro, nosuid, nodev
	// and noexec need a second, remounting call (man 8 mount, "bind mount").
	if extra := o.Flags &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT); extra != 0 {
		if err := mp.onTop(func(p string) error { return remountBind(p, extra) }); err != nil {
			return err
		}
	}
	// The remount only makes the top mount read-only: with rbind, mounts
	// below it (a host's /proc under -v /:/host:ro) would stay writable.
	// mount_setattr(2) (Linux 5.12) sets the attribute on the whole tree,
	// as Docker's "recursive read-only" does.
	if o.Flags&unix.MS_RDONLY != 0 && o.Flags&unix.MS_REC != 0 {
		err := mp.onTop(func(p string) error {
			attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
			if err := unix.MountSetattr(-1, p, unix.AT_RECURSIVE, attr); err != nil && err != unix.ENOSYS {
				return &os.PathError{Op: "mount_setattr(AT_RECURSIVE, MOUNT_ATTR_RDONLY)", Path: m.Destination, Err: err}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if o.Propagation != 0 {
		return mp.onTop(func(p string) error { return SetPropagation(p, o.Propagation) })
	}
	return nil
}

// remountBind applies flags to an existing bind mount while keeping the
// flags the kernel has locked on it (the kernel refuses to drop those).
func remountBind(target string, flags uintptr) error {
	var st unix.Statfs_t
	if err := unix.Statfs(target, &st); err == nil {
		flags |= uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY)
	}
	return mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|flags, "")
}

// mountCgroup mounts the cgroup filesystem as the container should see it:
// on a pure cgroup v2 host one cgroup2 mount; on a v1 or hybrid host a
// tmpfs with one cgroup v1 mount per hierarchy the host has. Inside a cgroup
// namespace every one of them shows the container's own cgroup as its root.
// Without one (Docker's and podman's default on v1 hosts) a new mount
// would show the host's whole hierarchy: then, as runc does, the
// container's own cgroup directory of each hierarchy is bind-mounted
// instead, so /sys/fs/cgroup/memory/memory.limit_in_bytes is the
// container's limit. (On cgroup v2 runc mounts the whole tree too.)
func mountCgroup(target string, o Options) error {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		err := mount("cgroup2", target, "cgroup2", o.Flags, "")
		if userNSRefusal(err) {
			return bindCgroup("/sys/fs/cgroup", target, o.Flags)
		}
		return err
	}
	flags := o.Flags &^ unix.MS_RDONLY
	if err := mount("tmpfs", target, "tmpfs", flags, "mode=755"); err != nil {
		return err
	}
	hier, err := v1Hierarchies()
	if err != nil {
		return err
	}
	for _, h := range hier {
		dir := filepath.Join(target, h.dir)
		// One level, in the tmpfs just mounted.
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if h.path != "/" {
			// Not in a cgroup namespace: init is already in its cgroup,
			// and the host's hierarchies are still in sight (this runs
			// before pivot_root).
			if err := bindCgroup(filepath.Join("/sys/fs/cgroup", h.dir, h.path), dir, o.Flags); err != nil {
				return err
			}
			continue
		}
		fstype := "cgroup"
		if h.dir == "unified" {
			fstype = "cgroup2"
		}
		if err := mount("cgroup", dir, fstype, o.Flags, h.data); err != nil {
			if !userNSRefusal(err) {
				return err
			}
			if err := bindCgroup(filepath.Join("/sys/fs/cgroup", h.dir), dir, o.Flags); err != nil {
				return err
			}
		}
	}
	if o.Flags&unix.MS_RDONLY != 0 {
		return mount("", target, "", unix.MS_REMOUNT|o.Flags, "mode=755")
	}
	return nil
}

// userNSRefusal tells whether a new cgroup mount was refused because the
// container has a user namespace but no cgroup namespace of its own (the
// kernel allows a new cgroup mount there only inside a cgroup namespace
// the user namespace owns). runc then binds the host's hierarchy instead.
func userNSRefusal(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY)
}

// bindCgroup bind-mounts a host cgroup directory at dir, with flags (ro,
// nosuid …) applied by a remount.
func bindCgroup(src, dir string, flags uintptr) error {
	if err := mount(src, dir, "", unix.MS_BIND, ""); err != nil {
		return err
	}
	return remountBind(dir, flags&^unix.MS_REC)
}

// hierarchy is one line of /proc/self/cgroup: the directory under
// /sys/fs/cgroup, the mount data, and this process's cgroup in it ("/" in
// a cgroup namespace).
type hierarchy struct{ dir, data, path string }

// v1Hierarchies reads /proc/self/cgroup: "4:memory:/x" is hierarchy 4 with
// the memory controller, "1:name=systemd:/" a named one, "0::/" cgroup v2.
func v1Hierarchies() ([]hierarchy, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []hierarchy
	s := bufio.NewScanner(f)
	for s.Scan() {
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[1] == "":
			if _, err := os.Stat("/sys/fs/cgroup/unified"); err == nil {
				out = append(out, hierarchy{"unified", "", parts[2]})
			}
		case strings.HasPrefix(parts[1], "name="):
			out = append(out, hierarchy{strings.TrimPrefix(parts[1], "name="), "none," + parts[1], parts[2]})
		default:
			out = append(out, hierarchy{parts[1], parts[1], parts[2]})
		}
	}
	return out, s.Err()
}

// MountOverlay mounts an overlay filesystem at target: lowers are listed
// bottom layer first (as images list them) and handed to the kernel top
// first, as lowerdir wants them.
func MountOverlay(lowers []string, upper, work, target string) error {
	return MountOverlayOpts(lowers, upper, work, target, "")
}

// MountOverlayOpts is MountOverlay with more mount options, e.g.
// "userxattr": an overlay mounted in a user namespace (rootless) keeps its
// whiteout and opaque markers in user.overlay.* xattrs, since trusted.*
// needs CAP_SYS_ADMIN on the host (Documentation/filesystems/overlayfs.rst,
// "Non-standard behavior"/userxattr).
func MountOverlayOpts(lowers []string, upper, work, target, extra string) error {
	if len(lowers) == 0 {
		return errors.New("overlay needs at least one lower layer")
	}
	rev := make([]string, len(lowers))
	for i, l := range lowers {
		rev[len(lowers)-1-i] = l
	}
	data := "lowerdir=" + strings.Join(rev, ":")
	if upper != "" {
		data += ",upperdir=" + upper + ",workdir=" + work
	}
	// index=off and xino=off keep the mount cheap and let the same layer
	// directories serve many containers at once.
	data += ",index=off"
	if extra != "" {
		data += "," + extra
	}
	if len(data) > unix.Getpagesize()-1 {
		return fmt.Errorf("overlay options are %d bytes, more than one page: too many layers", len(data))
	}
	return mount("overlay", target, "overlay", 0, data)
}

// Unmount detaches the mount at target; a path that is not mounted is fine.
func Unmount(target string) error {
	end := trace.StepWith("rootfs", "umount(2)", func() string { return "detach " + shortPath(target) },
		func() string { return fmt.Sprintf("umount2(%q, MNT_DETACH)", target) })
	err := unix.Unmount(target, unix.MNT_DETACH)
	end(err)
	if err != nil && err != unix.EINVAL && err != unix.ENOENT {
		return &os.PathError{Op: "umount2", Path: target, Err: err}
	}
	return nil
}

// createTarget makes a mount point by path: a directory, or an empty file
// when a file is bind-mounted. For /dev (devices, the console), which minirun
// itself fills before the container runs; spec mounts use mountTarget.
func createTarget(target string, file bool) error {
	if file {
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_RDONLY|unix.O_NOFOLLOW, 0o644)
		if err != nil {
			if fi, serr := os.Lstat(target); serr == nil && fi.Mode().IsRegular() {
				return nil
			}
			return err
		}
		return f.Close()
	}
	return os.MkdirAll(target, 0o755)
}

// bindAttrs are the mount flags mount_setattr(2) can set, as MOUNT_ATTR_*.
var bindAttrs = map[uintptr]uint64{
	unix.MS_RDONLY: unix.MOUNT_ATTR_RDONLY, unix.MS_NOSUID: unix.MOUNT_ATTR_NOSUID, unix.MS_NODEV: unix.MOUNT_ATTR_NODEV,
	unix.MS_NOEXEC: unix.MOUNT_ATTR_NOEXEC, unix.MS_NODIRATIME: unix.MOUNT_ATTR_NODIRATIME,
	unix.MS_NOATIME: unix.MOUNT_ATTR_NOATIME, unix.MS_STRICTATIME: unix.MOUNT_ATTR_STRICTATIME, unix.MS_RELATIME: unix.MOUNT_ATTR_RELATIME,
}

// bindDetached makes a bind mount with the new mount API, so that nothing
// is looked up by path after the mount point's handle h: open_tree(2)
// clones the source (its whole tree with rbind), mount_setattr(2) sets
// ro, nosuid, nodev, noexec and atime on the detached clone (recursively
// with rbind, Docker's "recursive read-only") and the propagation,
// move_mount(2) attaches it
// on h. done is false (nothing was done) where that API is missing or
// refused, or for flags it cannot set: the caller then mounts by
// /proc/self/fd and remounts.
func bindDetached(source string, h int, o Options) (done bool, err error) {
	var set uint64
	for flag, attr := range bindAttrs {
		if o.Flags&flag != 0 {
			set |= attr
		}
	}
	var known uintptr = unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT
	for flag := range bindAttrs {
		known |= flag
	}
	if o.Flags&^known != 0 {
		return false, nil
	}
	treeFlags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC
	var rec uint = 0
	if o.Flags&unix.MS_REC != 0 {
		treeFlags |= unix.AT_RECURSIVE
		rec = unix.AT_RECURSIVE
	}
	tree, err := unix.OpenTree(unix.AT_FDCWD, source, uint(treeFlags))
	if err != nil {
		return false, nil
	}
	defer unix.Close(tree)
	if o.Propagation&unix.MS_REC != 0 {
		rec = unix.AT_RECURSIVE
	}
	if set != 0 || o.Propagation != 0 {
		attr := &unix.MountAttr{Attr_set: set, Propagation: uint64(o.Propagation &^ unix.MS_REC)}
		if set&(unix.MOUNT_ATTR_NOATIME|unix.MOUNT_ATTR_STRICTATIME|unix.MOUNT_ATTR_RELATIME) != 0 {
			attr.Attr_clr = unix.MOUNT_ATTR__ATIME
		}
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|rec, attr); err != nil {
			return false, nil
		}
	}
	if err := unix.MoveMount(tree, "", h, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return true, &os.PathError{Op: "move_mount", Path: source, Err: err}
	}
	return true, nil
}
