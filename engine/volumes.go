package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/rootfs"
)

// anonymousVolumes gives every VOLUME of the image a directory of its own
// outside the overlay, as Docker does: writes there bypass the container's
// layer and are fast, and the directory starts with what the image has at
// that path ("seeding"). They live in the container's data directory and
// go with the container.
func anonymousVolumes(root, dataDir string, volumes map[string]struct{}) ([]specs.Mount, error) {
	var paths []string
	for p := range volumes {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var mounts []specs.Mount
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("image VOLUME %q is not an absolute path", p)
		}
		sum := sha256.Sum256([]byte(p))
		dir := filepath.Join(dataDir, "volumes", hex.EncodeToString(sum[:8]), "_data")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		src, err := rootfs.InRoot(root, p)
		if err != nil {
			return nil, err
		}
		if fi, err := os.Stat(src); err == nil && fi.IsDir() {
			if err := copyTree(src, dir); err != nil {
				return nil, fmt.Errorf("seed volume %s from the image: %w", p, err)
			}
		}
		mounts = append(mounts, specs.Mount{Destination: p, Type: "bind", Source: dir, Options: []string{"rbind", "rprivate"}})
	}
	return mounts, nil
}

// copyTree copies src into dst keeping modes, owners and symlinks (the
// directory dst itself takes src's mode and owner).
func copyTree(src, dst string) error {
	return filepath.Walk(src, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		st, _ := fi.Sys().(*unix.Stat_t)
		switch {
		case fi.IsDir():
			if err := os.MkdirAll(target, fi.Mode().Perm()); err != nil {
				return err
			}
		case fi.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := copyFile(path, target, fi.Mode()); err != nil {
				return err
			}
		default:
			return nil // devices, sockets and FIFOs are not seeded
		}
		if st != nil {
			if err := os.Lchown(target, int(st.Uid), int(st.Gid)); err != nil {
				return err
			}
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return os.Chmod(target, fi.Mode()&(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky))
		}
		return nil
	})
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
