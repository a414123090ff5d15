package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/container"
	"github.com/minirun/minirun/idmap"
	"github.com/minirun/minirun/image"
	"github.com/minirun/minirun/network"
)

// Rootless mode (docs/ROOTLESS.md): an ordinary user runs containers. The
// container gets a user namespace in which it is root (uid 0 inside is the
// user outside), the overlay is mounted by init inside the container's
// own user and mount namespaces (the kernel allows that since 5.11), the
// network is slirp4netns or none, and there is no cgroup unless cgroup
// v2 delegation gives the user one.

// Rootless tells whether minirun runs as an ordinary user.
func Rootless() bool { return os.Geteuid() != 0 }

// prepareRootless makes the user's roots (0700: other users must not see
// the containers' files) and refuses a root owned by someone else (a
// /tmp/minirun-<uid> made by another user in advance would be theirs).
func (e *Engine) prepareRootless() error {
	for _, d := range []string{e.StateRoot, e.DataRoot} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("rootless mode: create %s: %w", d, err)
		}
		fi, err := os.Lstat(d)
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Geteuid() || !fi.IsDir() {
			return fmt.Errorf("rootless mode: %s is not a directory of uid %d: remove it, or choose another with --root/--data-root", d, os.Geteuid())
		}
	}
	return nil
}

// rootlessOverlay is the annotation's value: init mounts it (see
// container.OverlayAnnotation).
func rootlessOverlay(img *image.Image, p *prepared) error {
	upper, work := filepath.Join(p.dataDir, "upper"), filepath.Join(p.dataDir, "work")
	for _, d := range []string{filepath.Join(p.bundle, "rootfs"), upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	p.overlay = &container.Overlay{Lower: img.Layers, Upper: upper, Work: work}
	return nil
}

// imageView is the directory the engine reads the image's files from
// before the container exists (its /etc/passwd for -u): in rootless mode
// the overlay is not mounted on the host, so the top-most layer that has
// /etc/passwd (else the top layer) stands for the merged view.
func imageView(img *image.Image) string {
	for i := len(img.Layers) - 1; i >= 0; i-- {
		if _, err := os.Lstat(filepath.Join(img.Layers[i], "etc", "passwd")); err == nil {
			return img.Layers[i]
		}
	}
	return img.Layers[len(img.Layers)-1]
}

// applyRootless edits the spec for an ordinary user: a user namespace
// mapping root inside to the user (and, with newuidmap and a range in
// /etc/subuid, more IDs), the overlay for init to mount, no cgroup
// limits (there is no cgroup to write them to without delegation).
func (e *Engine) applyRootless(p *prepared, stderr io.Writer) error {
	s := p.spec
	if err := RootlessSpec(s); err != nil {
		return &UsageError{err}
	}
	if p.overlay != nil {
		b, _ := json.Marshal(p.overlay)
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[container.OverlayAnnotation] = string(b)
	}
	if r := s.Linux.Resources; r != nil && limitsRequested(r) && !container.CgroupDelegated() {
		// podman's choice on cgroup v1 hosts: warn, run without limits.
		fmt.Fprintln(stderr, "minirun: warning: resource limits are ignored in rootless mode without cgroup v2 delegation (see docs/ROOTLESS.md)")
		s.Linux.Resources = &specs.LinuxResources{Devices: r.Devices}
	}
	// The host's cgroup tree is root's: a delegated cgroup can only be
	// below the user's own one (relative path).
	s.Linux.CgroupsPath = "minirun-" + p.id
	return nil
}

// RootlessSpec edits an OCI spec for an ordinary user (`run` in rootless
// mode, `spec --rootless`): a user namespace mapping root inside to the
// user (and, with newuidmap and a range in /etc/subuid, more IDs),
// devpts without an unmapped gid, no host devices.
func RootlessSpec(s *specs.Spec) error {
	uids, gids, _ := rootlessMappings()
	s.Linux.UIDMappings, s.Linux.GIDMappings = uids, gids
	hasUserNS := false
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			if ns.Path != "" {
				return fmt.Errorf("joining the user namespace %s is not available in rootless mode: the container gets a new one of yours", ns.Path)
			}
			hasUserNS = true
		}
	}
	if !hasUserNS {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	}
	// devpts's gid=5 (tty) does not exist in a one-ID namespace: the
	// kernel refuses an unmapped gid (EINVAL). runc drops it too.
	for i, m := range s.Mounts {
		if m.Type != "devpts" {
			continue
		}
		var opts []string
		for _, opt := range m.Options {
			if g, ok := strings.CutPrefix(opt, "gid="); ok && !mapped(gids, g) {
				continue
			}
			opts = append(opts, opt)
		}
		s.Mounts[i].Options = opts
	}
	if u := s.Process.User; !mapped(uids, strconv.FormatUint(uint64(u.UID), 10)) || !mapped(gids, strconv.FormatUint(uint64(u.GID), 10)) {
		return fmt.Errorf("user %d:%d is not available in rootless mode: the container's user namespace maps only uid and gid 0 (you) and, with newuidmap and a range in /etc/subuid, that range; run as root inside, or as root on the host", u.UID, u.GID)
	}
	// ping_group_range (ownNetworkSysctls) may name mapped groups only:
	// those from 0 on, without a gap.
	if _, ok := s.Linux.Sysctl["net.ipv4.ping_group_range"]; ok {
		var n uint64
		for again := true; again; {
			again = false
			for _, m := range gids {
				if uint64(m.ContainerID) == n {
					n += uint64(m.Size)
					again = true
				}
			}
		}
		s.Linux.Sysctl["net.ipv4.ping_group_range"] = "0 " + strconv.FormatUint(n-1, 10)
	}
	// --privileged's host devices: an ordinary user could bind only
	// those it may open anyway, and some (/dev/tty without a terminal)
	// cannot be opened at all. All capabilities, no seccomp stay.
	s.Linux.Devices = nil
	return nil
}

