package image

// This file writes the entries of a layer tar into a directory. A layer
// comes from whoever built the image, so every name in it is untrusted:
// this is the code that keeps a malicious image from writing outside its
// layer directory (for example over /etc/passwd of the host).
//
// The rules, in the order an entry meets them:
//
//  1. The name is cleaned. A name that climbs out with ".." is refused; an
//     absolute name is made relative to the layer ("/etc/x" -> "etc/x"),
//     as GNU tar does.
//  2. The parent directory is resolved with securejoin.SecureJoin, which
//     follows symlinks as if the layer directory were "/" (like a chroot):
//     "link/file" with link -> /tmp/x lands in <layer>/tmp/x/file, never in
//     the host's /tmp. Missing parents are created.
//  3. The last component is never followed: whatever already has that name
//     is removed first (unless both are directories), and files are created
//     with O_CREAT|O_EXCL|O_NOFOLLOW.
//  4. A hard link's target goes through rules 1 and 2 too, so it can only
//     link to a file inside the layer. A symlink's target is just text,
//     stored as it is; it is only followed later, inside the container.
//
// No one else writes into the layer directory while we unpack (it is a
// fresh, private temporary directory), so nothing can swap a directory for a
// symlink between our checks and our writes.

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// Whiteout names (OCI image-spec layer.md, "Whiteouts"; from AUFS).
const (
	whiteoutPrefix = ".wh."         // ".wh.name": name was deleted
	whiteoutMeta   = ".wh..wh."     // AUFS bookkeeping entries: skipped
	whiteoutOpaque = ".wh..wh..opq" // directory replaces, not merges with, lower ones
	// overlayfs marks an opaque directory with this xattr (overlayfs.rst).
	opaqueXattr = "trusted.overlay.opaque"
	// Without root the trusted.* namespace is closed (it needs
	// CAP_SYS_ADMIN on the host), and an overlay mounted in a user
	// namespace with "userxattr" reads this one instead (rootless mode).
	userOpaqueXattr = "user.overlay.opaque"
	// Xattrs in this namespace steer overlayfs itself (opaque, redirect,
	// metacopy ...). A layer must not set them directly.
	overlayXattrPrefix = "trusted.overlay."
	// PAX records carrying extended attributes.
	paxXattrPrefix = "SCHILY.xattr."
)

var errEscape = errors.New("path escapes the layer")

// unpacker writes tar entries into root, a directory it owns.
type unpacker struct {
	root       string
	privileged bool // running as root: ownership and all xattrs can be set
	dirs       []dirTimes
}

// dirTimes remembers a directory's times: they are set after all entries,
// because creating entries inside a directory changes its mtime.
type dirTimes struct {
	path         string
	atime, mtime time.Time
}

func newUnpacker(root string) *unpacker {
	return &unpacker{root: root, privileged: os.Geteuid() == 0}
}

// cleanEntryName turns a tar name into a clean path relative to the layer
// ("." for the layer directory itself). Tar names always use "/".
func cleanEntryName(name string) (string, error) {
	if name == "" {
		return "", errors.New("empty name")
	}
	p := path.Clean(name)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", errEscape
	}
	// path.Clean already turned "/../x" into "/x", so an absolute name
	// cannot climb; it only needs its leading "/" dropped.
	p = strings.TrimLeft(p, "/")
	if p == "" {
		p = "."
	}
	return p, nil
}

// resolve returns the real path for the clean name: its parent resolved
// inside the layer (symlinks followed as if root were "/"), its last
// component untouched. If mkdirParents is set, missing parents are created.
func (u *unpacker) resolve(name string, mkdirParents bool) (string, error) {
	if name == "." {
		return u.root, nil
	}
	dir, base := path.Split(name)
	parent, err := securejoin.SecureJoin(u.root, dir)
	if err != nil {
		return "", fmt.Errorf("resolve %q: %w", dir, err)
	}
	if mkdirParents {
		// Parents missing from the tar are created like docker does (0755,
		// owned by root). parent contains no symlinks any more.
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return "", err
		}
	}
	return filepath.Join(parent, base), nil
}

