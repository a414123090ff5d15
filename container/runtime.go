package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/atomicfile"
	"github.com/minirun/minirun/cgroups"
	"github.com/minirun/minirun/cgroups/cgjoin"
	"github.com/minirun/minirun/namespaces"
	"github.com/minirun/minirun/quickjson"
	"github.com/minirun/minirun/rootfs"
	"github.com/minirun/minirun/security/seccomp"
	"github.com/minirun/minirun/timerslack"
	"github.com/minirun/minirun/trace"
)

const execFifo = "exec.fifo"

// Runtime is a state root: one directory per container below it.
type Runtime struct {
	Root string // e.g. /run/minirun (runc's --root)
}

// CreateOpts are the choices a caller of Create makes beyond config.json.
type CreateOpts struct {
	// Stdin, Stdout, Stderr become the container's fds 0-2 when it has no
	// terminal (nil: /dev/null).
	Stdin, Stdout, Stderr *os.File
	// ConsoleSocket receives the pty master when process.terminal is true
	// (an AF_UNIX socket, see SendFd).
	ConsoleSocket *os.File
	// PidFile gets init's PID, with no trailing newline.
	PidFile string
	// NoPivot moves the root instead of pivot_root (initramfs hosts).
	NoPivot bool
	// DieWithParent kills init (PR_SET_PDEATHSIG) when the thread that
	// created it exits: for a foreground `run`, whose container must not
	// outlive it. The caller must keep that OS thread alive (LockOSThread).
	DieWithParent bool
	// AfterClone, if set, runs in a goroutine of its own as soon as init
	// exists, with init's PID: its namespaces exist then, and the engine
	// puts the container on its networks while init builds its root
	// filesystem (and, on cgroup v1, while the kernel moves it into its
	// cgroup), instead of after. Create waits for it, and fails with its
	// error; the caller undoes what it did.
	AfterClone func(pid int) error
}

// Container is one container of a Runtime.
type Container struct {
	ID    string
	dir   string
	state State
	spec  *specs.Spec
	cmd   *exec.Cmd // only in the process that created it
}

// LoadSpec reads and checks bundle/config.json.
func LoadSpec(bundle string) (*specs.Spec, error) {
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("read the bundle's config: %w", err)
	}
	// quickjson skips encoding/json's per-type set-up, ~0.2 ms of each
	// create; whatever it does not decode as encoding/json would, it
	// hands over, and encoding/json decides (and words the error).
	var s specs.Spec
	if quickjson.Unmarshal(b, &s) != nil {
		s = specs.Spec{}
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("parse %s: %w", filepath.Join(bundle, "config.json"), err)
		}
	}
	return &s, nil
}

// Create starts the container's init inside its namespaces and returns
// once init waits at the exec FIFO: namespaces exist, the root filesystem is
// in place, the user's program has not run.
func (r *Runtime) Create(id, bundle string, opts CreateOpts) (*Container, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	bundle, err := filepath.Abs(bundle)
	if err != nil {
		return nil, err
	}
	spec, err := LoadSpec(bundle)
	if err != nil {
		return nil, err
	}
	filter, err := validate(spec)
	if err != nil {
		return nil, err
	}
	rootfs := spec.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(bundle, rootfs)
	}
	if fi, err := os.Stat(rootfs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("root filesystem %s: not a directory (%v)", rootfs, err)
	}
	if err := os.MkdirAll(r.Root, 0o711); err != nil {
		return nil, fmt.Errorf("create state root %s: %w", r.Root, err)
	}
	// The directory may already exist: `minirun run` keeps the bundle in
	// it. state.json, created exclusively, is what marks the ID as taken.
	dir := r.dir(id)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	c := &Container{ID: id, dir: dir, spec: spec}
	h := hooksOf(spec)
	later := len(h.Poststart) > 0 || len(h.Poststop) > 0
	c.state = State{
		State:      specs.State{Version: specs.Version, ID: id, Status: Creating, Bundle: bundle, Annotations: spec.Annotations},
		Rootfs:     rootfs,
		Created:    time.Now().UTC(),
		Owner:      "",
		LaterHooks: &later,
	}
	first, err := marshal(&c.state)
	if err != nil {
		return nil, err
	}
	// Written straight into the new file: state.json, created exclusively,
	// is what marks the ID as taken.
	if err := atomicfile.Create(filepath.Join(dir, "state.json"), first, 0o600); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container with id %q already exists", id)
		}
		c.destroy()
		return nil, fmt.Errorf("create state file: %w", err)
	}
	if err := c.start(spec, filter, rootfs, opts); err != nil {
		c.destroy()
		return nil, err
	}
	return c, nil
}

