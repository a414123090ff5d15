package engine

// Volumes and mounts: the image's VOLUMEs and `run -v`, `--mount`, `--tmpfs`.
//
// A bind mount (mount(2) with MS_BIND; man 8 mount, "Bind mount
// operation") makes a directory or file that already exists visible at a
// second place: no copy, the same inodes, so a write on one side is the
// same write on the other. MS_REC ("rbind") takes the mounts below the
// source along. A bind mount ignores most flags at the first call: to make
// it read-only the kernel wants a second call, MS_REMOUNT|MS_BIND|MS_RDONLY,
// which changes the flags of that one mount (rootfs.Mount does both).
//
// A volume is a directory of the host bind-mounted into the container,
// outside the overlay. Writes into the overlay land in the container's
// upper directory: they go with the container, and the first write to a
// big file of the image copies all of it up first. A volume is a plain
// directory of the host's filesystem: its data outlives the container
// (named volumes, <data>/volumes/NAME/_data), can be shared between
// containers, and writes go straight to it. Anonymous volumes (the image's
// VOLUMEs, `-v /path`) are the same, kept in the container's own data
// directory, so they go with the container.
//
// Seeding: an empty volume mounted over /etc would hide the image's /etc.
// So, as Docker does, a volume that is empty when a container mounts it
// first receives a copy of what the image has at that path; from then on
// its own content wins. Bind mounts are never seeded (the host's directory
// is the truth), and `nocopy` / `volume-nocopy` turns seeding off.
//
// Symlinks: the image is untrusted input, and its /data may be a symlink
// "/data -> /" or "-> /etc" or "-> /var/lib/something-of-the-host". Every
// path the kernel resolves for minirun in the host's mount namespace is
// resolved against the host's root: mount(2) onto <rootfs>/data would
// follow the link out of the container. So destinations are resolved by
// minirun itself with rootfs.InRoot (securejoin): each symlink is evaluated
// as if the rootfs were "/", and ".." stops at it, which is what the
// kernel's openat2(2) with RESOLVE_IN_ROOT does. Seeding reads the image
// through the same resolution, or a link could make minirun copy the host's
// files into a volume. (Resolving and then mounting are two steps; runc
// closes that window by opening the target with openat2 and mounting onto
// /proc/self/fd/N, see CVE-2021-30465.)

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/oci"
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
		m, err := anonymousVolume(root, dataDir, path.Clean(p), true)
		if err != nil {
			return nil, err
		}
		mounts = append(mounts, m)
	}
	return mounts, nil
}

// anonymousVolume is the directory of one anonymous volume of the
// container (an image VOLUME, `-v /path`, `--mount type=volume,dst=/path`):
// <container data>/volumes/<hash of the path>/_data, seeded from the image
// unless seed is false.
func anonymousVolume(root, dataDir, ctrPath string, seed bool) (specs.Mount, error) {
	sum := sha256.Sum256([]byte(ctrPath))
	dir := filepath.Join(dataDir, "volumes", hex.EncodeToString(sum[:8]), "_data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return specs.Mount{}, err
	}
	if seed {
		if err := seedVolume(root, ctrPath, dir); err != nil {
			return specs.Mount{}, err
		}
	}
	return specs.Mount{Destination: ctrPath, Type: "bind", Source: dir, Options: []string{"rbind", "rprivate"}}, nil
}