// limitsRequested tells whether r asks for more than the device rules.
func limitsRequested(r *specs.LinuxResources) bool {
	c := *r
	c.Devices = nil
	b, _ := json.Marshal(&c)
	return string(b) != "{}"
}

// mapped tells whether the container ID id (decimal) is in the maps.
func mapped(maps []specs.LinuxIDMapping, id string) bool {
	n, err := strconv.ParseUint(id, 10, 32)
	if err != nil {
		return false
	}
	for _, m := range maps {
		if uint64(m.ContainerID) <= n && n < uint64(m.ContainerID)+uint64(m.Size) {
			return true
		}
	}
	return false
}

// errRootlessBridge refuses bridge networks to an ordinary user.
var errRootlessBridge = errors.New("networks are not available in rootless mode: a bridge, veth pairs and nftables rules need root in the host's network namespace; rootless containers use slirp4netns (the default) or --network none")

// SlirpNetwork is --network's value for slirp4netns, rootless mode's
// default network.
const SlirpNetwork = "slirp4netns"

// rootlessNetworkMode resolves --network for an ordinary user: none, or
// slirp4netns (the default when it is installed, else none with a
// notice). A bridge, the host's network or another container's need
// privileges in the host's network namespace.
func rootlessNetworkMode(o *RunOptions) (netMode, error) {
	switch o.Network {
	case "none":
		return netMode{}, nil
	case "", SlirpNetwork:
		err := network.SlirpUsable()
		if err == nil {
			o.Network = SlirpNetwork
			return netMode{slirp: true}, nil
		}
		if o.Network == SlirpNetwork {
			return netMode{}, &UsageError{fmt.Errorf("--network slirp4netns: %w", err)}
		}
		fmt.Fprintf(o.Stderr, "minirun: rootless mode: no network for the container (--network none): %v\n", err)
		o.Network = "none"
		return netMode{}, nil
	}
	return netMode{}, &UsageError{fmt.Errorf("--network %s is not available in rootless mode: a bridge, the host's network "+
		"or another container's need root in the host's network namespace; use --network slirp4netns (the default) or none, or run as root", o.Network)}
}

