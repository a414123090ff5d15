package container

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/cgroups"
	"github.com/minirun/minirun/namespaces"
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

// reexecEnv tells init that its user namespace's maps are written by
// newuidmap/newgidmap after it started (rootless mode with subordinate
// IDs): it must wait for them and execute itself again.
const reexecEnv = "_MINIRUN_USERNS_REEXEC"

// mappedByte is what the parent sends on the sync socket once the maps
// are written, before the config.
const mappedByte = 'm'

// needsMapHelpers tells whether the spec's maps are more than the one
// line of its own IDs an ordinary user may write itself.
func needsMapHelpers(spec *specs.Spec) bool {
	own := func(ms []specs.LinuxIDMapping, id int) bool {
		return len(ms) == 0 || (len(ms) == 1 && int(ms[0].HostID) == id && ms[0].Size == 1)
	}
	return !own(spec.Linux.UIDMappings, os.Geteuid()) || !own(spec.Linux.GIDMappings, os.Getegid())
}

// reexecMapped is init's first step when its maps come from the helpers.
// Init was born in the new user namespace before any map existed: its uid
// was unmapped at execve, and execve then leaves a process no
// capabilities (man 7 capabilities, "Capabilities and execution of
// programs by root"). Once the parent has written the maps, our uid is 0
// in the namespace, and executing ourselves again gives init the full set
// in it, as the first process of a namespace has. That execve gains
// capabilities, so the kernel clears the parent-death signal and makes
// the process non-dumpable: both are set again.
func reexecMapped() {
	if os.Getenv(reexecEnv) != "1" {
		if v := os.Getenv(reexecEnv); v == "2" || v == "2-pdeathsig" {
			os.Unsetenv(reexecEnv)
			_ = unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0)
			if v == "2-pdeathsig" {
				_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
			}
		}
		return
	}
	// The parent-death signal was asked for (CreateOpts.DieWithParent)
	// if it is still set now.
	v := "2"
	var sig int32
	if unix.Prctl(unix.PR_GET_PDEATHSIG, uintptr(unsafe.Pointer(&sig)), 0, 0, 0) == nil && sig != 0 {
		v = "2-pdeathsig"
	}
	os.Setenv(reexecEnv, v)
	err := reexecOnceMapped(os.Environ())
	fmt.Fprintf(os.Stderr, "minirun init: %v\n", err)
	os.Exit(1)
}

// reexecOnceMapped waits for the parent's byte on fd 3 (the maps are
// written), then executes this program again with env; it returns only
// on failure.
func reexecOnceMapped(env []string) error {
	b := make([]byte, 1)
	if n, err := unix.Read(3, b); n != 1 || b[0] != mappedByte {
		return fmt.Errorf("wait for the user namespace's maps: %v", err)
	}
	err := unix.Exec("/proc/self/exe", os.Args, env)
	return fmt.Errorf("execute itself again in the mapped user namespace: %w", err)
}

// removeArg and removeEnv mark the helper RemoveAllMapped starts.
const (
	removeArg = "rm-mapped"
	removeEnv = "_MINIRUN_RM_MAPPED"
)

// IsRemoveHelper tells main() that this process is RemoveAllMapped's
// helper.
func IsRemoveHelper() bool {
	return len(os.Args) == 3 && os.Args[1] == removeArg && os.Getenv(removeEnv) != ""
}

// RemoveAllMapped removes dir, whose files a rootless container with
// subordinate IDs may have given to those IDs (a file made by uid 1000
// inside is host uid start+999): the user cannot remove those, the root
// of a user namespace with the same maps can (CAP_DAC_OVERRIDE and
// CAP_FOWNER over every file whose owner is mapped). A helper is born in
// such a namespace, waits for newuidmap/newgidmap, executes itself again
// as its root, and removes dir (podman's `podman unshare rm -rf`).
func RemoveAllMapped(dir string, uids, gids []specs.LinuxIDMapping) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer w.Close()
	var out strings.Builder
	cmd := &exec.Cmd{
		Path: "/proc/self/exe", Args: []string{"minirun", removeArg, dir},
		Env: []string{removeEnv + "=1"}, ExtraFiles: []*os.File{r}, Stderr: &out,
		SysProcAttr: &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER},
	}
	err = cmd.Start()
	r.Close()
	if err != nil {
		return fmt.Errorf("remove %s in a user namespace: %w", dir, err)
	}
	if err := namespaces.WriteMapsWithHelpers(cmd.Process.Pid, uids, gids); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("remove %s in a user namespace: %w", dir, err)
	}
	_, _ = w.Write([]byte{mappedByte})
	w.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("remove %s in a user namespace: %v: %s", dir, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// RemoveHelperMain is the helper's main: first wait for the maps and
// execute itself again (with capabilities in the namespace now), then
// remove the directory.
func RemoveHelperMain() int {
	if os.Getenv(removeEnv) == "1" {
		fmt.Fprintln(os.Stderr, reexecOnceMapped([]string{removeEnv + "=2"}))
		return 1
	}
	if err := os.RemoveAll(os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
