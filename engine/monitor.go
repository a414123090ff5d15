package engine

// The monitor: one small process per detached container, like podman's
// conmon. `run -d` prepares the container (image, overlay, bundle), then
// starts `minirun-monitor <id>` (this binary again, in a session of its
// own so that closing the terminal does not kill it) and returns once the
// monitor reports that the container runs. The monitor is the container
// init's parent: it is the one process that can wait4(2) for it and learn
// its exit code. It copies the container's stdout and stderr into the log,
// records start, exit code, finish time and OOM kills in run.json, applies
// the restart policy, and cleans up (network, runtime state, mounts; with
// --rm everything) when the container is done.
//
// One rule keeps concurrent commands safe: while the monitor lives, only
// the monitor changes the container's state. `stop`, `kill`, `rm -f` and
// `restart` send signals and leave marker files (stop requested, remove
// requested) and then wait for the monitor to finish. If the monitor is
// gone (killed), they do the cleanup themselves. What `ps` and `inspect`
// show is derived from the kernel (is init alive? is the monitor alive?),
// the files only add what the kernel cannot tell (the exit code).
//
// An attached `minirun run` is the monitor of its own container: it writes
// the same run.json, so stop, kill and rm work the same on it.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/container"
	"github.com/minirun/minirun/image"
	"github.com/minirun/minirun/rootfs"
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
	Restarting   bool      `json:"restarting"`
	Error        string    `json:"error,omitempty"`
	// Ports are the ports slirp4netns forwards (rootless mode), host
	// ports picked; with a bridge network the firewall's rules tell.
	Ports []PortSpec `json:"ports,omitempty"`
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

// writeRunState replaces run.json atomically (rename), so a reader never
// sees half a file and a killed writer leaves the old one.
func (e *Engine) writeRunState(id string, rs runState) error {
	b, _ := json.Marshal(rs)
	p := e.runStatePath(id)
	if err := os.WriteFile(p+".tmp", b, 0o600); err != nil {
		return err
	}
	return os.Rename(p+".tmp", p)
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
	cmd := &exec.Cmd{
		Path:       self,
		Args:       []string{MonitorArgv0, e.StateRoot, e.DataRoot, p.id},
		Env:        os.Environ(),
		Stdin:      null,
		Stdout:     null,
		Stderr:     null,
		ExtraFiles: []*os.File{w}, // fd 3: "ok" or the error, then EOF
		SysProcAttr: &unix.SysProcAttr{
			Setsid: true, // its own session: no SIGHUP when our terminal closes
		},
	}
	err = cmd.Start()
	w.Close()
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
	var se *StartError
	switch {
	case errors.As(err, &se):
		return se.Code
	case errors.Is(err, container.ErrExecNotFound):
		return 127
	case errors.Is(err, container.ErrExecNotExecutable):
		return 126
	}
	return 125
}

// MonitorArgv0 is the name the monitor runs under (argv[0]).
const MonitorArgv0 = "minirun-monitor"

// MonitorMain is the monitor process: args are the state root, the data
// root and the container ID; fd 3 is the pipe to `run -d`.
func MonitorMain(args []string) int {
	report := os.NewFile(3, "report")
	if len(args) != 3 {
		fmt.Fprintln(report, "err 125 minirun-monitor: want STATE_ROOT DATA_ROOT ID")
		return 125
	}
	e := New(args[0], args[1])
	id := args[2]
	reported := false
	say := func(s string) {
		if !reported {
			io.WriteString(report, s)
			report.Close()
			reported = true
		}
	}
	defer say("err 125 the monitor failed before the container started")
	p, err := e.loadPrepared(id)
	if err != nil {
		say(fmt.Sprintf("err 125 %v", err))
		return 125
	}
	e.becomeMonitor(id)
	policy, _ := parseRestart(p.meta.Restart)
	lw, err := openLog(e.logPath(id), p.meta.LogMaxSize, p.meta.LogMaxFiles)
	if err != nil {
		say(fmt.Sprintf("err 125 open the log: %v", err))
		_ = e.cleanup(p, true)
		return 125
	}
	defer lw.Close()
	// One monitor per container: keep it small. A low GC target, and the
	// start-up garbage handed back to the kernel once the container runs.
	debug.SetGCPercent(10)
	backoff := 100 * time.Millisecond
	for {
		started := time.Now()
		code, err := e.runLogged(p, lw, func() { say("ok"); debug.FreeOSMemory() })
		if err != nil {
			if !reported {
				say(fmt.Sprintf("err %d %v", ExitCode(err), err))
				_ = e.cleanup(p, true)
				return ExitCode(err)
			}
			code = 125
			rs := e.readRunState(id)
			rs.Error, rs.ExitCode, rs.FinishedAt = err.Error(), code, time.Now().UTC()
			_ = e.writeRunState(id, rs)
		}
		rs := e.readRunState(id)
		if e.marked(id, markStop) || e.marked(id, markRemove) || !policy.again(code, rs.RestartCount) {
			break
		}
		// Restart with a growing delay (Docker: doubling from 100 ms),
		// reset after a run of more than 10 seconds.
		if time.Since(started) > 10*time.Second {
			backoff = 100 * time.Millisecond
		}
		rs.Restarting = true
		_ = e.writeRunState(id, rs)
		time.Sleep(backoff)
		if backoff < 2*time.Second {
			backoff *= 2
		}
		rs = e.readRunState(id)
		rs.Restarting = false
		rs.RestartCount++
		_ = e.writeRunState(id, rs)
		if e.marked(id, markStop) || e.marked(id, markRemove) {
			break
		}
	}
	remove := p.meta.Remove || e.marked(id, markRemove)
	_ = e.cleanup(p, remove)
	return 0
}

