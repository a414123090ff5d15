package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/atomicfile"
	"github.com/minirun/minirun/cgroups"
	"github.com/minirun/minirun/quickjson"
)

// Status values of the OCI runtime spec (runtime.md, "State").
const (
	Creating = specs.StateCreating
	Created  = specs.StateCreated
	Running  = specs.StateRunning
	Stopped  = specs.StateStopped
	// Paused is runc's extra status: running, but its cgroup is frozen.
	Paused specs.ContainerState = "paused"
)

// ErrNotExist is returned for an unknown container ID.
var ErrNotExist = errors.New("container does not exist")

// State is what state.json holds: the OCI state and what minirun needs to
// recognise its init process later.
type State struct {
	specs.State
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
	// InitStartTime is field 22 of /proc/<pid>/stat of init: with the PID
	// it names the process uniquely, even after PIDs wrap around.
	InitStartTime uint64 `json:"initStartTime"`
	// Cgroup locates the container's cgroup (nil before it exists).
	Cgroup *cgroups.Config `json:"cgroup,omitempty"`
	// LaterHooks tells whether config.json has poststart or poststop
	// hooks, which start and delete run: without them those need not read
	// and decode config.json again. nil in a state written before minirun
	// recorded it: then they read it to see.
	LaterHooks *bool `json:"laterHooks,omitempty"`
}

// laterHooks: the container's config may have poststart or poststop hooks.
func (s *State) laterHooks() bool { return s.LaterHooks == nil || *s.LaterHooks }

// validIDChars: an ID is [a-zA-Z0-9][a-zA-Z0-9_.-]*. A loop, not a
// regexp compiled at package init: every minirun process, each container's
// init included, would pay for it.
func validIDChars(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return id != ""
}

// ValidateID accepts IDs that are safe as a directory name.
func ValidateID(id string) error {
	if len(id) > 1024 || !validIDChars(id) {
		return fmt.Errorf("invalid container ID %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", id)
	}
	return nil
}

func (r *Runtime) dir(id string) string { return filepath.Join(r.Root, id) }

func writeJSON(path string, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o600)
}

// marshal is json.Marshal without its per-type set-up in each new process
// (quickjson: the same bytes), and json.Marshal itself for what quickjson
// leaves to it.
func marshal(v any) ([]byte, error) {
	if b, err := quickjson.Marshal(v); err == nil {
		return b, nil
	}
	return json.Marshal(v)
}

func (c *Container) save() error {
	return writeJSON(filepath.Join(c.dir, "state.json"), &c.state)
}

// ProcStartTime is procStartTime for other packages: with the PID it
// identifies a process for good (a recycled PID has another start time).
func ProcStartTime(pid int) (start uint64, state byte, err error) { return procStartTime(pid) }

// procStartTime reads field 22 (starttime) and field 3 (state) of
// /proc/<pid>/stat. The command name (field 2) may hold spaces and
// parentheses, so parsing starts after its closing ')'.
func procStartTime(pid int) (start uint64, state byte, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	return start, f[0][0], err
}

// alive tells whether the container's init is still the process it was.
func (c *Container) alive() bool {
	if c.state.Pid <= 0 {
		return false
	}
	start, st, err := procStartTime(c.state.Pid)
	if err != nil || start != c.state.InitStartTime {
		return false
	}
	return st != 'Z' && st != 'X'
}

// refresh derives the status from the kernel.
func (c *Container) refresh() {
	switch {
	case !c.alive():
		c.state.Status = Stopped
	case fileExists(filepath.Join(c.dir, execFifo)):
		c.state.Status = Created
	case c.frozen():
		c.state.Status = Paused
	default:
		c.state.Status = Running
	}
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// lock takes an exclusive flock(2) on the container's directory, so that
// two commands on one container never interleave.
func lockDir(dir string) (func(), error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { unix.Close(fd) }, nil
}