// start launches init and runs the creation handshake with it. filter is
// spec's linux.seccomp compiled (nil without one).
func (c *Container) start(spec *specs.Spec, filter *seccomp.Filter, rootfs string, opts CreateOpts) error {
	fifo := filepath.Join(c.dir, execFifo)
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		return fmt.Errorf("mkfifo %s: %w", fifo, err)
	}
	// init reopens the FIFO through this O_PATH descriptor after
	// pivot_root, when the state directory is out of its sight.
	fifoFd, err := unix.Open(fifo, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", fifo, err)
	}
	fifoFile := os.NewFile(uintptr(fifoFd), fifo)
	defer fifoFile.Close()
	// In a user namespace init is the namespace's root, an ordinary uid on
	// the host: the FIFO must be its to open.
	if uid, gid, ok := hostRoot(spec); ok {
		if err := os.Lchown(fifo, uid, gid); err != nil {
			return fmt.Errorf("chown %s: %w", fifo, err)
		}
	}

	parentSock, childSock, err := socketPair()
	if err != nil {
		return err
	}
	defer parentSock.Close()

	cloneFlags, uidMaps, gidMaps, err := cloneConfig(spec)
	if err != nil {
		childSock.Close()
		return err
	}
	if rootless() && cloneFlags != 0 && cloneFlags&unix.CLONE_NEWUSER == 0 {
		childSock.Close()
		return fmt.Errorf("an ordinary user can create namespaces (%s) only together with a new user namespace: add {\"type\": \"user\"} to linux.namespaces with uidMappings and gidMappings of your own IDs (minirun spec --rootless writes such a config.json; docs/ROOTLESS.md)", namespaces.FlagNames(cloneFlags))
	}
	prog, progEnv := initProgram()
	cmd := &exec.Cmd{
		Path:   prog,
		Args:   []string{"minirun", "init"},
		Env:    helperEnv(initEnv+"=1", progEnv),
		Stdin:  opts.Stdin,
		Stdout: opts.Stdout,
		Stderr: opts.Stderr,
		// fd 3: the sync socket, fd 4: the exec FIFO, fd 5: console socket.
		ExtraFiles: []*os.File{childSock, fifoFile},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:  cloneFlags,
			Setsid:      true,
			UidMappings: uidMaps,
			GidMappings: gidMaps,
		},
	}
	if cloneFlags&unix.CLONE_NEWUSER != 0 {
		// init starts as our uid (host root), which the new namespace does
		// not map: it must become the namespace's root (uid 0 inside, the
		// mapped host ID outside) before execve, or exec would drop every
		// capability it has in the namespace.
		cmd.SysProcAttr.GidMappingsEnableSetgroups = true
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 0, Gid: 0}
		if rootless() && needsMapHelpers(spec) {
			// More than the user's own ID: newuidmap/newgidmap write the
			// maps once init exists; init waits, then executes itself
			// again as the namespace's root (reexecMapped).
			cmd.SysProcAttr.UidMappings, cmd.SysProcAttr.GidMappings, cmd.SysProcAttr.Credential = nil, nil, nil
			cmd.Env = append(cmd.Env, reexecEnv+"=1")
		} else if rootless() {
			// An ordinary user may write a one-line map of its own IDs only
			// after denying setgroups(2) in the namespace (man 7
			// user_namespaces, "The /proc/[pid]/setgroups file").
			cmd.SysProcAttr.GidMappingsEnableSetgroups = false
			cmd.SysProcAttr.Credential.NoSetGroups = true
		}
	}
	if opts.DieWithParent {
		cmd.SysProcAttr.Pdeathsig = unix.SIGKILL
	}
	h := hooksOf(spec)
	// Init gets the seccomp filter compiled, not the profile: it neither
	// decodes nor compiles the profile (~100 KB of JSON) again.
	initSpec := spec
	if filter != nil {
		linux := *spec.Linux
		linux.Seccomp = nil
		copied := *spec
		copied.Linux = &linux
		initSpec = &copied
	}
	cfg := initConfig{Spec: initSpec, Seccomp: filter, Rootfs: rootfs, NoPivot: opts.NoPivot, FifoFd: 4, ConsoleFd: -1,
		Hooks: len(h.Prestart)+len(h.CreateRuntime)+len(h.CreateContainer) > 0, ID: c.ID, Bundle: c.state.Bundle}
	if spec.Process.Terminal {
		if opts.ConsoleSocket == nil {
			childSock.Close()
			return errors.New("process.terminal is true but no console socket was given (use --console-socket)")
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, opts.ConsoleSocket)
		cfg.ConsoleFd = 5
	}
	// An existing mount namespace is joined by the C constructor of
	// namespaces/nsenter in init, before Go starts threads (mntjoin).
	if p := nsPath(spec, specs.MountNamespace); p != "" {
		f, err := os.Open(p)
		if err != nil {
			childSock.Close()
			return fmt.Errorf("open the mount namespace %s: %w", p, err)
		}
		defer f.Close()
		cmd.Env = append(cmd.Env, "_MINIRUN_SETNS_MNT="+strconv.Itoa(3+len(cmd.ExtraFiles)))
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	}
	// With --trace, init writes its steps into one more pipe (trace/doc.go).
	tw, err := trace.ToChild(cmd)
	if err != nil {
		childSock.Close()
		return err
	}
	defer tw.Close()
	cs, err := c.cgroupBeforeClone(spec)
	if err != nil {
		childSock.Close()
		return c.initFailed(err)
	}
	defer cs.close()
	if cs.into != nil {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(cs.into.Fd())
	}
	if len(cs.join) > 0 {
		passCgroupJoin(cmd, cs.join)
		cfg.CgroupJoin = cs.paths
	}
	cgFile := cs.into
	end := trace.StepFn("container", "start init in new namespaces", "clone(2), namespaces(7)", func() string {
		if cgFile != nil {
			return fmt.Sprintf("clone3(%s|CLONE_INTO_CGROUP, cgroup=%s) + execve(\"/proc/self/exe\", [\"minirun\", \"init\"])", namespaces.FlagNames(cloneFlags), c.state.Cgroup.Path)
		}
		return fmt.Sprintf("clone(%s|SIGCHLD) + execve(\"/proc/self/exe\", [\"minirun\", \"init\"])", namespaces.FlagNames(cloneFlags))
	})
	if p := pidNamespacePath(spec); p != "" {
		err = startInitInPIDNamespace(cmd, spec, p)
	} else {
		err = startInit(cmd, spec)
	}
	end(err)
	childSock.Close()
	if tw != nil {
		tw.Close() // init has its copy: the pipe ends when init execs or exits
	}
	if err != nil {
		err = fmt.Errorf("start container init (clone %s): %w", namespaces.FlagNames(cloneFlags), err)
		if cs.moved() {
			return c.initFailed(err) // the cgroup made before the clone
		}
		return err
	}
	c.cmd = cmd
	c.state.Pid = cmd.Process.Pid
	if start, _, err := procStartTime(c.state.Pid); err == nil {
		c.state.InitStartTime = start
	}
	if cmd.SysProcAttr.Cloneflags&unix.CLONE_NEWUSER != 0 && rootless() && needsMapHelpers(spec) {
		if err := namespaces.WriteMapsWithHelpers(c.state.Pid, spec.Linux.UIDMappings, spec.Linux.GIDMappings); err != nil {
			return c.initFailed(err)
		}
		if _, err := parentSock.Write([]byte{mappedByte}); err != nil {
			return c.initFailed(fmt.Errorf("tell init its maps are written: %w", err))
		}
	}
	afterClone := func() error { return nil }
	if opts.AfterClone != nil {
		// init's PID on record first: other minirun processes tell a live
		// container from a dead one by it (the engine's network table
		// drops the dead), and this one is alive from now on.
		if err := c.save(); err != nil {
			return c.initFailed(err)
		}
		done := make(chan error, 1)
		go func(pid int) { done <- opts.AfterClone(pid) }(c.state.Pid)
		var aerr error
		waited := false
		afterClone = func() error {
			if !waited {
				aerr, waited = <-done, true
			}
			return aerr
		}
		// A create that fails returns only once AfterClone is done, so that
		// the caller's undo does not race it.
		defer afterClone()
	}

	// Place init in its cgroup, with the limits already written, before it
	// reads its configuration: init unshares its cgroup namespace only
	// then, so the namespace's root is the container's cgroup, and no
	// instruction of the user's program runs outside the limits.
	if !cs.moved() {
		if err := c.setupCgroup(spec, cs.mgr); err != nil {
			return c.initFailed(err)
		}
	}
	// process.oomScoreAdj now, as runc does, so that a value this host
	// refuses (lowering it needs CAP_SYS_RESOURCE) fails `create` with the
	// reason instead of killing init silently after `start`: containerd's
	// CRI asks -998 for a pod's sandbox. Init writes it again (the same
	// value passes then), as every exec'd process does.
	if adj := spec.Process.OOMScoreAdj; adj != nil {
		path := fmt.Sprintf("/proc/%d/oom_score_adj", c.state.Pid)
		if err := os.WriteFile(path, []byte(strconv.Itoa(*adj)), 0); err != nil {
			return c.initFailed(fmt.Errorf("set process.oomScoreAdj %d: %w", *adj, err))
		}
	}
	cfg.Pid = c.state.Pid
	trace.Note("container", "send init its configuration", "write(sync socket, config frame)", "unix(7)")
	if err := writeFrame(parentSock, &cfg); err != nil {
		return c.initFailed(fmt.Errorf("send config to init: %w", err))
	}
	dec := json.NewDecoder(parentSock)
	var msg syncMsg
	for {
		msg = syncMsg{}
		if err := dec.Decode(&msg); err != nil {
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				err = errors.New("container init exited during setup")
			}
			return c.initFailed(err)
		}
		if msg.Type != "hooks" {
			break
		}
		// Init's namespaces and mounts exist, it has not pivoted yet:
		// the runtime-side create hooks run now, init waits.
		h := hooksOf(spec)
		trace.Note("container", "init asks for the runtime's hooks", "read(sync socket) = \"hooks\"", "")
		st := c.ociState(Creating)
		err := runHooks("prestart", h.Prestart, st)
		if err == nil {
			err = runHooks("createRuntime", h.CreateRuntime, st)
		}
		reply := syncMsg{Type: "hooks-done"}
		if err != nil {
			reply = syncMsg{Type: "error", Error: err.Error()}
		}
		if serr := json.NewEncoder(parentSock).Encode(reply); serr != nil && err == nil {
			err = serr
		}
		if err != nil {
			return c.initFailed(err)
		}
	}
	if msg.Type == "error" {
		return c.initFailed(msg.err())
	}
	trace.Note("container", "init is ready, waits at the exec FIFO", "read(sync socket) = \"ready\"", "fifo(7)")
	if err := afterClone(); err != nil {
		return c.initFailed(err)
	}
	c.state.Status = Created
	if err := c.save(); err != nil {
		return c.initFailed(err)
	}
	if opts.PidFile != "" {
		if err := writePidFile(opts.PidFile, c.state.Pid); err != nil {
			return c.initFailed(err)
		}
	}
	return nil
}

