package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/affinity"
	"github.com/minirun/minirun/cgroups/cgjoin"
	"github.com/minirun/minirun/namespaces"
	"github.com/minirun/minirun/network/loopback"
	"github.com/minirun/minirun/rootfs"
	"github.com/minirun/minirun/security"
	"github.com/minirun/minirun/security/seccomp"
	"github.com/minirun/minirun/timerslack"
	"github.com/minirun/minirun/trace"
)

// IsInit tells main() that this process is a container init.
func IsInit() bool { return len(os.Args) > 1 && os.Args[1] == "init" && os.Getenv(initEnv) == "1" }

// Init is the container side of Create and Start. It runs in the
// re-executed child, already inside its new namespaces, on the main OS
// thread (main locks it in an init function), and never returns: it ends
// in execve(2) or in exit.
func Init() {
	CheckStamp()
	reexecMapped()
	// The container's program and hooks get every CPU the cgroup allows,
	// whatever the runtime ran on (as with runc 1.3.1; affinity/doc.go).
	affinity.ReleaseToAll()
	// The runtime's slack, which init's constructor raised (timerslack/doc.go),
	// for the same.
	timerslack.TakeEnv()
	setProcessName("minirun:[init]")
	os.Unsetenv(initEnv)
	trace.StartChild("init")
	sock := os.NewFile(3, "sync")
	var cfg initConfig
	err := readFrame(sock, &cfg)
	initSock, initDec = sock, json.NewDecoder(sock)
	if err != nil {
		fmt.Fprintf(os.Stderr, "minirun init: read config: %v\n", err)
		os.Exit(1)
	}
	err = joinedCgroup(cfg.CgroupJoin)
	path := ""
	if err == nil {
		path, err = setup(&cfg)
	}
	if err != nil {
		_ = json.NewEncoder(sock).Encode(errorMsg(err))
		os.Exit(1)
	}
	if err := json.NewEncoder(sock).Encode(syncMsg{Type: "ready"}); err != nil {
		os.Exit(1)
	}
	sock.Close()

	// The barrier: opening a FIFO for writing blocks until someone opens it
	// for reading. That someone is `start`.
	end := trace.StepFn("container", "wait at the exec FIFO until start", "fifo(7)", func() string { return fmt.Sprintf("open(\"/proc/self/fd/%d\", O_WRONLY)", cfg.FifoFd) })
	fifo, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(cfg.FifoFd), os.O_WRONLY|unix.O_CLOEXEC, 0)
	end(err)
	if err != nil {
		fmt.Fprintf(os.Stderr, "minirun init: open exec fifo: %v\n", err)
		os.Exit(1)
	}
	_, _ = fifo.Write([]byte("0"))
	fifo.Close()
	unix.Close(cfg.FifoFd)

	// startContainer hooks: in the container, paths resolved in its root.
	if h := hooksOf(cfg.Spec); len(h.StartContainer) > 0 {
		if err := runHooks("startContainer", h.StartContainer, hookState(&cfg, Running)); err != nil {
			fmt.Fprintf(os.Stderr, "minirun init: %v\n", err)
			os.Exit(1)
		}
	}

	if err := finalize(cfg.Spec.Process, cfg.Seccomp); err != nil {
		fmt.Fprintf(os.Stderr, "minirun init: %v\n", err)
		os.Exit(1)
	}
	p := cfg.Spec.Process
	traceExec(path, p.Args)
	err = Released(func() error { return unix.Exec(path, p.Args, p.Env) })
	fmt.Fprintf(os.Stderr, "minirun: exec %s: %v\n", p.Args[0], err)
	if err == unix.EACCES || err == unix.ENOEXEC {
		os.Exit(126)
	}
	os.Exit(127)
}

// initSock and initDec are init's end of the sync socket (fd 3), for the
// messages after the config.
var (
	initSock *os.File
	initDec  *json.Decoder
)

// createHooks runs at the end of the mounts, before pivot_root: the
// runtime side runs prestart and createRuntime hooks (init waits for its
// answer), then init runs the createContainer hooks itself, inside the
// container's namespaces, with paths still resolved in the host's root.
func createHooks(cfg *initConfig) error {
	if err := json.NewEncoder(initSock).Encode(syncMsg{Type: "hooks"}); err != nil {
		return err
	}
	var reply syncMsg
	if err := initDec.Decode(&reply); err != nil {
		return fmt.Errorf("wait for the runtime's hooks: %w", err)
	}
	if reply.Type == "error" {
		// The runtime side reports its own error; just stop.
		os.Exit(1)
	}
	return runHooks("createContainer", hooksOf(cfg.Spec).CreateContainer, hookState(cfg, Creating))
}

