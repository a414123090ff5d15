package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/atomicfile"
	"github.com/minirun/minirun/container"
)

// DefaultStopTimeout is how long stop waits after the stop signal before
// SIGKILL (Docker's 10 seconds).
const DefaultStopTimeout = 10

// checkLifecycle validates -d, --restart, --stop-signal and --log-opt.
func (o *RunOptions) checkLifecycle() error {
	p, err := parseRestart(o.Restart)
	if err != nil {
		return err
	}
	if p.name != "no" && o.Remove {
		return errors.New("conflicting options: --restart and --rm (a container that removes itself cannot be restarted)")
	}
	if p.name != "no" && !o.Detach {
		return errors.New("--restart needs -d: the restart policy is applied by the container's monitor")
	}
	if o.StopSignal != "" {
		if _, err := ParseSignal(o.StopSignal); err != nil {
			return fmt.Errorf("invalid --stop-signal: %w", err)
		}
	}
	if o.StopTimeout < 0 {
		return errors.New("--stop-timeout must not be negative")
	}
	if o.logMaxSize, o.logMaxFiles, err = parseLogOpts(o.LogOpts); err != nil {
		return err
	}
	return nil
}

// ParseSignal accepts "KILL", "SIGKILL" or "9" (container.ParseSignal).
func ParseSignal(s string) (unix.Signal, error) { return container.ParseSignal(s) }

// stopSignal is the container's stop signal: --stop-signal, the image's
// STOPSIGNAL, or SIGTERM.
func stopSignal(m Meta) unix.Signal {
	if m.StopSignal != "" {
		if s, err := ParseSignal(m.StopSignal); err == nil {
			return s
		}
	}
	return unix.SIGTERM
}

func stopTimeout(m Meta, override int) time.Duration {
	switch {
	case override >= 0:
		return time.Duration(override) * time.Second
	case m.StopTimeout > 0:
		return time.Duration(m.StopTimeout) * time.Second
	}
	return DefaultStopTimeout * time.Second
}

// stopProcess sends the stop signal and, if init is still there after the
// timeout, SIGKILL to every process of the container. done closes when
// the container has exited (then nothing more is sent).
func (e *Engine) stopProcess(c *container.Container, m Meta, done <-chan struct{}) {
	if c.State().Status == container.Paused {
		_ = c.Resume() // a frozen process cannot act on a signal
	}
	_ = c.Signal(stopSignal(m))
	select {
	case <-done:
	case <-time.After(stopTimeout(m, -1)):
		_ = c.SignalAll(unix.SIGKILL)
	}
}

// Stop is `minirun stop`: the stop signal, up to timeout seconds (-1: the
// container's own or 10), then SIGKILL; it returns once the container's
// monitor has finished (exit code recorded, network released). A stopped
// container is not an error (as Docker). The restart policy does not
// bring it back.
func (e *Engine) Stop(ref string, timeout int) error {
	m, err := e.Find(ref)
	if err != nil {
		return err
	}
	if err := e.mark(m.ID, markStop); err != nil {
		return err
	}
	return e.halt(m, stopSignal(m), stopTimeout(m, timeout))
}

// halt sends sig, waits up to grace for init to exit, kills what is left,
// and waits for the monitor to finish its cleanup (or does it itself if
// the monitor is gone).
func (e *Engine) halt(m Meta, sig unix.Signal, grace time.Duration) error {
	c, err := e.Runtime.Load(m.ID)
	if err == nil && e.alive(m.ID) {
		if c.State().Status == container.Paused {
			_ = c.Resume()
		}
		_ = c.Signal(sig)
		if !waitFor(grace, func() bool { return !e.alive(m.ID) }) {
			_ = c.SignalAll(unix.SIGKILL)
			if !waitFor(10*time.Second, func() bool { return !e.alive(m.ID) }) {
				return fmt.Errorf("container %s did not die after SIGKILL (a process stuck in the kernel, state D?)", ShortID(m.ID))
			}
		}
	}
	return e.settle(m)
}

// settle waits for the monitor to finish with a stopped container; if
// there is no monitor (it was killed) the stopped container is cleaned up
// here (network, runtime state, mounts), and its exit is recorded as
// unknown.
func (e *Engine) settle(m Meta) error {
	if waitFor(15*time.Second, func() bool { return !e.monitorRunning(m.ID) }) {
		if _, err := e.Runtime.Load(m.ID); err != nil {
			return nil // the monitor cleaned up
		}
	}
	if e.monitorRunning(m.ID) {
		return fmt.Errorf("the monitor of container %s does not finish: try again, or rm -f", ShortID(m.ID))
	}
	p := e.preparedFor(m)
	rs := e.readRunState(m.ID)
	if rs.FinishedAt.Before(rs.StartedAt) || rs.FinishedAt.IsZero() {
		rs.FinishedAt, rs.ExitCode, rs.Error = time.Now().UTC(), -1, "the container's monitor was killed: exit code unknown"
		_ = e.writeRunState(m.ID, rs)
	}
	return e.cleanup(p, false)
}

