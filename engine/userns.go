package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/idmap"
	"github.com/minirun/minirun/namespaces"
	"github.com/minirun/minirun/rootfs"
)

// SubIDUser is the user whose subordinate ID ranges in /etc/subuid and
// /etc/subgid --userns=auto hands out to containers, as podman does.
// The user need not exist in /etc/passwd: the files are matched by this
// name (and by its numeric uid when the user exists).
const SubIDUser = "containers"

// DefaultUserNSSize is the number of IDs --userns=auto maps without
// size=N: 65536, the IDs 0-65535 that images use (nobody is 65534).
const DefaultUserNSSize = 65536

// SubIDFiles are /etc/subuid and /etc/subgid, or MINIRUN_SUBUID_FILE and
// MINIRUN_SUBGID_FILE when set (tests point them at files of their own).
func SubIDFiles() (uidFile, gidFile string) {
	return firstNonEmpty(os.Getenv("MINIRUN_SUBUID_FILE"), "/etc/subuid"),
		firstNonEmpty(os.Getenv("MINIRUN_SUBGID_FILE"), "/etc/subgid")
}

// UserNS is a container's user namespace: host IDs UIDs.Start... are its
// 0..UIDs.Size-1, GIDs likewise. Recorded in the container's data
// directory (userns.json) while the container exists.
type UserNS struct {
	UIDs idmap.Range `json:"uids"`
	GIDs idmap.Range `json:"gids"`
}

// uidMappings and gidMappings are the spec's linux.uidMappings and
// linux.gidMappings.
func (u *UserNS) uidMappings() []specs.LinuxIDMapping {
	return []specs.LinuxIDMapping{{ContainerID: 0, HostID: u.UIDs.Start, Size: u.UIDs.Size}}
}

func (u *UserNS) gidMappings() []specs.LinuxIDMapping {
	return []specs.LinuxIDMapping{{ContainerID: 0, HostID: u.GIDs.Start, Size: u.GIDs.Size}}
}

func (u *UserNS) sysMaps() (uids, gids []syscall.SysProcIDMap) {
	return []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(u.UIDs.Start), Size: int(u.UIDs.Size)}},
		[]syscall.SysProcIDMap{{ContainerID: 0, HostID: int(u.GIDs.Start), Size: int(u.GIDs.Size)}}
}

// usernsRequest is --userns parsed: host (no user namespace, the
// default) or auto[:size=N].
type usernsRequest struct {
	auto bool
	size uint32
	// delegated are the subordinate ranges of SubIDUser, read by check.
	uids, gids []idmap.Range
}

// parseUserNS parses --userns: "", host, auto, auto:size=N.
func parseUserNS(s string) (usernsRequest, error) {
	mode, opts, _ := strings.Cut(s, ":")
	switch mode {
	case "", "host":
		if opts != "" {
			return usernsRequest{}, fmt.Errorf("invalid --userns %q: host takes no options", s)
		}
		return usernsRequest{}, nil
	case "auto":
	default:
		return usernsRequest{}, fmt.Errorf("invalid --userns %q: want host or auto[:size=N]", s)
	}
	r := usernsRequest{auto: true, size: DefaultUserNSSize}
	if opts == "" {
		return r, nil
	}
	for _, opt := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(opt, "=")
		switch k {
		case "size":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n == 0 {
				return r, fmt.Errorf("invalid --userns %q: size wants a number of IDs from 1 to 4294967295", s)
			}
			r.size = uint32(n)
		default:
			return r, fmt.Errorf("invalid --userns %q: unknown option %q (auto takes size=N)", s, k)
		}
	}
	return r, nil
}

// checkUserNS validates --userns before anything exists: the mode, the
// flags it cannot go with (as Docker's userns-remap), and that the host
// delegates enough subordinate IDs to SubIDUser.
func (o *RunOptions) checkUserNS() error {
	req, err := parseUserNS(o.UserNS)
	if err != nil || !req.auto {
		o.userns = req
		return err
	}
	switch {
	case o.Network == "host":
		return errors.New("--userns=auto cannot go with --network host: the host's network namespace belongs to the host's user namespace, where the container's root has no power (use --userns=host)")
	case strings.HasPrefix(o.Network, "container:"):
		return errors.New("--userns=auto cannot go with --network container:NAME: that network namespace belongs to another user namespace (use --userns=host)")
	case o.Privileged:
		return errors.New("--userns=auto cannot go with --privileged: the host's devices and powers are not the user namespace's to give (use --userns=host)")
	}
	owner, uid := SubIDUser, ""
	if u, err := user.Lookup(owner); err == nil {
		uid = u.Uid
	}
	uidFile, gidFile := SubIDFiles()
	for _, f := range []struct {
		path, ids, flag string
		out             *[]idmap.Range
	}{{uidFile, "UIDs", "--add-subuids", &req.uids}, {gidFile, "GIDs", "--add-subgids", &req.gids}} {
		rs, err := idmap.ReadFile(f.path, owner, uid)
		if err != nil {
			return fmt.Errorf("--userns=auto: read the subordinate %s: %w", f.ids, err)
		}
		if idmap.Largest(rs) < req.size {
			what := "no subordinate " + f.ids
			if len(rs) > 0 {
				what = fmt.Sprintf("no range of %d subordinate %s (the largest has %d)", req.size, f.ids, idmap.Largest(rs))
			}
			n := uint64(max(req.size, DefaultUserNSSize)) * 16 // room for 16 containers
			return fmt.Errorf("--userns=auto: %s for user %s in %s: add a line `%s:100000:%d` to it "+
				"(usermod %s 100000-%d %s does, when the user exists), or ask for fewer IDs with --userns=auto:size=N",
				what, owner, f.path, owner, n, f.flag, 100000+n-1, owner)
		}
		*f.out = rs
	}
	o.userns = req
	return nil
}