// hookState is the state JSON init hands its hooks.
func hookState(cfg *initConfig, status specs.ContainerState) specs.State {
	return specs.State{Version: specs.Version, ID: cfg.ID, Status: status, Pid: cfg.Pid, Bundle: cfg.Bundle, Annotations: cfg.Spec.Annotations}
}

// checkMountJoined compares the namespace file nsenter's mntjoin joined
// (its descriptor is in _MINIRUN_SETNS_MNT) with our own mount namespace.
func checkMountJoined() error {
	fd, err := strconv.Atoi(os.Getenv("_MINIRUN_SETNS_MNT"))
	if err != nil {
		return errors.New("no descriptor for it")
	}
	defer unix.Close(fd)
	var want, got unix.Stat_t
	if err := unix.Fstat(fd, &want); err != nil {
		return err
	}
	if err := unix.Stat("/proc/self/ns/mnt", &got); err != nil {
		return err
	}
	if want.Dev != got.Dev || want.Ino != got.Ino {
		return errors.New("init is not in it: joining a mount namespace needs minirun built with cgo (the C constructor in namespaces/nsenter does it before Go starts)")
	}
	return nil
}

// setup does everything that happens before the barrier; it returns the
// resolved path of the program to run.
func setup(cfg *initConfig) (string, error) {
	spec := cfg.Spec
	newNS := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Path != "" && ns.Type == specs.MountNamespace {
			// Joined before Go started (nsenter's mntjoin); make sure.
			if err := checkMountJoined(); err != nil {
				return "", fmt.Errorf("join the mount namespace %s: %w", ns.Path, err)
			}
			continue
		}
		if ns.Path != "" {
			// Joining works per thread for these types; this locked thread
			// is the one that will execve, so the program inherits them.
			if err := namespaces.Join(ns.Path, namespaces.Type(ns.Type)); err != nil {
				return "", err
			}
			continue
		}
		newNS[ns.Type] = true
	}
	if newNS[specs.CgroupNamespace] {
		if err := namespaces.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return "", err
		}
	}
	if newNS[specs.IPCNamespace] && newNS[specs.UserNamespace] {
		// Now that init is root of its user namespace (see cloneConfig).
		if err := namespaces.Unshare(unix.CLONE_NEWIPC); err != nil {
			return "", err
		}
	}
	if newNS[specs.NetworkNamespace] {
		if err := loopback.Up(); err != nil {
			return "", err
		}
	}
	if newNS[specs.UTSNamespace] {
		if spec.Hostname != "" {
			if err := namespaces.SetHostname(spec.Hostname); err != nil {
				return "", err
			}
		}
		if spec.Domainname != "" {
			if err := namespaces.SetDomainname(spec.Domainname); err != nil {
				return "", err
			}
		}
	}
	slave, err := setupRootfs(cfg, newNS[specs.UserNamespace])
	if err != nil {
		return "", err
	}
	if slave != nil {
		if err := useTerminal(slave); err != nil {
			return "", err
		}
	}
	addHome(spec.Process)
	return namespaces.LookPath(spec.Process.Args[0], spec.Process.Env)
}