// runLogged runs the container once with its output going to the log, and
// returns its exit code. started is called once it runs.
func (e *Engine) runLogged(p *prepared, lw *logWriter, started func()) (int, error) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	var closers []*os.File
	defer func() {
		for _, f := range closers {
			f.Close()
		}
	}()
	opts := container.CreateOpts{Stdin: null}
	if p.meta.OpenStdin && !p.meta.TTY {
		// -d -i: stdin stays open (a pipe nobody writes to), so a shell
		// waits instead of reading EOF.
		r, w, err := os.Pipe()
		if err != nil {
			return 0, err
		}
		opts.Stdin = r
		closers = append(closers, r, w)
	}
	done := make(chan struct{}, 2)
	copiers := 0
	var consoleHost *os.File
	if p.meta.TTY {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return 0, err
		}
		consoleHost = os.NewFile(uintptr(fds[0]), "console-host")
		opts.ConsoleSocket = os.NewFile(uintptr(fds[1]), "console-container")
		closers = append(closers, consoleHost)
	} else {
		for _, stream := range []string{"stdout", "stderr"} {
			r, w, err := os.Pipe()
			if err != nil {
				return 0, err
			}
			closers = append(closers, r)
			if stream == "stdout" {
				opts.Stdout = w
			} else {
				opts.Stderr = w
			}
			copiers++
			go func(stream string) { lw.copyLines(stream, r); done <- struct{}{} }(stream)
		}
	}
	c, err := e.launch(p, opts)
	// Our copies of the write ends go: EOF comes when the container's
	// processes have closed theirs.
	for _, f := range []*os.File{opts.Stdout, opts.Stderr, opts.ConsoleSocket} {
		if f != nil {
			f.Close()
		}
	}
	if err != nil {
		return 0, err
	}
	if consoleHost != nil {
		master, err := container.RecvFd(consoleHost)
		if err != nil {
			return 0, err
		}
		closers = append(closers, master)
		copiers++
		go func() { lw.copyLines("stdout", master); done <- struct{}{} }()
	}
	if err := e.startAndRecord(p, c); err != nil {
		return 0, err
	}
	started()
	if e.marked(p.id, markStop) || e.marked(p.id, markRemove) {
		// A stop or rm -f came while the container was being made.
		_ = c.SignalAll(unix.SIGKILL)
	}
	code, err := c.Wait()
	for i := 0; i < copiers; i++ {
		select {
		case <-done:
		case <-time.After(2 * time.Second): // a daemonised child keeps the pipe
		}
	}
	e.recordExit(p, c, code)
	_ = e.leaveNetworks(p.id)
	_ = c.Delete(true)
	return code, err
}

// launch creates the container and puts it on its networks; init waits
// at the barrier until Start.
func (e *Engine) launch(p *prepared, opts container.CreateOpts) (*container.Container, error) {
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
	if p.net != nil {
		// The network namespace exists now (init waits for Start):
		// veth, address, routes, ports and hosts files go in before the
		// user's program runs.
		if err := e.joinNetworks(p.id, c.Pid(), p.net); err != nil {
			return c, err
		}
	}
	return c, nil
}

// startAndRecord starts the user's program and records it in run.json.
func (e *Engine) startAndRecord(p *prepared, c *container.Container) error {
	if err := c.Start(); err != nil {
		return err
	}
	rs := e.readRunState(p.id)
	rs.Pid, rs.StartedAt, rs.FinishedAt, rs.ExitCode, rs.OOMKilled, rs.Error = c.Pid(), time.Now().UTC(), time.Time{}, 0, false, ""
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
	p := &prepared{id: id, bundle: e.bundleDir(id), dataDir: e.containerDataDir(id)}
	if err := json.Unmarshal(b, &p.meta); err != nil {
		return nil, fmt.Errorf("container %s: meta.json: %w", ShortID(id), err)
	}
	if p.meta.Rootfs == "" {
		p.rootfsMounted = filepath.Join(p.bundle, "rootfs")
	}
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
	if p.meta.Rootfs != "" {
		return nil
	}
	if Rootless() {
		return nil // init mounts the overlay config.json names (rootlessOverlay)
	}
	store, err := e.Images()
	if err != nil {
		return err
	}
	img, err := store.Get(p.meta.ImageID)
	if err != nil {
		return fmt.Errorf("container %s: its image %s: %w", ShortID(p.id), p.meta.Image, err)
	}
	return mountImage(img, p)
}

// mountImage mounts the image's layers with the container's upper and
// work directories at bundle/rootfs.
func mountImage(img *image.Image, p *prepared) error {
	root := filepath.Join(p.bundle, "rootfs")
	upper, work := filepath.Join(p.dataDir, "upper"), filepath.Join(p.dataDir, "work")
	for _, d := range []string{root, upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := rootfs.MountOverlay(img.Layers, upper, work, root); err != nil {
		return fmt.Errorf("mount the image's layers: %w", err)
	}
	p.rootfsMounted = root
	return nil
}