// entry writes one tar entry.
func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // PAX global header: metadata for the archive, not a file
	}
	name, err := cleanEntryName(hdr.Name)
	if err != nil {
		return err
	}
	base := path.Base(name)
	switch {
	case base == whiteoutOpaque:
		return u.opaque(name)
	case strings.HasPrefix(base, whiteoutMeta):
		return nil // other AUFS metadata (.wh..wh.plnk etc.): not files
	case strings.HasPrefix(base, whiteoutPrefix):
		return u.whiteout(name)
	}

	target, err := u.resolve(name, true)
	if err != nil {
		return err
	}
	if target == u.root && hdr.Typeflag != tar.TypeDir {
		return errors.New("the layer root can only be a directory")
	}
	if hdr.Typeflag == tar.TypeLink {
		return u.hardlink(target, hdr) // shares the target's inode and metadata
	}
	if err := removeExisting(target, hdr.Typeflag == tar.TypeDir); err != nil {
		return err
	}
	if err := create(target, hdr, r); err != nil {
		if errors.Is(err, unix.EPERM) && !u.privileged && (hdr.Typeflag == tar.TypeChar || hdr.Typeflag == tar.TypeBlock) {
			// An ordinary user cannot make device nodes (CAP_MKNOD), and a
			// rootless container could not open one anyway: leave it out,
			// as rootless podman does.
			return nil
		}
		return err
	}
	return u.setMetadata(target, hdr)
}

// removeExisting removes whatever the layer already has at target (an
// earlier entry of the same name, or a whiteout), so the new entry replaces
// it and a symlink at the last component can never be followed. An existing
// directory is kept if the new entry is a directory too.
func removeExisting(target string, isDir bool) error {
	fi, err := os.Lstat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if isDir && fi.IsDir() {
		return nil
	}
	return os.RemoveAll(target)
}

// create makes the file system object for a tar entry (not a hard link).
// Permissions are set later by setMetadata.
func create(target string, hdr *tar.Header, r io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(target, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return nil
	case tar.TypeReg, tar.TypeGNUSparse, tar.TypeCont:
		// (The tar reader turns the old TypeRegA into TypeReg and expands
		// sparse files; GNU tar treats "contiguous" files as regular ones.)
		// O_EXCL|O_NOFOLLOW: fail rather than write through anything that
		// is already there.
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	case tar.TypeSymlink:
		return os.Symlink(hdr.Linkname, target) // the target text is not checked: it is not followed here
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return mknod(target, hdr)
	}
	return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
}

// mknod creates a device node or fifo (man 2 mknod): the file type bits
// go into the mode, the device number into dev.
func mknod(target string, hdr *tar.Header) error {
	mode := uint32(hdr.Mode) & 0o7777
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	case tar.TypeFifo:
		mode |= unix.S_IFIFO
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	if err := unix.Mknod(target, mode, int(dev)); err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	return nil
}

// hardlink creates target as a hard link to the entry named hdr.Linkname,
// which must already be in the layer.
func (u *unpacker) hardlink(target string, hdr *tar.Header) error {
	linkName, err := cleanEntryName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	// The target's parents are resolved inside the layer; its last
	// component is not followed (a hard link to a symlink links the symlink).
	src, err := u.resolve(linkName, false)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("hard link target %q is a directory", hdr.Linkname)
	}
	if src == target {
		return nil // a link to itself: nothing to do
	}
	if err := removeExisting(target, false); err != nil {
		return err
	}
	// flags 0: do not follow src if it is a symlink.
	if err := unix.Linkat(unix.AT_FDCWD, src, unix.AT_FDCWD, target, 0); err != nil {
		return fmt.Errorf("link to %q: %w", hdr.Linkname, err)
	}
	return nil
}