// usernsLock serialises the allocation of ranges.
func (e *Engine) usernsLock() (func(), error) {
	return lockFile(filepath.Join(e.DataRoot, ".userns.lock"))
}

const usernsFile = "userns.json"

var errNoFreeBlock = errors.New("no free block")

// allocateUserNS takes a free block of req.size host UIDs and GIDs from
// the delegated ranges, one that no other container of this engine uses
// (running or stopped: a stopped container's files keep its IDs until it
// is removed), and records it in the container's data directory, which
// exists. The lock makes two runs at once get different blocks; a block
// is free again when its container's data directory goes.
func (e *Engine) allocateUserNS(dataDir string, req usernsRequest) (*UserNS, error) {
	unlock, err := e.usernsLock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	var usedU, usedG []idmap.Range
	ents, _ := os.ReadDir(filepath.Join(e.DataRoot, "containers"))
	for _, ent := range ents {
		if !ent.IsDir() || filepath.Join(e.DataRoot, "containers", ent.Name()) == dataDir {
			continue
		}
		u, err := readUserNS(filepath.Join(e.DataRoot, "containers", ent.Name()))
		if err != nil {
			// Not knowing a container's block could hand it out twice.
			return nil, fmt.Errorf("--userns=auto: the user namespace of container %s: %w (remove that container: minirun rm -f %s)",
				ShortID(ent.Name()), err, ShortID(ent.Name()))
		}
		if u != nil {
			usedU, usedG = append(usedU, u.UIDs), append(usedG, u.GIDs)
		}
	}
	u := &UserNS{}
	var okU, okG bool
	u.UIDs, okU = idmap.Allocate(req.uids, usedU, req.size)
	u.GIDs, okG = idmap.Allocate(req.gids, usedG, req.size)
	if !okU || !okG {
		return nil, fmt.Errorf("--userns=auto: %w of %d subordinate IDs left for user %s: %d containers hold one "+
			"(remove stopped containers, delegate more IDs in /etc/subuid and /etc/subgid, or ask for fewer with --userns=auto:size=N)",
			errNoFreeBlock, req.size, SubIDUser, len(usedU))
	}
	b, _ := json.Marshal(u)
	if err := os.WriteFile(filepath.Join(dataDir, usernsFile), b, 0o600); err != nil {
		return nil, err
	}
	// The container's root (an ordinary host ID) must pass through the
	// data directory to mount its anonymous volumes: containers/ becomes
	// 0711 (no one but host root may list it, each container's directory
	// stays closed), and the container's directory 0710 for its group.
	if err := os.Chmod(filepath.Dir(dataDir), 0o711); err != nil {
		return nil, err
	}
	if err := os.Chown(dataDir, 0, int(u.GIDs.Start)); err != nil {
		return nil, err
	}
	return u, os.Chmod(dataDir, 0o710)
}

// readUserNS reads a container's recorded user namespace (nil: none).
func readUserNS(dataDir string) (*UserNS, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, usernsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var u UserNS
	if err := json.Unmarshal(b, &u); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dataDir, usernsFile), err)
	}
	return &u, nil
}

// chownFresh gives a directory the runtime just made (owned by host root
// and empty: a new volume, the container's upper layer) to the container's
// root, so that root in the container may write there. A directory with
// content or another owner keeps what it has.
func (u *UserNS) chownFresh(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return err
	}
	if st.Uid != 0 || st.Gid != 0 {
		return nil
	}
	if empty, err := emptyDir(dir); err != nil || !empty {
		return err
	}
	return os.Lchown(dir, int(u.UIDs.Start), int(u.GIDs.Start))
}

