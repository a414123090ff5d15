package engine

// The monitor: one small process per detached container, like podman's
// conmon. `run -d` prepares the container (image, overlay, bundle), then
// starts `minirun-monitor` (this binary again, in a session of its own so
// that closing the terminal does not kill it) and returns once the
// container runs. The monitor is written in C (monitor/monitor.c): it is
// the one process every detached container keeps for its whole life, and a
// Go runtime would cost it ~8x the memory of conmon. It is a child
// subreaper (prctl PR_SET_CHILD_SUBREAPER): it runs this binary as
// `minirun-launch` (LaunchMain, Go), which creates the container, puts it
// on its networks, starts it and exits, and the container's init becomes
// the monitor's child — the one process that can wait4(2) for it and learn
// its exit code. The monitor copies the container's stdout and stderr into
// the json-file log, and when init has exited runs `minirun-monitor-exit`
// (MonitorExitMain, Go): exit code, finish time and OOM kill into run.json,
// the restart policy, and the cleanup (network, runtime state, mounts; with
// --rm everything).
//
// One rule keeps concurrent commands safe: while the monitor lives, only
// the monitor (and the helpers it runs) change the container's state.
// `stop`, `kill`, `rm -f` and `restart` send signals and leave marker files
// (stop requested, remove requested) and then wait for the monitor to
// finish. If the monitor is gone (killed), they do the cleanup themselves.
// What `ps` and `inspect` show is derived from the kernel (is init alive?
// is the monitor alive?), the files only add what the kernel cannot tell
// (the exit code).
//
// An attached `minirun run` is the monitor of its own container: it writes
// the same run.json, so stop, kill and rm work the same on it.

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/atomicfile"
	"github.com/minirun/minirun/container"
	"github.com/minirun/minirun/image"
	"github.com/minirun/minirun/rootfs"
	"github.com/minirun/minirun/trace"
)

// runState is <data>/containers/<id>/run.json.
type runState struct {
	MonitorPid   int       `json:"monitorPid"`
	MonitorStart uint64    `json:"monitorStart"` // field 22 of /proc/<pid>/stat: the PID is that process
	Pid          int       `json:"pid"`
	StartedAt    time.Time `json:"startedAt"`
	FinishedAt   time.Time `json:"finishedAt"`
	ExitCode     int       `json:"exitCode"`
	OOMKilled    bool      `json:"oomKilled"`
	RestartCount int       `json:"restartCount"`
	BackoffMs    int64     `json:"backoffMs,omitempty"` // the next restart's delay
	Restarting   bool      `json:"restarting"`
	Error        string    `json:"error,omitempty"`
	// Ports are the ports slirp4netns forwards (rootless mode), host
	// ports picked; with a bridge network the firewall's rules tell.
	Ports []PortSpec `json:"ports,omitempty"`
	// SlirpPid and SlirpStart are the container's slirp4netns (rootless
	// mode): teardown kills that PID if it is still that process.
	SlirpPid   int    `json:"slirpPid,omitempty"`
	SlirpStart uint64 `json:"slirpStart,omitempty"`
}

const (
	markStop   = "stop-requested"   // stop/rm: do not restart
	markRemove = "remove-requested" // rm -f: remove everything when done
)

func (e *Engine) runStatePath(id string) string {
	return filepath.Join(e.containerDataDir(id), "run.json")
}

func (e *Engine) readRunState(id string) runState {
	var rs runState
	if b, err := os.ReadFile(e.runStatePath(id)); err == nil {
		_ = json.Unmarshal(b, &rs)
	}
	return rs
}

// writeRunState replaces run.json atomically (package atomicfile), so a
// reader never sees half a file and a killed writer leaves the old one.
func (e *Engine) writeRunState(id string, rs runState) error {
	b, _ := json.Marshal(rs)
	return atomicfile.WriteFile(e.runStatePath(id), b, 0o600)
}

func (e *Engine) mark(id, name string) error {
	return os.WriteFile(filepath.Join(e.containerDataDir(id), name), nil, 0o600)
}