// whiteout turns "dir/.wh.name" into the overlayfs whiteout "dir/name": a
// character device with device number 0/0. It hides "name" of the lower
// layers in the merged view.
func (u *unpacker) whiteout(name string) error {
	dir, base := path.Split(name)
	hidden := strings.TrimPrefix(base, whiteoutPrefix)
	if hidden == "" || hidden == "." || hidden == ".." || strings.Contains(hidden, "/") {
		return fmt.Errorf("invalid whiteout name %q", base)
	}
	target, err := u.resolve(path.Join(dir, hidden), true)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(target); err == nil {
		// The layer itself has an entry of that name (or already the
		// whiteout). A whiteout only applies to lower layers (layer.md), so
		// the layer's own entry wins.
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := unix.Mknod(target, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("whiteout %q: mknod: %w", hidden, err)
	}
	return nil
}

// opaque handles "dir/.wh..wh..opq": dir hides everything lower layers have
// in it. overlayfs reads that from the xattr trusted.overlay.opaque="y".
func (u *unpacker) opaque(name string) error {
	// Resolve the whole directory path, last component included: the
	// marker belongs to the directory as the container will see it.
	dir, err := securejoin.SecureJoin(u.root, path.Dir(name))
	if err != nil {
		return fmt.Errorf("resolve %q: %w", path.Dir(name), err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	attr := opaqueXattr
	if !u.privileged {
		attr = userOpaqueXattr
	}
	if err := unix.Lsetxattr(dir, attr, []byte("y"), 0); err != nil {
		if !u.privileged && errors.Is(err, unix.EOPNOTSUPP) {
			return fmt.Errorf("opaque whiteout: setxattr %s: %w: rootless overlay marks opaque directories with user.* extended attributes, which this data root's filesystem does not store (tmpfs before Linux 6.6): put the data root on ext4, xfs or btrfs (MINIRUN_DATA_ROOT)", attr, err)
		}
		return fmt.Errorf("opaque whiteout: setxattr %s: %w", attr, err)
	}
	return nil
}

// setMetadata applies owner, mode, xattrs and times from the header. The
// order matters: chown clears the setuid/setgid bits and file capabilities,
// so mode and xattrs come after it; directories get their times at the end.
func (u *unpacker) setMetadata(target string, hdr *tar.Header) error {
	if err := unix.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
		// Without root we cannot give files away; keep our own ownership.
		if !(errors.Is(err, unix.EPERM) && !u.privileged) {
			return fmt.Errorf("lchown %d:%d: %w", hdr.Uid, hdr.Gid, err)
		}
	}
	// Symlinks have no mode of their own on Linux (chmod would follow them).
	// Use the raw bits: the umask applied at create time, and setuid,
	// setgid and sticky (04000, 02000, 01000) are not in create's mode.
	if hdr.Typeflag != tar.TypeSymlink {
		if err := unix.Chmod(target, uint32(hdr.Mode)&0o7777); err != nil {
			return fmt.Errorf("chmod %o: %w", hdr.Mode&0o7777, err)
		}
	}
	if err := u.setXattrs(target, hdr); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeDir {
		u.dirs = append(u.dirs, dirTimes{target, hdr.AccessTime, hdr.ModTime})
		return nil
	}
	return setTimes(target, hdr.AccessTime, hdr.ModTime)
}

// setXattrs sets the extended attributes carried in PAX records
// ("SCHILY.xattr.<name>"), e.g. security.capability (man 7 xattr).
func (u *unpacker) setXattrs(target string, hdr *tar.Header) error {
	for key, value := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(key, paxXattrPrefix)
		if !ok {
			continue
		}
		if strings.HasPrefix(attr, overlayXattrPrefix) || strings.HasPrefix(attr, "user.overlay.") {
			continue // overlayfs control attributes come only from whiteouts
		}
		err := unix.Lsetxattr(target, attr, []byte(value), 0)
		switch {
		case err == nil:
		case errors.Is(err, unix.ENOTSUP):
			// The filesystem cannot store this attribute (docker ignores this too).
		case errors.Is(err, unix.EPERM) && !u.privileged:
			// e.g. trusted.* needs CAP_SYS_ADMIN.
		default:
			return fmt.Errorf("setxattr %s: %w", attr, err)
		}
	}
	return nil
}

// finish sets the directory times remembered during the unpack.
func (u *unpacker) finish() error {
	for i := len(u.dirs) - 1; i >= 0; i-- {
		d := u.dirs[i]
		if err := setTimes(d.path, d.atime, d.mtime); err != nil {
			return fmt.Errorf("directory %s: %w", d.path, err)
		}
	}
	return nil
}

// setTimes sets atime and mtime without following a symlink at path.
// A missing atime (common in tars) is taken to be the mtime.
func setTimes(path string, atime, mtime time.Time) error {
	if atime.IsZero() {
		atime = mtime
	}
	ts := []unix.Timespec{timespec(atime), timespec(mtime)}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// timespec converts t, mapping times the kernel cannot store to the epoch.
func timespec(t time.Time) unix.Timespec {
	ts, err := unix.TimeToTimespec(t)
	if err != nil {
		return unix.Timespec{}
	}
	return ts
}
