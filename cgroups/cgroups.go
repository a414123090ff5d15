package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/trace"
)

// Manager is one container's cgroup, on whichever version the host has.
type Manager interface {
	// Create makes the cgroup directories (and enables the controllers
	// on the way down, on v2). It records what it created in Config.
	Create() error
	// Set writes the OCI resource limits. Called before the process runs.
	Set(r *specs.LinuxResources) error
	// Apply moves a process into the cgroup (cgroup.procs).
	Apply(pid int) error
	// Pids lists every process in the cgroup.
	Pids() ([]int, error)
	// Stats reads the usage counters.
	Stats() (*Stats, error)
	// OOMKills is how many processes the kernel's OOM killer killed in
	// the cgroup.
	OOMKills() (uint64, error)
	// Freeze stops every process of the cgroup; Thaw lets them go on.
	Freeze() error
	Thaw() error
	// Frozen tells whether the cgroup is frozen.
	Frozen() (bool, error)
	// Destroy kills what is left in the cgroup and removes every directory
	// Create made, even after a failure half-way.
	Destroy() error
	// Config is what must be saved to find the cgroup again.
	Config() Config
}

// Config locates a container's cgroup; it is saved in the container state.
type Config struct {
	Mode Mode `json:"mode"`
	// Path is the cgroup path as given (absolute, or relative to the
	// caller's own cgroup), resolved to absolute on v2.
	Path string `json:"path"`
	// Dirs are the cgroup directories on v1: hierarchy -> directory
	// ("memory" -> /sys/fs/cgroup/memory/x/y). A relative Path resolves
	// differently in each hierarchy, as the caller's own cgroup does.
	Dirs map[string]string `json:"dirs,omitempty"`
	// Created lists the directories Create made (deepest last), so that
	// Destroy removes exactly those and never a cgroup someone else made.
	Created []string `json:"created,omitempty"`
}

// Stats are a cgroup's usage counters, with the same meaning on v1 and v2.
type Stats struct {
	MemoryUsage, MemoryLimit  uint64 // bytes; limit 0 = none
	CPUUsage                  time.Duration
	CPUThrottledPeriods       uint64
	CPUThrottledTime          time.Duration
	Pids, PidsLimit           uint64 // limit 0 = none
	IOReadBytes, IOWriteBytes uint64
	OOMKills                  uint64
}

// New returns a manager for the cgroup at path (an OCI cgroupsPath:
// absolute, or relative to the caller's own cgroup) on this host.
func New(path string) (Manager, error) {
	mode := DetectMode()
	switch mode {
	case Unified:
		return newV2(Config{Mode: mode, Path: path})
	case Legacy, Hybrid:
		return newV1(Config{Mode: mode, Path: path})
	}
	return nil, errors.New("no cgroup filesystem is mounted at /sys/fs/cgroup: mount cgroup2 there (mount -t cgroup2 none /sys/fs/cgroup)")
}

// Load finds a cgroup again from its saved Config.
func Load(c Config) (Manager, error) {
	switch c.Mode {
	case Unified:
		return &v2{cfg: c, dir: filepath.Join(Root, c.Path)}, nil
	case Legacy, Hybrid:
		return loadV1(c)
	}
	return nil, fmt.Errorf("unknown cgroup mode %d", c.Mode)
}

// writeFile writes one cgroup file; the error names the file, the value
// and the host's mode, which is what a person needs to fix it.
func writeFile(mode Mode, dir, file, value string) error {
	p := filepath.Join(dir, file)
	end := trace.StepFn("cgroups", cgroupWords(file), "cgroups(7)", func() string { return "write " + p + " = " + value })
	err := writeValue(p, value)
	end(err)
	if err != nil {
		var hint string
		switch {
		case errors.Is(err, os.ErrNotExist):
			hint = ": this kernel or mode has no such file (is the controller enabled?)"
		case errors.Is(err, unix.EBUSY):
			hint = ": the kernel refused it while the group uses more than that"
		case errors.Is(err, unix.EINVAL):
			hint = ": the kernel does not accept this value"
		}
		return fmt.Errorf("%s: write %s = %s in %s: %w%s", mode, file, value, dir, err, hint)
	}
	return nil
}