func (e *Engine) marked(id, name string) bool {
	return fileExists(filepath.Join(e.containerDataDir(id), name))
}

func (e *Engine) unmark(id, name string) {
	_ = os.Remove(filepath.Join(e.containerDataDir(id), name))
}

// processAlive: pid runs and is the process that started at start.
func processAlive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	got, state, err := container.ProcStartTime(pid)
	return err == nil && got == start && state != 'Z' && state != 'X'
}

// monitorRunning tells whether the container's monitor (or attached run)
// is still alive.
func (e *Engine) monitorRunning(id string) bool {
	rs := e.readRunState(id)
	return processAlive(rs.MonitorPid, rs.MonitorStart)
}

// becomeMonitor records this process as the container's monitor.
func (e *Engine) becomeMonitor(id string) runState {
	rs := e.readRunState(id)
	rs.MonitorPid = os.Getpid()
	rs.MonitorStart, _, _ = container.ProcStartTime(rs.MonitorPid)
	_ = e.writeRunState(id, rs)
	return rs
}

// restartPolicy is --restart, parsed.
type restartPolicy struct {
	name       string // no, on-failure, always, unless-stopped
	maxRetries int    // on-failure:N (0: no limit)
}

func parseRestart(s string) (restartPolicy, error) {
	name, n, hasN := strings.Cut(s, ":")
	p := restartPolicy{name: name}
	switch name {
	case "", "no":
		p.name = "no"
		if hasN {
			return p, fmt.Errorf("invalid --restart %q: no takes no count", s)
		}
	case "always", "unless-stopped":
		if hasN {
			return p, fmt.Errorf("invalid --restart %q: only on-failure takes a count", s)
		}
	case "on-failure":
		if hasN {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return p, fmt.Errorf("invalid --restart %q: the count must be a whole number", s)
			}
			p.maxRetries = v
		}
	default:
		return p, fmt.Errorf("invalid --restart %q: want no, on-failure[:N], always or unless-stopped", s)
	}
	return p, nil
}

// again decides whether a container that exited with code is restarted,
// as Docker does: never after stop/rm, on-failure only for a non-zero code
// and at most N times.
func (p restartPolicy) again(code, restarts int) bool {
	switch p.name {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return code != 0 && (p.maxRetries == 0 || restarts < p.maxRetries)
	}
	return false
}

// startDetached is `run -d` after prepare: it starts the monitor and waits
// until the container runs (or failed to start).
func (e *Engine) startDetached(p *prepared) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		w.Close()
		return err
	}
	defer null.Close()
	mode := "-"
	if p.meta.TTY {
		mode += "t"
	}
	if p.meta.OpenStdin {
		mode += "i"
	}
	cmd := &exec.Cmd{
		Path: self,
		Args: []string{MonitorArgv0, e.StateRoot, e.DataRoot, p.id, e.logPath(p.id),
			strconv.FormatInt(cmp.Or(max(p.meta.LogMaxSize, 0), defaultLogMaxSize), 10),
			strconv.Itoa(cmp.Or(max(p.meta.LogMaxFiles, 0), defaultLogMaxFiles)), mode},
		Env:        os.Environ(),
		Stdin:      null,
		Stdout:     null,
		Stderr:     null,
		ExtraFiles: []*os.File{w}, // fd 3: "ok" or the error, then EOF
		SysProcAttr: &unix.SysProcAttr{
			Setsid: true, // its own session: no SIGHUP when our terminal closes
		},
	}
	// With --trace, the launcher (through the monitor, monitor.c's spawn)
	// and the container's init write their steps into one more pipe
	// (trace/doc.go).
	tw, err := trace.ToChild(cmd)
	if err != nil {
		w.Close()
		return err
	}
	err = cmd.Start()
	w.Close()
	if tw != nil {
		tw.Close()
	}
	if err != nil {
		return fmt.Errorf("start the monitor of container %s: %w", ShortID(p.id), err)
	}
	// Not waited for: the monitor outlives us; its parent becomes the
	// nearest subreaper or init, which reaps it.
	_ = cmd.Process.Release()
	msg, _ := io.ReadAll(r)
	reply := string(msg)
	switch {
	case reply == "ok":
		return nil
	case strings.HasPrefix(reply, "err "):
		code, text, _ := strings.Cut(strings.TrimPrefix(reply, "err "), " ")
		n, _ := strconv.Atoi(code)
		return &StartError{Code: n, Msg: text}
	default:
		return fmt.Errorf("the monitor of container %s ended before the container started", ShortID(p.id))
	}
}