// seedVolume copies what the image has at ctrPath into the volume
// directory dir, if dir is empty and the image has a directory there (as
// Docker does); the volume's root takes that directory's owner and mode.
//
// The copy is made in a temporary directory next to dir (no container sees
// it) and its entries are then renamed into dir, none replacing an entry
// that exists: a container that already uses the volume and writes into it
// at the same moment can neither make the copy follow a symlink it planted
// nor receive half a copy.
func seedVolume(root, ctrPath, dir string) error {
	src, err := rootfs.InRoot(root, ctrPath)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(src)
	if err != nil || !fi.IsDir() {
		return nil // nothing to seed: the image has no directory there
	}
	if empty, err := emptyDir(dir); err != nil || !empty {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".seed-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := copyTree(src, tmp); err != nil {
		return fmt.Errorf("seed the volume at %s from the image: %w", ctrPath, err)
	}
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, ent := range ents {
		if err := renameNoReplace(filepath.Join(tmp, ent.Name()), filepath.Join(dir, ent.Name())); err != nil {
			return fmt.Errorf("seed the volume at %s from the image: %w", ctrPath, err)
		}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(dir, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return os.Chmod(dir, fi.Mode()&(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky))
}

// renameNoReplace renames old to new unless new exists (then it does
// nothing: someone wrote there first, and the volume's content wins).
func renameNoReplace(oldPath, newPath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldPath, unix.AT_FDCWD, newPath, unix.RENAME_NOREPLACE)
	switch {
	case err == nil || err == unix.EEXIST:
		return nil
	case err == unix.EINVAL || err == unix.ENOSYS: // a filesystem without RENAME_NOREPLACE
		if _, serr := os.Lstat(newPath); serr == nil {
			return nil
		}
		return os.Rename(oldPath, newPath)
	}
	return &os.LinkError{Op: "renameat2", Old: oldPath, New: newPath, Err: err}
}

func emptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	return false, err
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
		st, _ := fi.Sys().(*syscall.Stat_t)
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

// mountRequest is one -v, --mount or --tmpfs, parsed and checked.
type mountRequest struct {
	Type         string            // bind, volume or tmpfs
	Source       string            // bind: absolute host path; volume: its name, "" for an anonymous volume
	Destination  string            // absolute and clean, inside the container
	ReadOnly     bool              // ro / readonly
	NoCopy       bool              // volume: do not seed it from the image (nocopy, volume-nocopy)
	CreateSource bool              // bind from -v: a missing host directory is created (--mount refuses)
	Labels       map[string]string // volume-label: labels of a volume this run creates
	TmpfsOptions []string          // tmpfs: mount(8) options, Docker's defaults first
	Mode         string            // the options as written, for inspect
}

// parseMounts parses and checks -v, --mount and --tmpfs before anything
// exists (RunOptions.check): syntax, absolute destinations, volume names,
// and the sources of --mount type=bind, which must exist.
func parseMounts(volumes, mountSpecs, tmpfs []string) ([]mountRequest, error) {
	var reqs []mountRequest
	for _, v := range volumes {
		r, err := parseVolumeFlag(v)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"-v, --volume\" flag: %w", v, err)
		}
		reqs = append(reqs, r)
	}
	for _, v := range mountSpecs {
		r, err := parseMountFlag(v)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"--mount\" flag: %w", v, err)
		}
		reqs = append(reqs, r)
	}
	for _, v := range tmpfs {
		r, err := parseTmpfsFlag(v)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"--tmpfs\" flag: %w", v, err)
		}
		reqs = append(reqs, r)
	}
	seen := map[string]bool{}
	for _, r := range reqs {
		if seen[r.Destination] {
			return nil, fmt.Errorf("Duplicate mount point: %s", r.Destination) // Docker's words
		}
		seen[r.Destination] = true
	}
	return reqs, nil
}

// parseVolumeFlag reads Docker's -v [SOURCE:]DESTINATION[:MODE]: SOURCE
// is an absolute host path (a bind mount; "./dir" is made absolute, as the
// docker CLI does) or a volume name; without it the volume is anonymous.
// MODE is a comma list: ro|rw, nocopy, z|Z, consistent|cached|delegated,
// private|rprivate.
func parseVolumeFlag(raw string) (mountRequest, error) {
	var r mountRequest
	var src, mode string
	arr := strings.Split(raw, ":")
	if arr[0] == "" {
		return r, fmt.Errorf("invalid volume specification: '%s': want [SOURCE:]DESTINATION[:ro|rw]", raw)
	}
	switch len(arr) {
	case 1:
		r.Destination = arr[0]
	case 2:
		if _, err := parseVolumeMode(arr[1]); err == nil {
			// "/data:ro": a destination with a mode but no source.
			return r, fmt.Errorf("invalid volume specification: '%s': an anonymous volume takes no mode (use --mount type=volume,dst=%s,readonly)", raw, arr[0])
		}
		src, r.Destination = arr[0], arr[1]
	case 3:
		src, r.Destination, mode = arr[0], arr[1], arr[2]
	default:
		return r, fmt.Errorf("invalid volume specification: '%s': want [SOURCE:]DESTINATION[:MODE], with at most two colons", raw)
	}
	m, err := parseVolumeMode(mode)
	if err != nil {
		return r, err
	}
	r.ReadOnly, r.NoCopy, r.Mode = m.readOnly, m.noCopy, mode
	if r.Destination, err = checkDestination(r.Destination); err != nil {
		return r, err
	}
	switch {
	case src == "":
		r.Type = "volume"
	case strings.HasPrefix(src, "/") || strings.HasPrefix(src, "."):
		r.Type, r.CreateSource = "bind", true
		if r.Source, err = hostPath(src); err != nil {
			return r, err
		}
		if m.noCopy {
			return r, fmt.Errorf("invalid mode: %s: nocopy is for volumes, and %s is a host path", mode, src)
		}
	default:
		r.Type, r.Source = "volume", src
		if err := validVolumeName(src); err != nil {
			return r, err
		}
		if m.propagation {
			return r, fmt.Errorf("invalid mode: %s: propagation is for bind mounts, and %s is a volume", mode, src)
		}
	}
	return r, nil
}