func readUint(dir, file string) (uint64, error) {
	b, err := readValue(filepath.Join(dir, file))
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// keyedValue reads "key value" lines (memory.events, cpu.stat, ...).
func keyedValue(dir, file, key string) (uint64, error) {
	b, err := readValue(filepath.Join(dir, file))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == key {
			return strconv.ParseUint(f[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no %q line", filepath.Join(dir, file), key)
}

func readPids(dir string) ([]int, error) {
	b, err := readValue(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids, nil
}

// mkdirs creates dir and its missing parents below root, returning the
// directories it created, top first.
func mkdirs(root, dir string) ([]string, error) {
	// mkdir(2) itself tells what is missing (no stat(2) first): EEXIST,
	// the directory is there; ENOENT, its parent is not, so go up.
	var missing []string // deepest first
	var created []string
	for d := dir; d != root && d != "/" && d != "."; d = filepath.Dir(d) {
		err := mkdir(d)
		if err == nil {
			created = append(created, d)
			break
		}
		if errors.Is(err, unix.EEXIST) {
			break
		}
		if !errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("create cgroup %s: %w", d, err)
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := mkdir(missing[i]); err != nil && !errors.Is(err, unix.EEXIST) {
			return created, fmt.Errorf("create cgroup %s: %w", missing[i], err)
		}
		created = append(created, missing[i])
	}
	return created, nil
}

// mkdir creates one cgroup directory.
func mkdir(d string) error {
	end := trace.StepFn("cgroups", "create a cgroup (a directory)", "cgroups(7)", func() string { return "mkdir " + d })
	err := unix.Mkdir(d, 0o755)
	end(err)
	return err
}

// removeDirs removes created directories, deepest first, with rmdir(2):
// a cgroup directory goes once it has no process and no child. The leaf is
// retried briefly (EBUSY right after its last process died); a parent
// that still holds other containers is left in place.
func removeDirs(created []string) error {
	for i := len(created) - 1; i >= 0; i-- {
		end := trace.StepFn("cgroups", "remove a cgroup", "cgroups(7)", func() string { return "rmdir " + created[i] })
		err := unix.Rmdir(created[i])
		if err == unix.EBUSY && i == len(created)-1 {
			poll(time.Second, func() bool {
				err = unix.Rmdir(created[i])
				return err != unix.EBUSY
			})
		}
		if i < len(created)-1 && (err == unix.ENOTEMPTY || err == unix.EBUSY) {
			end(nil) // a parent other containers still use: kept, no failure
		} else {
			end(err)
		}
		switch {
		case err == nil || err == unix.ENOENT:
		case i < len(created)-1 && (err == unix.ENOTEMPTY || err == unix.EBUSY):
			return nil // shared parent still in use
		default:
			return fmt.Errorf("remove cgroup %s: %w", created[i], err)
		}
	}
	return nil
}

// ConvertSharesToWeight maps cgroup v1 cpu.shares [2, 262144] to v2
// cpu.weight [1, 10000] linearly, as runc and crun do (1024 -> 39).
func ConvertSharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0
	}
	if shares < 2 {
		shares = 2
	}
	if shares > 262144 {
		shares = 262144
	}
	return 1 + ((shares-2)*9999)/262142
}

// ConvertBlkioToIOWeight maps v1 blkio.weight [10, 1000] to v2 io.weight
// [1, 10000], as runc does.
func ConvertBlkioToIOWeight(w uint16) uint64 {
	if w == 0 {
		return 0
	}
	return 1 + (uint64(w)-10)*9999/990
}

// cgroupWords says in plain words what writing a cgroup file does.
func cgroupWords(file string) string {
	switch file {
	case "memory.max", "memory.limit_in_bytes":
		return "set the memory limit"
	case "memory.swap.max", "memory.memsw.limit_in_bytes":
		return "set the memory+swap limit"
	case "memory.low", "memory.soft_limit_in_bytes":
		return "set the memory reservation"
	case "pids.max":
		return "limit the number of processes"
	case "cpu.max", "cpu.cfs_quota_us", "cpu.cfs_period_us":
		return "limit the CPU time"
	case "cpu.weight", "cpu.shares":
		return "set the CPU share"
	case "cpuset.cpus", "cpuset.mems":
		return "pin to CPUs / memory nodes"
	case "cgroup.procs":
		return "move the process into the cgroup"
	case "cgroup.subtree_control":
		return "enable controllers for the children"
	case "devices.allow", "devices.deny":
		return "allow or deny a device"
	case "cgroup.freeze", "freezer.state":
		return "freeze or thaw the processes"
	case "cgroup.kill":
		return "kill every process of the cgroup"
	}
	return "write a cgroup setting"
}