// startInit starts init. With a new time namespace it first unshares
// CLONE_NEWTIME and writes the clock offsets: unshare(CLONE_NEWTIME) puts
// only the caller's *children* in the new namespace (clone(2) cannot create
// one), and the offsets can only be written while no process is inside
// yet. The offsets file, /proc/self/timens_offsets, belongs to the main
// thread, so this must run on it: minirun's main() keeps the main
// goroutine there. (man 7 time_namespaces)
func startInit(cmd *exec.Cmd, spec *specs.Spec) error {
	defer sealExe(cmd)()
	newTime := false
	for _, ns := range spec.Linux.Namespaces {
		newTime = newTime || (ns.Type == specs.TimeNamespace && ns.Path == "")
	}
	// Cloned from a thread with the caller's timer slack, init has that
	// as its default, as the container's program will; its constructor
	// raises its own (timerslack/doc.go).
	start := func() error { return timerslack.Released(cmd.Start) }
	if !newTime {
		return start()
	}
	if unix.Gettid() != unix.Getpid() {
		return errors.New("a time namespace must be created from the main thread (call Create from the main goroutine locked with runtime.LockOSThread in init)")
	}
	if err := namespaces.UnshareTime(spec.Linux.TimeOffsets); err != nil {
		return err
	}
	err := start()
	if errors.Is(err, unix.EINVAL) {
		var u unix.Utsname
		_ = unix.Uname(&u)
		return fmt.Errorf("this kernel (%s) refuses a new time namespace here: Go starts processes with clone(CLONE_VM|CLONE_VFORK), "+
			"which older kernels reject into a new time namespace (Linux 6.18 accepts it); drop the time namespace from config.json or use a newer kernel: %w",
			unix.ByteSliceToString(u.Release[:]), err)
	}
	return err
}