type volumeMode struct {
	readOnly, noCopy, propagation bool
}

// parseVolumeMode checks -v's MODE as Docker does: known words, at most
// one of each kind.
func parseVolumeMode(mode string) (volumeMode, error) {
	var m volumeMode
	if mode == "" {
		return m, nil
	}
	kinds := map[string]bool{}
	for _, o := range strings.Split(mode, ",") {
		var kind string
		switch o {
		case "ro", "rw":
			kind, m.readOnly = "access", o == "ro"
		case "nocopy":
			kind, m.noCopy = "copy", true
		case "z", "Z":
			// SELinux relabelling: nothing to do on a host without
			// SELinux labels, as for Docker on such a host.
			kind = "label"
		case "consistent", "cached", "delegated":
			kind = "consistency" // Docker Desktop's file sharing; no meaning on Linux
		case "private", "rprivate":
			kind, m.propagation = "propagation", true
		case "shared", "rshared", "slave", "rslave":
			return m, errPropagation(o)
		default:
			return m, fmt.Errorf("invalid mode: %s: want ro or rw, and optionally nocopy, z, Z, private, rprivate", mode)
		}
		if kinds[kind] {
			return m, fmt.Errorf("invalid mode: %s: more than one %s option", mode, kind)
		}
		kinds[kind] = true
	}
	return m, nil
}

func errPropagation(p string) error {
	return fmt.Errorf("bind propagation %q is not supported: minirun makes every mount of the container private (rprivate), so mounts never propagate between the host and the container", p)
}

// checkDestination wants an absolute path other than "/" and returns it clean.
func checkDestination(dst string) (string, error) {
	if dst == "" {
		return "", errors.New("target is required")
	}
	if !path.IsAbs(dst) {
		return "", fmt.Errorf("invalid mount path: '%s' mount path must be absolute", dst)
	}
	dst = path.Clean(dst)
	if dst == "/" {
		return "", errors.New("invalid specification: destination can't be '/'")
	}
	return dst, nil
}

// hostPath makes "./dir" absolute (as the docker CLI does) and wants an
// absolute path.
func hostPath(src string) (string, error) {
	if strings.HasPrefix(src, ".") {
		abs, err := filepath.Abs(src)
		if err != nil {
			return "", err
		}
		return abs, nil
	}
	if !filepath.IsAbs(src) {
		return "", fmt.Errorf("invalid mount path: '%s' mount path must be absolute", src)
	}
	return filepath.Clean(src), nil
}