// mountIDMapped runs mount with a descriptor of a user namespace that has
// the container's ID maps (a throwaway one: the container's own does not
// exist yet when its root filesystem is mounted), for an idmapped mount.
func (u *UserNS) mountIDMapped(mount func(usernsFd int) error) error {
	uids, gids := u.sysMaps()
	ns, err := namespaces.UserNamespace(uids, gids)
	if err != nil {
		return err
	}
	defer ns.Close()
	return mount(int(ns.Fd()))
}

// idmapHint explains an idmapped mount the kernel refused.
func idmapHint(err error) error {
	if !errors.Is(err, rootfs.ErrIDMapUnsupported) {
		return err
	}
	return fmt.Errorf("%w\n--userns=auto shows files to the container's root through idmapped mounts "+
		"(Linux 5.12+, overlayfs layers 5.19+, on a filesystem that supports them: ext4, xfs, btrfs, tmpfs 6.3+); "+
		"run without it (--userns=host)", err)
}

// forceChown is MINIRUN_USERNS_CHOWN=1: the chowned-copy fallback even
// where idmapped mounts work (tests; a filesystem whose idmapping fails
// in ways the kernel does not report at mount time).
func forceChown() bool { return os.Getenv("MINIRUN_USERNS_CHOWN") == "1" }

// mountLayers mounts the image's layers for a container with a user
// namespace: idmapped (nothing copied, nothing chowned), or where the
// kernel cannot idmap them, over copies of the layers with the owners
// shifted into the container's range, made once per container in its
// data directory (<data>/lowers/<n>; a restart reuses them, rm deletes
// them). The copies cost the image's size on disk and the time to copy
// it at each new container: podman's "chown" fallback.
func (u *UserNS) mountLayers(layers []string, upper, work, root, dataDir string) error {
	if err := u.chownFresh(upper); err != nil {
		return err
	}
	if !forceChown() {
		err := u.mountIDMapped(func(fd int) error {
			return rootfs.MountOverlayIDMapped(layers, upper, work, root, filepath.Join(dataDir, "l"), fd)
		})
		if !errors.Is(err, rootfs.ErrIDMapUnsupported) {
			return err
		}
	}
	shift := rootfs.IDShift{UIDBase: u.UIDs.Start, GIDBase: u.GIDs.Start, Size: min(u.UIDs.Size, u.GIDs.Size)}
	lowers := make([]string, len(layers))
	for i, l := range layers {
		lowers[i] = filepath.Join(dataDir, "lowers", strconv.Itoa(i))
		if _, err := os.Lstat(lowers[i]); err == nil {
			continue
		}
		tmp := lowers[i] + ".tmp"
		if err := os.RemoveAll(tmp); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(tmp), 0o700); err != nil {
			return err
		}
		if err := rootfs.ShiftedCopy(l, tmp, shift); err != nil {
			_ = os.RemoveAll(tmp)
			return err
		}
		if err := os.Rename(tmp, lowers[i]); err != nil {
			return err
		}
	}
	return rootfs.MountOverlay(lowers, upper, work, root)
}

// checkUser refuses a --user outside the mapped IDs: the container's
// process could not become it.
func (u *UserNS) checkUser(user specs.User) error {
	if u == nil {
		return nil
	}
	if user.UID >= u.UIDs.Size || user.GID >= u.GIDs.Size {
		return fmt.Errorf("user %d:%d is outside the container's user namespace, which maps IDs 0-%d: ask for more with --userns=auto:size=N",
			user.UID, user.GID, u.UIDs.Size-1)
	}
	for _, g := range user.AdditionalGids {
		if g >= u.GIDs.Size {
			return fmt.Errorf("supplementary group %d is outside the container's user namespace, which maps GIDs 0-%d", g, u.GIDs.Size-1)
		}
	}
	return nil
}

// chownVolumes gives the volumes the runtime just made for the container
// (named ones under volumesDir, anonymous ones under its data directory)
// to its root, when they are still empty and root's: a volume seeded from
// the image already has the owner the image gives it (through the
// idmapped layers, the container's IDs). A host directory of -v is left
// as it is, as Docker's userns-remap does: files of unmapped owners
// appear as nobody (65534) inside.
func (u *UserNS) chownVolumes(mounts []specs.Mount, volumesDir, dataDir string) error {
	if u == nil {
		return nil
	}
	anon := filepath.Join(dataDir, "volumes") + string(filepath.Separator)
	for _, m := range mounts {
		if m.Type != "bind" || !(strings.HasPrefix(m.Source, volumesDir+string(filepath.Separator)) || strings.HasPrefix(m.Source, anon)) {
			continue
		}
		if err := u.chownFresh(m.Source); err != nil {
			return fmt.Errorf("give the volume %s to the container's root: %w", m.Source, err)
		}
	}
	return nil
}