func (e *Engine) preparedFor(m Meta) *prepared {
	p := &prepared{id: m.ID, bundle: e.bundleDir(m.ID), dataDir: e.containerDataDir(m.ID), meta: m, userns: m.UserNS}
	if m.Rootfs == "" || m.UserNS != nil {
		p.rootfsMounted = filepath.Join(p.bundle, "rootfs")
	}
	return p
}

// waitFor polls cond until it holds or d has passed.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill is `minirun kill -s SIG`: the signal to the container's init.
func (e *Engine) Kill(ref string, sig unix.Signal) error {
	m, err := e.Find(ref)
	if err != nil {
		return err
	}
	c, err := e.Runtime.Load(m.ID)
	if err != nil || !e.alive(m.ID) {
		return fmt.Errorf("cannot kill container %s: it is not running", ref)
	}
	return c.Signal(sig)
}

// Remove is `minirun rm`: it deletes a stopped container (or, with force,
// kills it first) and everything it left.
func (e *Engine) Remove(ref string, force bool) error {
	m, err := e.Find(ref)
	if err != nil {
		return err
	}
	if e.alive(m.ID) {
		if !force {
			st := e.status(m)
			return fmt.Errorf("cannot remove container %s: it is %s; stop it first or use rm -f", ref, st.State)
		}
		_ = e.mark(m.ID, markStop)
		_ = e.mark(m.ID, markRemove)
		if err := e.halt(m, unix.SIGKILL, 5*time.Second); err != nil {
			return err
		}
	} else if err := e.settle(m); err != nil {
		return err
	}
	return e.cleanup(e.preparedFor(m), true)
}

// Restart is `minirun restart`: stop (as Stop), then start the container
// again under a new monitor, detached.
func (e *Engine) Restart(ref string, timeout int) error {
	m, err := e.Find(ref)
	if err != nil {
		return err
	}
	if err := e.mark(m.ID, markStop); err != nil {
		return err
	}
	if err := e.halt(m, stopSignal(m), stopTimeout(m, timeout)); err != nil {
		return err
	}
	return e.startAgain(m)
}

// startAgain runs a stopped container again: root filesystem mounted
// again, a new monitor, detached (the first run's terminal is gone).
func (e *Engine) startAgain(m Meta) error {
	e.unmark(m.ID, markStop)
	e.unmark(m.ID, markRemove)
	p, err := e.loadPrepared(m.ID)
	if err != nil {
		return err
	}
	if !p.meta.Detached {
		// Attached the first time; from now on its output goes to the log.
		p.meta.Detached = true
		if err := e.writeMeta(&p.meta); err != nil {
			return err
		}
	}
	if err := e.remount(p); err != nil {
		return err
	}
	if err := e.startDetached(p); err != nil {
		return err
	}
	return nil
}

func (e *Engine) writeMeta(m *Meta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(e.containerDataDir(m.ID), "meta.json"), b, 0o600)
}

// Wait is `minirun wait`: it blocks until the container has stopped and
// returns its exit code.
func (e *Engine) Wait(ref string) (int, error) {
	m, err := e.Find(ref)
	if err != nil {
		return 0, err
	}
	for e.alive(m.ID) || e.monitorRunning(m.ID) {
		time.Sleep(50 * time.Millisecond)
	}
	return e.status(m).ExitCode, nil
}

// Pause and Unpause freeze and thaw the container's processes.
func (e *Engine) Pause(ref string) error {
	c, err := e.loadRunning(ref)
	if err != nil {
		return err
	}
	return c.Pause()
}

func (e *Engine) Unpause(ref string) error {
	m, err := e.Find(ref)
	if err != nil {
		return err
	}
	c, err := e.Runtime.Load(m.ID)
	if err != nil {
		return fmt.Errorf("container %s is not running", ref)
	}
	return c.Resume()
}

func (e *Engine) loadRunning(ref string) (*container.Container, error) {
	m, err := e.Find(ref)
	if err != nil {
		return nil, err
	}
	c, err := e.Runtime.Load(m.ID)
	if err != nil || !e.alive(m.ID) {
		return nil, fmt.Errorf("container %s is not running", ref)
	}
	return c, nil
}

// TopProcess is one line of `minirun top`.
type TopProcess struct {
	UID, PID, PPID int
	State          string
	CPU            time.Duration
	Cmd            string
}

// Top lists the processes of a running container: every PID of its
// cgroup, read from /proc on the host.
func (e *Engine) Top(ref string) ([]TopProcess, error) {
	c, err := e.loadRunning(ref)
	if err != nil {
		return nil, err
	}
	pids, err := c.Pids()
	if err != nil {
		return nil, err
	}
	tick := float64(100) // USER_HZ
	var out []TopProcess
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		tp := TopProcess{PID: pid, PPID: ppid, State: f[0], CPU: time.Duration((ut + st) / tick * float64(time.Second))}
		var fi unix.Stat_t
		if unix.Stat(fmt.Sprintf("/proc/%d", pid), &fi) == nil {
			tp.UID = int(fi.Uid)
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		tp.Cmd = strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
		if tp.Cmd == "" {
			tp.Cmd = "[" + strings.Trim(s[strings.IndexByte(s, '(')+1:i], " ") + "]"
		}
		out = append(out, tp)
	}
	return out, nil
}