// setupRootfs builds the container's filesystem and pivots into it. It
// returns the pty slave when the process wants a terminal.
func setupRootfs(cfg *initConfig, userns bool) (*os.File, error) {
	spec, root := cfg.Spec, cfg.Rootfs
	var prop uintptr
	if spec.Linux.RootfsPropagation != "" {
		prop, _ = rootfs.PropagationFlag(spec.Linux.RootfsPropagation)
	}
	// No mount namespace in the spec: init shares the caller's, so the
	// caller's "/" must not be re-propagated nor pivoted away (that would
	// swap the root of every process there): chroot, as runc does.
	// Validate refuses what would need one (read-only or masked paths).
	mountNS := hasNamespace(spec, specs.MountNamespace)
	if mountNS {
		if err := rootfs.PrepareRoot(root, prop); err != nil {
			return nil, err
		}
		if err := mountRootlessOverlay(spec, root); err != nil {
			return nil, err
		}
	}
	devTmpfs := false
	for _, m := range spec.Mounts {
		if err := rootfs.Mount(root, m); err != nil {
			return nil, fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
		}
		if filepath.Clean(m.Destination) == "/dev" && m.Type == "tmpfs" {
			devTmpfs = true
		}
	}
	if devTmpfs {
		if err := rootfs.CreateDevices(root, spec.Linux.Devices, userns); err != nil {
			return nil, err
		}
		if err := rootfs.DevSymlinks(root); err != nil {
			return nil, err
		}
	}
	var slave *os.File
	if cfg.ConsoleFd >= 0 {
		master, s, err := rootfs.OpenConsole(root)
		if err != nil {
			return nil, err
		}
		err = SendFd(os.NewFile(uintptr(cfg.ConsoleFd), "console-socket"), "pty-master", int(master.Fd()))
		master.Close()
		unix.Close(cfg.ConsoleFd)
		if err != nil {
			return nil, err
		}
		slave = s
	}
	if _, err := rootfs.MkdirInRoot(root, spec.Process.Cwd, 0o755); err != nil {
		return nil, err
	}
	if cfg.Hooks {
		if err := createHooks(cfg); err != nil {
			return nil, err
		}
	}
	if !mountNS {
		if err := rootfs.Chroot(root); err != nil {
			return nil, err
		}
	} else if cfg.NoPivot {
		if err := rootfs.MoveRoot(root); err != nil {
			return nil, err
		}
	} else if err := rootfs.PivotRoot(root); err != nil {
		return nil, err
	}
	if mountNS {
		if err := rootfs.ApplyRootPropagation(prop); err != nil {
			return nil, err
		}
	}
	// Sysctls before the read-only and masked paths, as runc: /proc/sys
	// is read-only from then on (Docker sets ip_unprivileged_port_start).
	for k, v := range spec.Linux.Sysctl {
		if err := writeSysctl(k, v); err != nil {
			return nil, err
		}
	}
	if err := rootfs.ReadonlyPaths(spec.Linux.ReadonlyPaths); err != nil {
		return nil, err
	}
	if err := rootfs.MaskPaths(spec.Linux.MaskedPaths); err != nil {
		return nil, err
	}
	if spec.Root.Readonly {
		if err := rootfs.RemountRootReadonly(); err != nil {
			return nil, err
		}
	}
	return slave, nil
}