// initFailed kills and reaps a half-created init, removes its cgroup, and
// returns err.
func (c *Container) initFailed(err error) error {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
	}
	if cerr := c.destroyCgroup(); cerr != nil {
		return errors.Join(err, cerr)
	}
	return err
}

// DefaultCgroupParent is where containers go when config.json gives no
// linux.cgroupsPath: /minirun/<id> below the root of the hierarchy.
const DefaultCgroupParent = "/minirun"

// setupCgroup creates the container's cgroup, writes its limits and moves
// init into it. The cgroup's location is saved at once, so that Delete
// finds it even if a later step fails.
func (c *Container) setupCgroup(spec *specs.Spec, mgr cgroups.Manager) error {
	mgr, err := c.createCgroup(spec, mgr)
	if err != nil || mgr == nil {
		return err
	}
	return mgr.Apply(c.state.Pid)
}

// newCgroup is the manager of the cgroup linux.cgroupsPath names
// (/minirun/<id> without one), not yet created.
func (c *Container) newCgroup(spec *specs.Spec) (cgroups.Manager, error) {
	path := spec.Linux.CgroupsPath
	if path == "" {
		path = DefaultCgroupParent + "/" + c.ID
	}
	return cgroups.New(path)
}

// createCgroup creates the container's cgroup and writes its limits; nil
// without an error for a rootless container that gets no cgroup.
func (c *Container) createCgroup(spec *specs.Spec, mgr cgroups.Manager) (cgroups.Manager, error) {
	var err error
	if rootless() && !CgroupDelegated() {
		// The cgroup tree is root's: an ordinary user's container runs
		// without a cgroup (the engine warned already if limits were asked).
		if r := spec.Linux.Resources; r != nil && (r.Memory != nil || r.CPU != nil || r.Pids != nil || r.BlockIO != nil || len(r.HugepageLimits) > 0 || len(r.Unified) > 0) {
			return nil, errors.New("linux.resources asks for cgroup limits, but this ordinary user has no cgroup to write them to (rootless mode without cgroup v2 delegation): drop them, or see docs/ROOTLESS.md")
		}
		noticeOnce(filepath.Dir(c.dir), noCgroupNotice)
		return nil, nil
	}
	// Under the root's lock: a parent cgroup shared with other containers
	// must not be removed by their teardown between its mkdir and ours.
	c.withParents(func(list []string) []string {
		err = mgr.Create()
		return append(list, parentsOf(mgr.Config().Created)...)
	})
	cfg := mgr.Config()
	c.state.Cgroup = &cfg
	if serr := c.save(); serr != nil && err == nil {
		err = serr
	}
	if err == nil {
		err = mgr.Set(withImplicitDevices(spec))
	}
	return mgr, err
}