// startSlirp gives a rootless container's network namespace its tap0.
//
// ports (-p) become slirp4netns forwards, through its API socket; a
// host port 0 gets a free one. It returns the ports as published.
func (e *Engine) startSlirp(id string, pid int, ports []PortSpec) ([]PortSpec, error) {
	api := ""
	if len(ports) > 0 {
		api = filepath.Join(e.StateRoot, ShortID(id)+".slirp")
		_ = os.Remove(api)
	}
	s, err := network.StartSlirp(pid, network.SlirpConfig{APISocket: api, Detached: e.slirpDetached})
	if err != nil {
		return nil, err
	}
	// Recorded: a detached one is ended by PID by whichever process
	// tears the container down (minirun-monitor-exit, rm).
	rs := e.readRunState(id)
	rs.SlirpPid = s.Pid()
	rs.SlirpStart, _, _ = container.ProcStartTime(rs.SlirpPid)
	if err := e.writeRunState(id, rs); err != nil {
		s.Stop()
		return nil, err
	}
	e.slirpMu.Lock()
	if e.slirps == nil {
		e.slirps = map[string]*network.Slirp{}
	}
	e.slirps[id] = s
	e.slirpMu.Unlock()
	if len(ports) == 0 {
		return nil, nil
	}
	// Free host ports, as for a bridge network (no other container's
	// forwards to check: slirp4netns holds its ports open, probing finds them).
	out, err := checkHostPorts(ports, nil)
	if err != nil {
		return nil, err
	}
	for _, p := range out {
		if err := s.AddHostFwd(p.Proto, p.HostIP, p.HostPort, p.ContainerPort); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// stopSlirp ends the container's slirp4netns, if this process runs one
// (another process's ends with it: its exit fd closes).
func (e *Engine) stopSlirp(id string) {
	e.slirpMu.Lock()
	s := e.slirps[id]
	delete(e.slirps, id)
	e.slirpMu.Unlock()
	s.Stop()
	rs := e.readRunState(id)
	if rs.SlirpPid > 0 {
		// Started by another process (a detached container's launcher):
		// killed by PID, if that PID is still the process started then.
		if start, _, err := container.ProcStartTime(rs.SlirpPid); err == nil && start == rs.SlirpStart {
			_ = unix.Kill(rs.SlirpPid, unix.SIGKILL)
		}
		rs.SlirpPid, rs.SlirpStart = 0, 0
		_ = e.writeRunState(id, rs)
	}
	_ = os.Remove(filepath.Join(e.StateRoot, ShortID(id)+".slirp"))
}

// removeAll is os.RemoveAll that also removes what overlayfs leaves in
// a work directory mounted by a user namespace: work/work is mode 000,
// and without root (CAP_DAC_OVERRIDE) its owner must chmod it to look in.
func removeAll(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil || !Rootless() || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	// WalkDir calls fn on a directory before it reads it: the chmod
	// comes first.
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(path, 0o700)
		}
		return nil
	})
	if err = os.RemoveAll(dir); err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	// Files of the container's subordinate IDs: removed by the root of a
	// user namespace with the same maps.
	if uids, gids, full := rootlessMappings(); full {
		return container.RemoveAllMapped(dir, uids, gids)
	}
	return err
}

// writeRunPorts records the ports slirp4netns forwards in run.json.
func (e *Engine) writeRunPorts(id string, ports []PortSpec) error {
	rs := e.readRunState(id)
	rs.Ports = ports
	return e.writeRunState(id, rs)
}

// slirpPorts is publishedPorts in rootless mode: from each container's
// run.json.
func (e *Engine) slirpPorts() map[string]string {
	out := map[string]string{}
	ms, _ := e.metas()
	for _, m := range ms {
		var ps []string
		for _, p := range e.readRunState(m.ID).Ports {
			ps = append(ps, p.String())
		}
		out[m.ID] = strings.Join(ps, ", ")
	}
	return out
}

// rootlessMappings are the ID maps of an ordinary user's container: uid
// and gid 0 inside are the user's own IDs outside. That one line each is
// the map an unprivileged process may write itself into its child's
// /proc/PID/uid_map (after "deny" in /proc/PID/setgroups for the gid
// map): a process may map only its own IDs without CAP_SETUID in the
// parent namespace (man 7 user_namespaces, "Defining user and group ID
// mappings"). Inside, root has every capability over what the namespace
// owns (its mount, network, UTS ... namespaces), and nothing over the
// host: the kernel checks the host's uid, the user's, outside.
//
// When /etc/subuid and /etc/subgid delegate a range to the user and the
// setuid helpers newuidmap and newgidmap are installed, IDs 1..N map to
// the first range too (as rootless podman does), and full is true: only
// the helpers may write such maps (namespaces.WriteMapsWithHelpers).
func rootlessMappings() (uids, gids []specs.LinuxIDMapping, full bool) {
	uid, gid := os.Geteuid(), os.Getegid()
	uids = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(uid), Size: 1}}
	gids = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(gid), Size: 1}}
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			return uids, gids, false
		}
	}
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return uids, gids, false // newuidmap refuses a user /etc/passwd does not name
	}
	ur, err1 := idmap.ReadFile("/etc/subuid", u.Username, u.Uid)
	gr, err2 := idmap.ReadFile("/etc/subgid", u.Username, u.Uid)
	if err1 != nil || err2 != nil || len(ur) == 0 || len(gr) == 0 {
		return uids, gids, false
	}
	uids = append(uids, specs.LinuxIDMapping{ContainerID: 1, HostID: ur[0].Start, Size: ur[0].Size})
	gids = append(gids, specs.LinuxIDMapping{ContainerID: 1, HostID: gr[0].Start, Size: gr[0].Size})
	return uids, gids, true
}