// StartError is a container that failed to start in its monitor; Code is
// the exit code `run` returns (125, 126 or 127).
type StartError struct {
	Code int
	Msg  string
}

func (e *StartError) Error() string { return e.Msg }

// ExitCode maps an error of minirun's to Docker's exit codes: 127 for a
// command not found, 126 for one that cannot be executed, 125 otherwise.
func ExitCode(err error) int {
	if se := (*StartError)(nil); errors.As(err, &se) {
		return se.Code
	}
	return container.ExitCode(err)
}

// The monitor's names (argv[0]): the monitor itself is C (monitor/
// monitor.c, a constructor that takes the process over before Go starts);
// it runs this binary again as LaunchArgv0 to start the container and as
// ExitArgv0 when the container has exited.
const (
	MonitorArgv0 = "minirun-monitor"
	LaunchArgv0  = "minirun-launch"
	ExitArgv0    = "minirun-monitor-exit"
)

// Exit codes of LaunchMain, for the monitor.
const (
	launchStarted    = 0 // init's PID is on fd 5
	launchFailed     = 1 // a restart failed to start: recorded, the policy decides
	launchFirstFails = 2 // the first start failed: reported to `run -d`, cleaned up
)

// LaunchMain is `minirun-launch STATE_ROOT DATA_ROOT ID`, started by the
// monitor: it creates the container (init becomes the monitor's child when
// we exit: the monitor is a subreaper), puts it on its networks, starts it,
// and writes init's PID on fd 5. Its fds 0-2 are the container's stdio (or
// fd 4 is the console socket, for a pty); fd 3 is the pipe to `run -d` on
// the first start, /dev/null on restarts.
func LaunchMain(args []string) int {
	trace.StartChild("launch") // fd 6 with `run -d --trace`
	for fd := 3; fd <= 5; fd++ {
		unix.CloseOnExec(fd) // not into the container's init
	}
	report, pidOut := os.NewFile(3, "report"), os.NewFile(5, "init-pid")
	var st unix.Stat_t
	first := unix.Fstat(3, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO
	if len(args) != 3 {
		io.WriteString(report, "err 125 minirun-launch: want STATE_ROOT DATA_ROOT ID")
		return launchFirstFails
	}
	e := New(args[0], args[1])
	e.slirpDetached = true // slirp4netns stays after we exit, with the container
	id := args[2]
	p, err := e.loadPrepared(id)
	if err != nil {
		io.WriteString(report, fmt.Sprintf("err 125 %v", err))
		return launchFirstFails
	}
	fail := func(c *container.Container, err error) int {
		if first {
			io.WriteString(report, fmt.Sprintf("err %d %v", ExitCode(err), err))
			_ = e.cleanup(p, true)
			return launchFirstFails
		}
		_ = e.leaveNetworks(id)
		if c != nil {
			_ = c.Delete(true)
		}
		rs := e.readRunState(id)
		rs.Error, rs.ExitCode, rs.FinishedAt = err.Error(), 125, time.Now().UTC()
		_ = e.writeRunState(id, rs)
		return launchFailed
	}
	// The monitor is our parent: it is the process `stop`, `rm` and `ps`
	// look for.
	rs := e.readRunState(id)
	rs.MonitorPid = os.Getppid()
	rs.MonitorStart, _, _ = container.ProcStartTime(rs.MonitorPid)
	_ = e.writeRunState(id, rs)

	opts := container.CreateOpts{Stdin: os.Stdin}
	if p.meta.TTY {
		opts.ConsoleSocket = os.NewFile(4, "console-socket")
	} else {
		opts.Stdout, opts.Stderr = os.Stdout, os.Stderr
	}
	c, err := e.launch(p, opts)
	if err != nil {
		return fail(c, err)
	}
	pid := c.Pid() // (0 once init has exited: read it before it may)
	if err := e.startAndRecord(p, c); err != nil {
		return fail(c, err)
	}
	if e.marked(id, markStop) || e.marked(id, markRemove) {
		// A stop or rm -f came while the container was being made.
		_ = c.SignalAll(unix.SIGKILL)
	}
	fmt.Fprintf(pidOut, "%d", pid)
	io.WriteString(report, "ok")
	return launchStarted
}

// MonitorExitMain is `minirun-monitor-exit STATE_ROOT DATA_ROOT ID CODE`,
// run by the monitor once the container's init has exited with CODE: it
// records the exit (and an OOM kill), takes the container off its networks
// and deletes it, then applies the restart policy, as Docker does. Exit
// status 0 asks the monitor to start the container again (after the
// policy's delay, slept here); anything else means done — and then the
// container is cleaned up (everything, with --rm or rm -f).
func MonitorExitMain(args []string) int {
	if len(args) != 4 {
		fmt.Fprintln(os.Stderr, "minirun-monitor-exit: want STATE_ROOT DATA_ROOT ID CODE")
		return 1
	}
	e := New(args[0], args[1])
	id := args[2]
	code, _ := strconv.Atoi(args[3])
	p, err := e.loadPrepared(id)
	if err != nil {
		fmt.Fprintln(os.Stderr, "minirun-monitor-exit:", err)
		return 1
	}
	if c, err := e.Runtime.Load(id); err == nil {
		e.recordExit(p, c, code)
		_ = e.leaveNetworks(id)
		_ = c.Delete(true)
	} else {
		rs := e.readRunState(id)
		rs.ExitCode, rs.FinishedAt, rs.Pid = code, time.Now().UTC(), 0
		_ = e.writeRunState(id, rs)
	}
	policy, _ := parseRestart(p.meta.Restart)
	rs := e.readRunState(id)
	if !e.marked(id, markStop) && !e.marked(id, markRemove) && policy.again(code, rs.RestartCount) {
		// Restart with a growing delay (Docker: doubling from 100 ms),
		// reset after a run of more than 10 seconds.
		delay := time.Duration(rs.BackoffMs) * time.Millisecond
		if delay == 0 || time.Since(rs.StartedAt) > 10*time.Second {
			delay = 100 * time.Millisecond
		}
		rs.Restarting = true
		rs.BackoffMs = delay.Milliseconds()
		if delay < 2*time.Second {
			rs.BackoffMs *= 2
		}
		_ = e.writeRunState(id, rs)
		time.Sleep(delay)
		rs = e.readRunState(id)
		rs.Restarting = false
		rs.RestartCount++
		_ = e.writeRunState(id, rs)
		if !e.marked(id, markStop) && !e.marked(id, markRemove) {
			return 0
		}
	}
	_ = e.cleanup(p, p.meta.Remove || e.marked(id, markRemove))
	return 1
}

// launch creates the container and puts it on its networks; init waits
// at the barrier until Start.
func (e *Engine) launch(p *prepared, opts container.CreateOpts) (*container.Container, error) {
	if p.net != nil {
		// The network namespace exists as soon as init does: veth,
		// address, routes, ports and hosts files go in while init builds
		// its root filesystem, all before the user's program runs.
		opts.AfterClone = func(pid int) error { return e.joinNetworks(p.id, pid, p.net) }
	}
	c, err := e.Runtime.Create(p.id, p.bundle, opts)
	if err != nil {
		return nil, err
	}
	if p.slirp {
		ports, err := e.startSlirp(p.id, c.Pid(), p.meta.Ports)
		if err != nil {
			return c, err
		}
		if len(ports) > 0 {
			// What ps and inspect show: the host ports as published.
			if err := e.writeRunPorts(p.id, ports); err != nil {
				return c, err
			}
		}
	}
	return c, nil
}

// startAndRecord starts the user's program and records it in run.json.
func (e *Engine) startAndRecord(p *prepared, c *container.Container) error {
	// Init's PID before it is let go: Pid says 0 once init has exited,
	// which a short-lived program may do before Start returns.
	pid := c.Pid()
	if err := c.Start(); err != nil {
		return err
	}
	rs := e.readRunState(p.id)
	rs.Pid, rs.StartedAt, rs.FinishedAt, rs.ExitCode, rs.OOMKilled, rs.Error = pid, time.Now().UTC(), time.Time{}, 0, false, ""
	return e.writeRunState(p.id, rs)
}

// recordExit writes the exit code, time and OOM kill into run.json.
func (e *Engine) recordExit(p *prepared, c *container.Container, code int) bool {
	oom := c.OOMKilled()
	rs := e.readRunState(p.id)
	rs.ExitCode, rs.FinishedAt, rs.OOMKilled, rs.Pid = code, time.Now().UTC(), oom, 0
	_ = e.writeRunState(p.id, rs)
	return oom
}

// loadPrepared reads back what prepare wrote: meta.json, the bundle's
// config.json, and the network plan.
func (e *Engine) loadPrepared(id string) (*prepared, error) {
	b, err := os.ReadFile(filepath.Join(e.containerDataDir(id), "meta.json"))
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", ShortID(id), err)
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("container %s: meta.json: %w", ShortID(id), err)
	}
	p := e.preparedFor(m)
	if p.spec, err = container.LoadSpec(p.bundle); err != nil {
		return nil, err
	}
	mode := p.meta.Network
	p.slirp = mode == SlirpNetwork
	if mode != "none" && mode != "host" && mode != SlirpNetwork && !strings.HasPrefix(mode, "container:") {
		n, err := e.network(firstNonEmpty(mode, DefaultNetwork))
		if err != nil {
			return nil, err
		}
		p.net = &netPlan{networks: []*Network{n}, aliases: p.meta.Aliases, ip: p.meta.IP, ports: p.meta.Ports,
			hostname: p.meta.Hostname, name: p.meta.Name, hostsPath: filepath.Join(p.bundle, "hosts"), extraHosts: p.meta.ExtraHosts}
	}
	return p, nil
}