// cgroupStart is how init gets into its cgroup without the runtime
// moving it there, which waits for an RCU grace period (see
// cgroups.CloneInto and cgroups/cgjoin).
type cgroupStart struct {
	mgr cgroups.Manager
	// into (cgroup v2): the cgroup's directory, for clone3's
	// CLONE_INTO_CGROUP: init is born in it.
	into *os.File
	// join (cgroup v1): the tasks file of each hierarchy, opened here and
	// written "0" by init's C constructor while it is one thread; paths
	// are their names, for init's trace and errors.
	join  []*os.File
	paths []string
}

// moved tells whether init gets into its cgroup without Apply.
func (cs *cgroupStart) moved() bool { return cs.into != nil || len(cs.join) > 0 }

func (cs *cgroupStart) close() {
	if cs.into != nil {
		cs.into.Close()
	}
	for _, f := range cs.join {
		f.Close()
	}
}

// cgroupBeforeClone makes the container's cgroup and writes its limits
// before init exists, and opens it for init to be born in (v2) or to move
// itself into (v1). Neither for rootless containers (no cgroup, or one
// init is moved into) and for inits started another way (joining a PID
// namespace; on v2 a new time namespace): cs.mgr is then the cgroup, not
// yet made, that setupCgroup makes and moves init into after the clone.
func (c *Container) cgroupBeforeClone(spec *specs.Spec) (*cgroupStart, error) {
	mgr, err := c.newCgroup(spec)
	if err != nil {
		return nil, err
	}
	cs := &cgroupStart{mgr: mgr}
	if rootless() || pidNamespacePath(spec) != "" {
		return cs, nil
	}
	if mgr.Config().Mode == cgroups.Unified {
		for _, ns := range spec.Linux.Namespaces {
			if ns.Type == specs.TimeNamespace && ns.Path == "" {
				return cs, nil
			}
		}
	} else if !cgjoin.Enabled {
		return cs, nil
	}
	if _, err := c.createCgroup(spec, mgr); err != nil {
		return nil, err
	}
	if mgr.Config().Mode == cgroups.Unified {
		cs.into, _, err = cgroups.CloneInto(mgr)
	} else {
		cs.join, cs.paths, _, err = cgroups.SelfJoinFiles(mgr)
	}
	if err != nil {
		return nil, err // the caller destroys the cgroup (initFailed)
	}
	return cs, nil
}