// parseMountFlag reads Docker's --mount, a CSV list of key=value fields:
//
//	type=bind|volume|tmpfs (default volume)
//	source|src=..., target|destination|dst=...
//	readonly|ro[=true|false]
//	bind-propagation=private|rprivate
//	volume-nocopy[=true|false], volume-label=KEY=VALUE, volume-driver=local
//	tmpfs-size=64m, tmpfs-mode=1777
//	consistency=... (accepted and ignored, as on Linux Docker)
func parseMountFlag(raw string) (mountRequest, error) {
	r := mountRequest{Type: "volume"}
	rd := csv.NewReader(strings.NewReader(raw))
	fields, err := rd.Read()
	if err != nil {
		return r, err
	}
	var bindOpt, volumeOpt, tmpfsOpt string // the first option of each family, for "cannot mix"
	var size int64
	var mode uint64
	modeSet := false
	for _, field := range fields {
		key, val, hasVal := strings.Cut(field, "=")
		key = strings.ToLower(key)
		if !hasVal {
			switch key {
			case "readonly", "ro":
				r.ReadOnly = true
				continue
			case "volume-nocopy":
				r.NoCopy, volumeOpt = true, firstNonEmpty(volumeOpt, key)
				continue
			}
			return r, fmt.Errorf("invalid field '%s' must be a key=value pair", field)
		}
		switch key {
		case "type":
			r.Type = strings.ToLower(val)
		case "source", "src":
			r.Source = val
		case "target", "dst", "destination":
			r.Destination = val
		case "readonly", "ro":
			if r.ReadOnly, err = strconv.ParseBool(val); err != nil {
				return r, fmt.Errorf("invalid value for %s: %s", key, val)
			}
		case "consistency":
			// Docker Desktop's file sharing; no meaning on Linux.
		case "bind-propagation":
			bindOpt = firstNonEmpty(bindOpt, key)
			switch strings.ToLower(val) {
			case "private", "rprivate":
			case "shared", "rshared", "slave", "rslave":
				return r, errPropagation(val)
			default:
				return r, fmt.Errorf("invalid value for %s: %s", key, val)
			}
		case "volume-nocopy":
			volumeOpt = firstNonEmpty(volumeOpt, key)
			if r.NoCopy, err = strconv.ParseBool(val); err != nil {
				return r, fmt.Errorf("invalid value for %s: %s", key, val)
			}
		case "volume-label":
			volumeOpt = firstNonEmpty(volumeOpt, key)
			k, v, _ := strings.Cut(val, "=")
			if k == "" {
				return r, fmt.Errorf("invalid value for %s: %s: want KEY=VALUE", key, val)
			}
			if r.Labels == nil {
				r.Labels = map[string]string{}
			}
			r.Labels[k] = v
		case "volume-driver":
			volumeOpt = firstNonEmpty(volumeOpt, key)
			if val != "local" {
				return r, fmt.Errorf("volume driver %q is not supported: minirun has the local driver only", val)
			}
		case "tmpfs-size":
			tmpfsOpt = firstNonEmpty(tmpfsOpt, key)
			if size, err = oci.ParseBytes(val); err != nil {
				return r, fmt.Errorf("invalid value for %s: %s", key, val)
			}
		case "tmpfs-mode":
			tmpfsOpt = firstNonEmpty(tmpfsOpt, key)
			if mode, err = strconv.ParseUint(val, 8, 32); err != nil || mode > 0o7777 {
				return r, fmt.Errorf("invalid value for %s: %s: want an octal mode such as 1777", key, val)
			}
			modeSet = true
		case "volume-opt", "volume-subpath", "bind-recursive", "bind-nonrecursive", "bind-create-src", "image-subpath", "tmpfs-options":
			return r, fmt.Errorf("%s is not supported by minirun", key)
		default:
			return r, fmt.Errorf("unexpected key '%s' in '%s'", key, field)
		}
	}
	if r.Destination, err = checkDestination(r.Destination); err != nil {
		return r, err
	}
	mix := func(opt, family string) error {
		if opt != "" && r.Type != family {
			return fmt.Errorf("cannot mix '%s-*' options (%s) with mount type '%s'", family, opt, r.Type)
		}
		return nil
	}
	if err := errors.Join(mix(bindOpt, "bind"), mix(volumeOpt, "volume"), mix(tmpfsOpt, "tmpfs")); err != nil {
		return r, err
	}
	switch r.Type {
	case "bind":
		if r.Source == "" {
			return r, errors.New(`invalid mount config for type "bind": field Source must not be empty`)
		}
		if r.Source, err = hostPath(r.Source); err != nil {
			return r, err
		}
		// Unlike -v, --mount does not create a missing host path (Docker).
		if _, err := os.Stat(r.Source); err != nil {
			if os.IsNotExist(err) {
				return r, fmt.Errorf("bind source path does not exist: %s", r.Source)
			}
			return r, err
		}
	case "volume":
		if r.Source != "" {
			if err := validVolumeName(r.Source); err != nil {
				return r, err
			}
		} else if len(r.Labels) > 0 {
			return r, errors.New("volume-label needs a named volume (source=NAME)")
		}
	case "tmpfs":
		if r.Source != "" {
			return r, errors.New(`invalid mount config for type "tmpfs": field Source must not be specified`)
		}
		r.TmpfsOptions = []string{"noexec", "nosuid", "nodev"}
		var data []string
		if size > 0 {
			data = append(data, fmt.Sprintf("size=%d", size))
		}
		if modeSet {
			data = append(data, fmt.Sprintf("mode=%o", mode))
		}
		if r.ReadOnly {
			r.TmpfsOptions = append(r.TmpfsOptions, "ro")
		}
		r.TmpfsOptions = append(r.TmpfsOptions, data...)
		r.Mode = strings.Join(data, ",")
	default:
		return r, fmt.Errorf("invalid mount type %q: minirun mounts bind, volume and tmpfs", r.Type)
	}
	return r, nil
}

