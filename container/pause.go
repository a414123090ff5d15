package container

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Pause freezes every process of the container with the cgroup freezer
// (v1 freezer.state = FROZEN, v2 cgroup.freeze = 1): they stop where they
// are, cannot be scheduled and do not even see signals until Resume.
// Unlike SIGSTOP, the processes cannot tell or resist. See
// Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst and
// cgroup-v2.rst ("cgroup.freeze").
func (c *Container) Pause() error {
	unlock, err := lockDir(c.dir)
	if err != nil {
		return err
	}
	defer unlock()
	c.refresh()
	if c.state.Status != Running {
		return fmt.Errorf("container %s is %s, not running: only a running container can be paused", c.ID, c.state.Status)
	}
	m := c.cgroup()
	if m == nil {
		return fmt.Errorf("container %s has no cgroup to freeze", c.ID)
	}
	return m.Freeze()
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	unlock, err := lockDir(c.dir)
	if err != nil {
		return err
	}
	defer unlock()
	c.refresh()
	if c.state.Status != Paused {
		return fmt.Errorf("container %s is %s, not paused", c.ID, c.state.Status)
	}
	return c.cgroup().Thaw()
}

// thawAfterKill thaws a frozen container once SIGKILL is sent, as runc
// does: on cgroup v1 a frozen process does not die, even of SIGKILL,
// until its cgroup is thawed (v2 kills frozen processes; the thaw is
// harmless there). Without it, containerd's `task delete --force` of a
// paused task waits forever.
func (c *Container) thawAfterKill(sig unix.Signal) {
	if sig != unix.SIGKILL {
		return
	}
	// Whatever the freezer says: a cgroup still FREEZING (v1: a pause
	// that has not completed, or one that timed out) freezes its tasks
	// later, SIGKILL pending or not. Thawing a thawed cgroup is harmless.
	if m := c.cgroup(); m != nil {
		_ = m.Thaw()
	}
}

// frozen reads the freezer state of the container's cgroup.
func (c *Container) frozen() bool {
	m := c.cgroup()
	if m == nil {
		return false
	}
	f, err := m.Frozen()
	return err == nil && f
}

// Pids lists every process of the container (its cgroup's).
func (c *Container) Pids() ([]int, error) {
	m := c.cgroup()
	if m == nil {
		if pids := c.pidNamespaceMembers(); len(pids) > 0 {
			return pids, nil // rootless, no cgroup: its PID namespace tells
		}
		return nil, fmt.Errorf("container %s has no cgroup", c.ID)
	}
	return m.Pids()
}

// Update changes the resource limits of a created or running container
// (runc update): the cgroup files are rewritten in place; the processes
// keep running under the new limits.
func (c *Container) Update(r *specs.LinuxResources) error {
	unlock, err := lockDir(c.dir)
	if err != nil {
		return err
	}
	defer unlock()
	c.refresh()
	if c.state.Status == Stopped {
		return fmt.Errorf("container %s is stopped: nothing to update", c.ID)
	}
	m := c.cgroup()
	if m == nil {
		return fmt.Errorf("container %s has no cgroup", c.ID)
	}
	return m.Set(r)
}