// withImplicitDevices returns the spec's resources with allow rules
// appended for the devices every container gets (null, zero, full, random,
// urandom, tty, the pty multiplexer and the pty slaves) and for each
// device of linux.devices, as runc does: the runtime creates those nodes
// (mknod needs "m") and the program must be able to use them. Rules apply
// in order and the last match wins, so these come last. A spec with no
// device rules at all gets exactly these: deny by default.
func withImplicitDevices(spec *specs.Spec) *specs.LinuxResources {
	var r specs.LinuxResources
	if spec.Linux.Resources != nil {
		r = *spec.Linux.Resources
	}
	r.Devices = append([]specs.LinuxDeviceCgroup(nil), r.Devices...)
	allow := func(typ string, major, minor *int64) {
		r.Devices = append(r.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: major, Minor: minor, Access: "rwm"})
	}
	num := func(n int64) *int64 { return &n }
	for _, d := range append(append([]specs.LinuxDevice{}, rootfs.DefaultDevices...), spec.Linux.Devices...) {
		typ := d.Type
		if typ == "u" {
			typ = "c"
		}
		if typ == "p" {
			continue // a FIFO is no device for the device cgroup
		}
		allow(typ, num(d.Major), num(d.Minor))
	}
	allow("c", num(5), num(2)) // /dev/ptmx
	allow("c", num(136), nil)  // /dev/pts/*
	return &r
}

// cgroup returns the manager of the container's cgroup, or nil.
func (c *Container) cgroup() cgroups.Manager {
	if c.state.Cgroup == nil {
		return nil
	}
	m, err := cgroups.Load(*c.state.Cgroup)
	if err != nil {
		return nil
	}
	return m
}

// destroyCgroup kills whatever is left in the cgroup and removes it.
func (c *Container) destroyCgroup() error {
	m := c.cgroup()
	if m == nil {
		return nil
	}
	var err error
	c.withParents(func(list []string) []string {
		err = m.Destroy()
		return sweepParents(list)
	})
	if err != nil {
		return err
	}
	c.state.Cgroup = nil
	return nil
}

// OOMKilled tells whether the kernel's OOM killer killed a process of the
// container (read it before Delete).
func (c *Container) OOMKilled() bool {
	m := c.cgroup()
	if m == nil {
		return false
	}
	n, err := m.OOMKills()
	return err == nil && n > 0
}

// Stats reads the container's cgroup counters.
func (c *Container) Stats() (*cgroups.Stats, error) {
	m := c.cgroup()
	if m == nil {
		return nil, fmt.Errorf("container %s has no cgroup", c.ID)
	}
	return m.Stats()
}

// SignalAll sends sig to every process of the container (kill --all).
func (c *Container) SignalAll(sig unix.Signal) error {
	m := c.cgroup()
	if m == nil {
		if pids := c.pidNamespaceMembers(); len(pids) > 0 {
			for _, p := range pids {
				_ = unix.Kill(p, sig)
			}
			return nil
		}
		return c.Signal(sig)
	}
	pids, err := m.Pids()
	if err != nil {
		return err
	}
	for _, p := range pids {
		_ = unix.Kill(p, sig)
	}
	c.thawAfterKill(sig)
	return nil
}

func writePidFile(path string, pid int) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	return os.Rename(tmp, path)
}

