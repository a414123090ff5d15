package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// ErrIDMapUnsupported wraps the kernel's refusal of an idmapped mount (a
// kernel before 5.12, or a filesystem that cannot be idmapped): the
// caller may fall back to files chowned for the mapping.
var ErrIDMapUnsupported = errors.New("this kernel or filesystem cannot make an idmapped mount")

// IDMappedBind bind-mounts src at target through the ID mapping of the
// user namespace usernsFd (an idmapped mount, mount_setattr(2) with
// MOUNT_ATTR_IDMAP): a file owned by uid U on disk appears owned by the
// host ID that U maps to in that namespace (0 → 100000 for a map
// "0 100000 65536"), and a file created through the mount as host uid
// 100000 is stored as 0. Nothing on disk is changed.
//
// The three steps of the new mount API: open_tree(2) with
// OPEN_TREE_CLONE makes a detached copy of the mount at src,
// mount_setattr(2) gives it the namespace's mapping (only a mount not
// yet attached anywhere may get one), move_mount(2) attaches it.
func IDMappedBind(src, target string, usernsFd int) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return idmapErr("open_tree(OPEN_TREE_CLONE)", src, err)
	}
	defer unix.Close(fd)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(usernsFd)}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return idmapErr("mount_setattr(MOUNT_ATTR_IDMAP)", src, err)
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return &os.PathError{Op: "move_mount " + src, Path: target, Err: err}
	}
	return nil
}

func idmapErr(op, path string, err error) error {
	e := &os.PathError{Op: op, Path: path, Err: err}
	switch err {
	case unix.ENOSYS, unix.EINVAL, unix.EOPNOTSUPP, unix.EPERM:
		return fmt.Errorf("%w: %w", ErrIDMapUnsupported, e)
	}
	return e
}

// MountOverlayIDMapped is MountOverlay with every lower layer seen
// through the ID mapping of the user namespace usernsFd: the image's
// files, owned by 0 on disk, belong to the container's root (the host ID
// 0 maps to) in the merged view, and nothing in the shared layers is
// chowned. overlayfs takes idmapped layers since Linux 5.19. The upper
// and work directories are not idmapped: the caller makes upper owned by
// the container's root, and what the container writes is stored with
// its host IDs (100000...), as without idmapping.
//
// overlayfs takes its layers by path, so each idmapped layer is attached
// for a moment at scratch/<n> (an empty directory the caller owns, on a
// path short enough for the options to fit in a page); overlayfs keeps
// its own private clone of every layer, and the attachments are undone
// before returning, as containers/storage does.
func MountOverlayIDMapped(lowers []string, upper, work, target, scratch string, usernsFd int) (err error) {
	mapped := make([]string, len(lowers))
	defer func() {
		for _, m := range mapped {
			if m != "" {
				_ = Unmount(m)
				_ = os.Remove(m)
			}
		}
		_ = os.Remove(scratch)
	}()
	if err := os.MkdirAll(scratch, 0o700); err != nil {
		return err
	}
	for i, l := range lowers {
		dir := filepath.Join(scratch, strconv.Itoa(i))
		if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
			return err
		}
		if err := IDMappedBind(l, dir, usernsFd); err != nil {
			_ = os.Remove(dir)
			return err
		}
		mapped[i] = dir
	}
	err = MountOverlay(mapped, upper, work, target)
	if errors.Is(err, unix.EINVAL) {
		// overlayfs before 5.19 refuses idmapped layers.
		return fmt.Errorf("%w: overlayfs refused idmapped layers (it takes them since Linux 5.19): %w", ErrIDMapUnsupported, err)
	}
	return err
}