// remount mounts a stopped container's root filesystem again (restart).
func (e *Engine) remount(p *prepared) error {
	var img *image.Image
	if p.meta.Rootfs == "" {
		store, err := e.Images()
		if err != nil {
			return err
		}
		if img, err = store.Get(p.meta.ImageID); err != nil {
			return fmt.Errorf("container %s: its image %s: %w", ShortID(p.id), p.meta.Image, err)
		}
	}
	if Rootless() {
		return nil // init mounts the overlay config.json names (rootlessOverlay)
	}
	return e.mountRoot(img, p.meta.Rootfs, p)
}

// mountRoot mounts the container's root filesystem at bundle/rootfs: the
// image's layers with the container's upper and work directories, or
// with a user namespace the --rootfs directory through the namespace's ID
// mapping (see mountIDMapped). A --rootfs directory without one is used
// where it is, and nothing is mounted.
func (e *Engine) mountRoot(img *image.Image, dir string, p *prepared) error {
	if img == nil && p.userns == nil {
		return nil
	}
	root := filepath.Join(p.bundle, "rootfs")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	if img == nil {
		// No copy here: the directory is the user's, and what the
		// container writes must land in it.
		if err := p.userns.mountIDMapped(func(fd int) error { return rootfs.IDMappedBind(dir, root, fd) }); err != nil {
			return fmt.Errorf("--rootfs %s: %w", dir, idmapHint(err))
		}
		p.rootfsMounted = root
		return nil
	}
	upper, work := filepath.Join(p.dataDir, "upper"), filepath.Join(p.dataDir, "work")
	for _, d := range []string{upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	var err error
	if p.userns == nil {
		err = rootfs.MountOverlay(img.Layers, upper, work, root)
	} else {
		err = p.userns.mountLayers(img.Layers, upper, work, root, p.dataDir)
	}
	if err != nil {
		return fmt.Errorf("mount the image's layers: %w", err)
	}
	p.rootfsMounted = root
	return nil
}