// cloneConfig turns the spec's namespaces into clone flags for the new
// ones. The cgroup and time namespaces are left out on purpose: init
// unshares the cgroup one itself, after it is placed in its cgroup, and
// startInit makes the time one (clone(2) cannot create it).
func cloneConfig(spec *specs.Spec) (uintptr, []syscall.SysProcIDMap, []syscall.SysProcIDMap, error) {
	var f uintptr
	for _, ns := range spec.Linux.Namespaces {
		if ns.Path != "" || ns.Type == specs.CgroupNamespace || ns.Type == specs.TimeNamespace {
			continue
		}
		flag, err := namespaces.CloneFlag(namespaces.Type(ns.Type))
		if err != nil {
			return 0, nil, nil, err
		}
		f |= flag
	}
	var um, gm []syscall.SysProcIDMap
	if f&unix.CLONE_NEWUSER != 0 {
		// The IPC namespace comes later, from init (unshareLate): made
		// in the same clone it would be made by host root, whom the new
		// user namespace does not map, and its mqueue filesystem would
		// belong to nobody (65534) instead of the container's root.
		f &^= unix.CLONE_NEWIPC
		for _, m := range spec.Linux.UIDMappings {
			um = append(um, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
		}
		for _, m := range spec.Linux.GIDMappings {
			gm = append(gm, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
		}
	}
	return f, um, gm, nil
}

// nsPath is the path of the namespace of type t the spec joins ("" if it
// makes a new one or has none).
func nsPath(spec *specs.Spec, t specs.LinuxNamespaceType) string {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t {
			return ns.Path
		}
	}
	return ""
}

// hostRoot returns the host IDs that uid and gid 0 of a new user
// namespace map to.
func hostRoot(spec *specs.Spec) (uid, gid int, ok bool) {
	userns := false
	for _, ns := range spec.Linux.Namespaces {
		userns = userns || (ns.Type == specs.UserNamespace && ns.Path == "")
	}
	if !userns {
		return 0, 0, false
	}
	find := func(ms []specs.LinuxIDMapping) (int, bool) {
		for _, m := range ms {
			if m.ContainerID == 0 && m.Size > 0 {
				return int(m.HostID), true
			}
		}
		return 0, false
	}
	uid, okU := find(spec.Linux.UIDMappings)
	gid, okG := find(spec.Linux.GIDMappings)
	return uid, gid, okU && okG
}

// Load finds an existing container by ID.
func (r *Runtime) Load(id string) (*Container, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	dir := r.dir(id)
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("container %q: %w", id, ErrNotExist)
		}
		return nil, err
	}
	c := &Container{ID: id, dir: dir}
	if err := json.Unmarshal(b, &c.state); err != nil {
		return nil, fmt.Errorf("container %q: corrupt state file: %w", id, err)
	}
	c.refresh()
	return c, nil
}

// List returns every container of the runtime, sorted by creation time.
func (r *Runtime) List() ([]*Container, error) {
	ents, err := os.ReadDir(r.Root)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []*Container
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		if c, err := r.Load(e.Name()); err == nil {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].state.Created.Before(out[j].state.Created) })
	return out, nil
}

// State returns the container's OCI state with a fresh status.
func (c *Container) State() State {
	c.refresh()
	s := c.state
	if s.Status == Stopped {
		s.Pid = 0
	}
	return s
}

// Pid is init's PID on the host (0 once stopped).
func (c *Container) Pid() int { return c.State().Pid }

// Start lets a created container's init run the user's program: opening
// the FIFO for reading releases init, which blocked opening it for writing.
func (c *Container) Start() error {
	unlock, err := lockDir(c.dir)
	if err != nil {
		return err
	}
	defer unlock()
	c.refresh()
	if c.state.Status != Created {
		return fmt.Errorf("cannot start a container that is %s (only a created one)", c.state.Status)
	}
	fifo := filepath.Join(c.dir, execFifo)
	// A note before the call: init's last steps come while it blocks.
	trace.NoteFn("container", "release init: open the exec FIFO", "fifo(7)", func() string { return fmt.Sprintf("open(%q, O_RDONLY) + read", fifo) })
	f, err := openFifoOrDeath(fifo, c.state.Pid)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("read %s: %w", fifo, err)
	}
	_ = os.Remove(fifo)
	if len(b) == 0 {
		return errors.New("container init exited before it could start the process")
	}
	// Not written back: every reader derives the status from the kernel and
	// the FIFO, gone now (refresh), never from state.json.
	c.state.Status = Running
	if !c.state.laterHooks() {
		return nil
	}
	if spec := c.loadSpec(); spec != nil {
		warnHooks("poststart", hooksOf(spec).Poststart, c.ociState(Running), os.Stderr)
	}
	return nil
}