// tmpfsFlags are the mount(8) flags --tmpfs accepts; private and rprivate
// are what every container mount is anyway.
var tmpfsFlags = map[string]bool{
	"ro": true, "rw": true, "exec": true, "noexec": true, "suid": true, "nosuid": true, "dev": true, "nodev": true,
	"sync": true, "async": true, "dirsync": true, "atime": true, "noatime": true, "diratime": true, "nodiratime": true,
	"relatime": true, "norelatime": true, "strictatime": true, "nostrictatime": true, "private": true, "rprivate": true,
}

var (
	tmpfsSizeRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+[kKmMgGtTpPeE%]?$`) })
	tmpfsNumberRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+[kKmMgG]?$`) })
)

// parseTmpfsFlag reads Docker's --tmpfs DESTINATION[:OPTIONS]: the
// options of tmpfs(5) (size, mode, uid, gid, nr_inodes, nr_blocks, mpol)
// and mount flags, after Docker's defaults noexec,nosuid,nodev (so
// "exec" undoes "noexec").
func parseTmpfsFlag(raw string) (mountRequest, error) {
	dst, opts, _ := strings.Cut(raw, ":")
	r := mountRequest{Type: "tmpfs", Mode: opts, TmpfsOptions: []string{"noexec", "nosuid", "nodev"}}
	var err error
	if r.Destination, err = checkDestination(dst); err != nil {
		return r, err
	}
	if opts == "" {
		return r, nil
	}
	for _, o := range strings.Split(opts, ",") {
		key, val, hasVal := strings.Cut(o, "=")
		switch {
		case !hasVal && tmpfsFlags[o]:
			if o == "ro" || o == "rw" {
				r.ReadOnly = o == "ro"
			}
		case key == "shared" || key == "rshared" || key == "slave" || key == "rslave":
			return r, errPropagation(key)
		case key == "size" && tmpfsSizeRE().MatchString(val):
		case (key == "nr_inodes" || key == "nr_blocks") && tmpfsNumberRE().MatchString(val):
		case key == "mode":
			if m, err := strconv.ParseUint(val, 8, 32); err != nil || m > 0o7777 {
				return r, fmt.Errorf("invalid tmpfs option %q: want an octal mode such as 1777", o)
			}
		case key == "uid" || key == "gid":
			if _, err := strconv.ParseUint(val, 10, 32); err != nil {
				return r, fmt.Errorf("invalid tmpfs option %q: want a number", o)
			}
		case key == "mpol" && val != "":
		default:
			return r, fmt.Errorf("invalid tmpfs option %q: want size=64m, mode=1777, uid=N, gid=N, nr_inodes=N, nr_blocks=N, mpol=..., or mount flags (ro, exec, suid, dev, noatime...)", o)
		}
		r.TmpfsOptions = append(r.TmpfsOptions, o)
	}
	return r, nil
}