// hasNamespace tells whether the spec lists a namespace of type t.
func hasNamespace(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

// useTerminal makes the pty slave the controlling terminal and stdio.
func useTerminal(slave *os.File) error {
	fd := int(slave.Fd())
	if err := unix.IoctlSetInt(fd, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("ioctl(TIOCSCTTY) on the container's pty: %w", err)
	}
	for i := 0; i < 3; i++ {
		if err := unix.Dup3(fd, i, 0); err != nil {
			return fmt.Errorf("dup3(pty, %d): %w", i, err)
		}
	}
	return slave.Close()
}

// writeSysctl sets one namespaced kernel parameter: net.ipv4.ip_forward
// is /proc/sys/net/ipv4/ip_forward (man 8 sysctl).
func writeSysctl(key, value string) error {
	if key == "" || strings.Contains(key, "..") {
		return fmt.Errorf("sysctl %q: invalid name", key)
	}
	p := filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
	if err := os.WriteFile(p, []byte(value), 0); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// addHome sets HOME from the container's /etc/passwd when the
// environment lacks it, as runc does.
func addHome(p *specs.Process) {
	for _, kv := range p.Env {
		if strings.HasPrefix(kv, "HOME=") {
			return
		}
	}
	home := "/"
	if f, err := os.Open("/etc/passwd"); err == nil {
		users, _ := security.ParsePasswd(f)
		f.Close()
		for _, u := range users {
			if u.UID == p.User.UID && u.Home != "" {
				home = u.Home
				break
			}
		}
	}
	p.Env = append(p.Env, "HOME="+home)
}

// finalize runs right before execve: limits, user, capabilities,
// no_new_privs, the seccomp filter, working directory, and no stray
// descriptors. The container's init and every `exec` into it (ExecInit)
// go through it. filter is the container's linux.seccomp, compiled by the
// runtime side (nil: none).
func finalize(p *specs.Process, filter *seccomp.Filter) error {
	for _, rl := range p.Rlimits {
		if err := security.SetRlimit(rl.Type, rl.Soft, rl.Hard); err != nil {
			return err
		}
	}
	if p.OOMScoreAdj != nil {
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*p.OOMScoreAdj)), 0); err != nil {
			return fmt.Errorf("write oom_score_adj: %w", err)
		}
	}
	var caps *security.Caps
	if c := p.Capabilities; c != nil {
		caps = &security.Caps{}
		caps.Bounding, _ = security.CapSetOf(c.Bounding)
		caps.Effective, _ = security.CapSetOf(c.Effective)
		caps.Permitted, _ = security.CapSetOf(c.Permitted)
		caps.Inheritable, _ = security.CapSetOf(c.Inheritable)
		caps.Ambient, _ = security.CapSetOf(c.Ambient)
		if err := security.DropBounding(caps.Bounding); err != nil {
			return err
		}
		if err := security.KeepCaps(true); err != nil {
			return err
		}
	}
	// Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: now,
	// before the user switch and capset drop it (runc's order). With it,
	// as late as possible, so the filter sees few of minirun's own calls.
	if filter != nil && !p.NoNewPrivileges {
		if err := filter.Install(); err != nil {
			return err
		}
	}
	if err := security.SwitchUser(p.User.UID, p.User.GID, p.User.AdditionalGids); err != nil {
		return err
	}
	if caps != nil {
		if err := security.KeepCaps(false); err != nil {
			return err
		}
		if err := security.ApplyCaps(*caps); err != nil {
			return err
		}
	}
	umask := 0o022
	if p.User.Umask != nil {
		umask = int(*p.User.Umask)
	}
	unix.Umask(umask)
	if err := unix.Chdir(p.Cwd); err != nil {
		return fmt.Errorf("chdir to cwd (%q) set in config.json: %w", p.Cwd, err)
	}
	// The cwd must be inside the container's root. A cwd through
	// /proc/self/fd/N names a descriptor of this process, and until the
	// execve below some are the host's (the Go runtime keeps the host's
	// cgroup files open): a directory of the host as cwd would survive
	// execve (CVE-2024-21626). getcwd(2) calls a directory outside the root
	// "(unreachable)", which unix.Getwd turns into ENOENT.
	if wd, err := unix.Getwd(); err != nil || !filepath.IsAbs(wd) {
		return fmt.Errorf("cwd (%q) set in config.json is outside the container's root", p.Cwd)
	}
	if p.NoNewPrivileges {
		if err := security.SetNoNewPrivs(); err != nil {
			return err
		}
		if filter != nil {
			if err := filter.Install(); err != nil {
				return err
			}
		}
	}
	return closeExtraFds()
}

// closeExtraFds marks every descriptor above 2 close-on-exec, so nothing of
// minirun's leaks into the container (CVE-2016-9962, CVE-2024-21626).
func closeExtraFds() error {
	err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	ents, rerr := os.ReadDir("/proc/self/fd")
	if rerr != nil {
		return errors.Join(err, rerr)
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}

// joinedCgroup reports what init's C constructor did before the Go runtime
// started (cgroups/cgjoin): it moved this process, then one thread, into
// its cgroup by writing "0" to each tasks file the runtime opened.
func joinedCgroup(paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	err := cgjoin.Err(len(paths))
	for _, p := range paths {
		trace.Note("cgroups", "move itself into the cgroup, one thread before Go started", fmt.Sprintf("write(fd of %s, \"0\")", p), "cgroups(7)")
	}
	if err != nil {
		return fmt.Errorf("move init into its cgroup (%s): %w", strings.Join(paths, ", "), err)
	}
	return nil
}

// setProcessName names this process (its main thread, which the main
// goroutine is locked to) for ps, top and /proc/PID/comm until its execve
// gives it the container program's name. Without it the name would be the
// last element of the path this binary was executed by: "exe" for
// /proc/self/exe, or the descriptor number for the sealed copy
// (/proc/self/fd/N, exeseal.go). runc's init calls itself "runc:[2:INIT]".
// prctl(2) PR_SET_NAME; at most 15 bytes are kept.
func setProcessName(name string) {
	b := append([]byte(name), 0)
	_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&b[0])), 0, 0, 0)
}
