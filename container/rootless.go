package container

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/cgroups"
	"github.com/minirun/minirun/rootfs"
)

// OverlayAnnotation carries, as JSON (Overlay), an overlay that init
// mounts at the root filesystem's path inside the container's mount
// namespace before anything else. Rootless mode needs it: an ordinary
// user cannot mount on the host, but the kernel (5.11+) lets the root of
// a user namespace mount an overlay in a mount namespace it owns.
const OverlayAnnotation = "run.minirun.rootfs.overlay"

// Overlay is OverlayAnnotation's value: the layers bottom first, and the
// container's upper and work directories.
type Overlay struct {
	Lower []string `json:"lower"`
	Upper string   `json:"upper"`
	Work  string   `json:"work"`
}

// rootless tells whether the runtime runs as an ordinary user.
func rootless() bool { return os.Geteuid() != 0 }

// CgroupDelegated tells whether an ordinary user may make cgroups below
// its own: only on a cgroup v2 host whose cgroup of this process is the
// user's to write (systemd's Delegate=yes for user@.service).
func CgroupDelegated() bool {
	if cgroups.DetectMode() != cgroups.Unified {
		return false
	}
	own, err := ownCgroupV2()
	if err != nil {
		return false
	}
	dir := filepath.Join(cgroups.Root, own)
	return unix.Access(dir, unix.W_OK) == nil && unix.Access(filepath.Join(dir, "cgroup.subtree_control"), unix.W_OK) == nil
}

// ownCgroupV2 is this process's cgroup v2 path ("0::/path").
func ownCgroupV2() (string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return p, nil
		}
	}
	return "", errors.New("no cgroup v2 line in /proc/self/cgroup")
}

// cgroupRefused tells whether a cgroup error is the kernel saying no to an
// ordinary user (the cgroup tree belongs to root): then a rootless
// container runs without a cgroup.
func cgroupRefused(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.EROFS) || errors.Is(err, unix.EPERM)
}

// noCgroupNotice is printed once per container that runs without one.
const noCgroupNotice = "minirun: rootless mode: no cgroup for this container (cgroup v2 delegation is not available on this host): no limits, no stats, no pause; see docs/ROOTLESS.md"

// noticeOnce prints msg on stderr the first time only: a marker file in
// the state root remembers it was said.
func noticeOnce(root, msg string) {
	f, err := os.OpenFile(filepath.Join(root, ".rootless-notice"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	f.Close()
	fmt.Fprintln(os.Stderr, msg)
}

// mountRootlessOverlay mounts the spec's OverlayAnnotation at root, in
// init's own mount namespace. The user namespace's overlay keeps its
// xattrs in user.overlay.* (userxattr): trusted.* is root's only.
func mountRootlessOverlay(spec *specs.Spec, root string) error {
	v, ok := spec.Annotations[OverlayAnnotation]
	if !ok {
		return nil
	}
	var o Overlay
	if err := json.Unmarshal([]byte(v), &o); err != nil {
		return fmt.Errorf("annotation %s: %w", OverlayAnnotation, err)
	}
	if err := rootfs.MountOverlayOpts(o.Lower, o.Upper, o.Work, root, "userxattr"); err != nil {
		return fmt.Errorf("mount the image's layers in the container's user namespace (overlayfs there needs Linux 5.11+): %w", err)
	}
	return nil
}

// pidNamespaceMembers lists, for a container without a cgroup (rootless
// mode), the host PIDs of the processes in init's PID namespace when it
// has one of its own: every process whose /proc/PID/ns/pid is init's.
// (A process the container started outside it, which only a cgroup would
// catch, cannot exist: the namespace's processes cannot leave it.)
func (c *Container) pidNamespaceMembers() []int {
	if c.state.Pid <= 0 || !c.alive() {
		return nil
	}
	self, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return nil
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", c.state.Pid))
	if err != nil || ns == self {
		return nil // no PID namespace of its own: nothing to tell it by
	}
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && l == ns {
			out = append(out, pid)
		}
	}
	return out
}