// volumeMounts turns -v, --mount and --tmpfs into the container's mounts
// and adds them to base (minirun's /etc files and the image's VOLUMEs,
// from prepare). A user mount replaces base's mount at the same
// destination, as in Docker (-v data:/srv/data over an image VOLUME
// /srv/data, or a file of one's own at /etc/resolv.conf). Mounts are
// ordered parents first (Docker's order), so that a volume at /etc does
// not hide the /etc/hosts bind mount made after it.
//
// Everything is checked before anything is made. Named volumes a run
// creates stay when the run fails later, as with Docker (`volume create`
// then `run` would leave them too); so do host directories -v creates.
// The volume store's lock is held (unlock) until the caller has written
// meta.json, which names the volumes the container uses: `volume rm`
// cannot remove a volume between here and there.
func (e *Engine) volumeMounts(o RunOptions, root, dataDir string, base []specs.Mount) (mounts []specs.Mount, points []MountPoint, unlock func(), err error) {
	unlock = func() {}
	reqs, err := parseMounts(o.Volumes, o.MountSpecs, o.Tmpfs)
	if err != nil {
		return nil, nil, unlock, &UsageError{err}
	}
	named := false
	for _, r := range reqs {
		target, err := rootfs.InRoot(root, r.Destination)
		if err != nil {
			return nil, nil, unlock, err
		}
		if target == filepath.Clean(root) {
			return nil, nil, unlock, &UsageError{fmt.Errorf("mount destination %s resolves to the container's root directory "+
				"(the image has a symlink to / on the way): a mount there would replace the whole filesystem", r.Destination)}
		}
		named = named || (r.Type == "volume" && r.Source != "")
	}
	if named && !o.DryRun {
		if unlock, err = e.lockVolumes(); err != nil {
			return nil, nil, func() {}, err
		}
		defer func() {
			if err != nil {
				unlock()
				unlock = func() {}
			}
		}()
	}
	var user []specs.Mount
	replaced := map[string]string{} // destination → source of the user's mount
	for _, r := range reqs {
		mp := MountPoint{Type: r.Type, Destination: r.Destination, Mode: r.Mode, RW: !r.ReadOnly}
		m := specs.Mount{Destination: r.Destination, Type: "bind", Options: []string{"rbind", "rprivate"}}
		switch {
		case r.Type == "tmpfs":
			m.Type, m.Source = "tmpfs", "tmpfs"
			m.Options = append(append([]string(nil), r.TmpfsOptions...), "rprivate")
		case r.Type == "bind":
			if r.CreateSource && !o.DryRun {
				if _, err := os.Lstat(r.Source); os.IsNotExist(err) {
					// Docker's -v makes a missing host directory.
					if err := os.MkdirAll(r.Source, 0o755); err != nil {
						return nil, nil, unlock, fmt.Errorf("-v: create the host directory %s: %w", r.Source, err)
					}
				}
			}
			m.Source = r.Source
		case r.Source == "": // an anonymous volume, like the image's VOLUMEs
			if m, err = anonymousVolume(root, dataDir, r.Destination, !r.NoCopy); err != nil {
				return nil, nil, unlock, err
			}
		default: // a named volume
			m.Source = e.volumeDataDir(r.Source)
			mp.Name = r.Source
			if !o.DryRun {
				if _, err := e.ensureVolume(r.Source, r.Labels); err != nil {
					return nil, nil, unlock, err
				}
				if !r.NoCopy {
					if err := seedVolume(root, r.Destination, m.Source); err != nil {
						return nil, nil, unlock, err
					}
				}
			}
		}
		if r.ReadOnly && m.Type == "bind" {
			m.Options = append(m.Options, "ro")
		}
		mp.Source = m.Source
		if r.Type == "tmpfs" {
			mp.Source = ""
		}
		user = append(user, m)
		points = append(points, mp)
		replaced[r.Destination] = m.Source
	}
	anonDir := filepath.Join(dataDir, "volumes") + string(filepath.Separator)
	for _, m := range base {
		dst := path.Clean(m.Destination)
		anon := m.Type == "bind" && strings.HasPrefix(m.Source, anonDir)
		if src, ok := replaced[dst]; ok {
			if anon && src != m.Source { // an image VOLUME the user mounted something else on
				_ = os.RemoveAll(filepath.Dir(m.Source))
			}
			continue
		}
		mounts = append(mounts, m)
		if anon {
			points = append(points, MountPoint{Type: "volume", Source: m.Source, Destination: dst, RW: true})
		}
	}
	mounts = append(mounts, user...)
	sort.SliceStable(mounts, func(i, j int) bool { return pathDepth(mounts[i].Destination) < pathDepth(mounts[j].Destination) })
	sort.SliceStable(points, func(i, j int) bool { return points[i].Destination < points[j].Destination })
	return mounts, points, unlock, nil
}

// pathDepth is the number of components of a path: "/" 0, "/etc/hosts" 2.
func pathDepth(p string) int {
	p = path.Clean(p)
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}