// loadSpec is the container's config.json: the one Create was given, or
// the bundle's for a loaded container (nil if it cannot be read).
func (c *Container) loadSpec() *specs.Spec {
	if c.spec != nil {
		return c.spec
	}
	s, err := LoadSpec(c.state.Bundle)
	if err != nil {
		return nil
	}
	return s
}

// openFifoOrDeath opens the FIFO for reading, but gives up if init dies
// meanwhile (an open of a FIFO blocks until the other side opens it).
func openFifoOrDeath(path string, pid int) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_RDONLY, 0)
		ch <- result{f, err}
	}()
	for {
		select {
		case r := <-ch:
			if r.err != nil {
				return nil, fmt.Errorf("open %s: %w", path, r.err)
			}
			return r.f, nil
		case <-time.After(100 * time.Millisecond):
			if err := unix.Kill(pid, 0); err != nil {
				// Unblock the goroutine's open by opening the writer side.
				if w, err := os.OpenFile(path, os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
					w.Close()
				}
				return nil, errors.New("container init exited before start")
			}
		}
	}
}

// Signal sends sig to the container's init.
func (c *Container) Signal(sig unix.Signal) error {
	c.refresh()
	if c.state.Status != Created && c.state.Status != Running && c.state.Status != Paused {
		// runc's words: containerd's shim maps "container not running"
		// to NotFound ("process already finished"), which callers like
		// the CRI plugin's StopContainer expect for an exited task.
		return fmt.Errorf("container not running: %s is %s", c.ID, c.state.Status)
	}
	if err := unix.Kill(c.state.Pid, sig); err != nil {
		return fmt.Errorf("kill(%d, %s): %w", c.state.Pid, unix.SignalName(sig), err)
	}
	c.thawAfterKill(sig)
	return nil
}

// Wait waits for init to exit and returns its exit code the way a shell
// reports it (128+N for signal N). Only the process that created the
// container can wait for it.
func (c *Container) Wait() (int, error) {
	if c.cmd == nil {
		return -1, errors.New("only the creating process can wait for the container")
	}
	err := c.cmd.Wait()
	st, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok {
		return -1, err
	}
	if st.Signaled() {
		return 128 + int(st.Signal()), nil
	}
	return st.ExitStatus(), nil
}

// Delete removes a stopped container. With force a live one is killed
// first (SIGKILL) and waited for.
func (c *Container) Delete(force bool) error {
	unlock, err := lockDir(c.dir)
	if err != nil {
		return err
	}
	defer unlock()
	c.refresh()
	if c.state.Status != Stopped {
		if !force {
			return fmt.Errorf("cannot delete container %s that is %s: stop it first, or use --force", c.ID, c.state.Status)
		}
		trace.NoteFn("container", "kill the container's init", "kill(2)", func() string { return fmt.Sprintf("kill(%d, SIGKILL)", c.state.Pid) })
		_ = unix.Kill(c.state.Pid, unix.SIGKILL)
		c.thawAfterKill(unix.SIGKILL)
		if c.cmd != nil {
			_ = c.cmd.Wait() // our own child: reap it, or it stays a zombie
		}
		deadline := time.Now().Add(10 * time.Second)
		for c.alive() && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		if c.alive() {
			return fmt.Errorf("container %s: init %d did not die after SIGKILL", c.ID, c.state.Pid)
		}
	}
	if err := c.destroyCgroup(); err != nil {
		return err
	}
	var spec *specs.Spec
	if c.state.laterHooks() {
		spec = c.loadSpec()
	}
	end := trace.StepFn("container", "remove the state directory", "unlink(2), rmdir(2)", func() string { return "unlink + rmdir " + c.dir })
	err = c.destroy()
	end(err)
	if err != nil {
		return err
	}
	if spec != nil {
		warnHooks("poststop", hooksOf(spec).Poststop, c.ociState(Stopped), os.Stderr)
	}
	return nil
}

// destroy removes the runtime's files and the state directory, unless the
// directory still holds something of someone else's (a bundle).
func (c *Container) destroy() error {
	for _, f := range []string{execFifo, "state.json.tmp", "state.json"} {
		if err := os.Remove(filepath.Join(c.dir, f)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove %s: %w", filepath.Join(c.dir, f), err)
		}
	}
	if err := os.Remove(c.dir); err != nil && !os.IsNotExist(err) && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("remove %s: %w", c.dir, err)
	}
	return nil
}

// Spec is the configuration the container was created from (nil for a
// loaded container).
func (c *Container) Spec() *specs.Spec { return c.spec }
