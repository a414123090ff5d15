package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// v2 is a cgroup on a unified (cgroup v2) host: one directory.
type v2 struct {
	cfg Config
	dir string
}

func newV2(c Config) (*v2, error) {
	own, err := ownPaths()
	if err != nil {
		return nil, err
	}
	p, err := ResolvePath(c.Path, own[""])
	if err != nil {
		return nil, err
	}
	c.Path = p
	return &v2{cfg: c, dir: filepath.Join(Root, p)}, nil
}

func (m *v2) Config() Config { return m.cfg }

// Create makes the directory and, on the way down from the root, enables
// in every parent's cgroup.subtree_control the controllers the parent has
// (a controller is only available in a child when its parent enables it).
func (m *v2) Create() error {
	created, err := mkdirs(Root, m.dir)
	m.cfg.Created = append(m.cfg.Created, created...)
	if err != nil {
		return err
	}
	rel, _ := filepath.Rel(Root, m.dir)
	parent := Root
	for _, part := range strings.Split(rel, "/") {
		if err := enableControllers(parent); err != nil {
			return err
		}
		parent = filepath.Join(parent, part)
	}
	return nil
}

// enableControllers writes "+memory +pids ..." for every controller of dir
// that is not enabled yet for its children.
func enableControllers(dir string) error {
	avail, err := readValue(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("%s: read %s/cgroup.controllers: %w", Unified, dir, err)
	}
	on, _ := readValue(filepath.Join(dir, "cgroup.subtree_control"))
	enabled := map[string]bool{}
	for _, c := range strings.Fields(string(on)) {
		enabled[c] = true
	}
	var add []string
	for _, c := range strings.Fields(string(avail)) {
		if !enabled[c] {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil
	}
	if err := writeValue(filepath.Join(dir, "cgroup.subtree_control"), strings.Join(add, " ")); err != nil {
		// One refused controller (e.g. a busy cpuset) must not stop the rest.
		for _, c := range add {
			_ = writeValue(filepath.Join(dir, "cgroup.subtree_control"), c)
		}
	}
	return nil
}

func (m *v2) write(file, value string) error { return writeFile(Unified, m.dir, file, value) }

// Set writes the limits, converting the OCI (v1-shaped) fields the way
// runc does.
func (m *v2) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	if mem := r.Memory; mem != nil {
		if mem.Limit != nil {
			if err := m.write("memory.max", limit(*mem.Limit)); err != nil {
				return err
			}
		}
		if mem.Reservation != nil {
			if err := m.write("memory.low", limit(*mem.Reservation)); err != nil {
				return err
			}
		}
		if mem.Swap != nil {
			// OCI's swap is memory+swap (v1's memsw); v2's swap.max is swap alone.
			v := "max"
			if *mem.Swap >= 0 {
				if mem.Limit == nil || *mem.Limit < 0 {
					return errors.New("a swap limit needs a memory limit")
				}
				if *mem.Swap < *mem.Limit {
					return fmt.Errorf("memory+swap limit %d is below the memory limit %d", *mem.Swap, *mem.Limit)
				}
				v = strconv.FormatInt(*mem.Swap-*mem.Limit, 10)
			}
			if err := m.write("memory.swap.max", v); err != nil {
				return err
			}
		}
		if mem.DisableOOMKiller != nil && *mem.DisableOOMKiller {
			return errors.New("cgroup v2 cannot disable the OOM killer (memory.oom_control is v1 only)")
		}
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil && *c.Shares > 0 {
			if err := m.write("cpu.weight", strconv.FormatUint(ConvertSharesToWeight(*c.Shares), 10)); err != nil {
				return err
			}
		}
		if c.Quota != nil || c.Period != nil {
			period := uint64(100000)
			if c.Period != nil && *c.Period > 0 {
				period = *c.Period
			}
			quota := "max"
			if c.Quota != nil && *c.Quota > 0 {
				quota = strconv.FormatInt(*c.Quota, 10)
			}
			if err := m.write("cpu.max", quota+" "+strconv.FormatUint(period, 10)); err != nil {
				return err
			}
		}
		if c.Cpus != "" {
			if err := m.write("cpuset.cpus", c.Cpus); err != nil {
				return err
			}
		}
		if c.Mems != "" {
			if err := m.write("cpuset.mems", c.Mems); err != nil {
				return err
			}
		}
		if c.Idle != nil {
			if err := m.write("cpu.idle", strconv.FormatInt(*c.Idle, 10)); err != nil {
				return err
			}
		}
	}
	if r.Pids != nil {
		v := "max"
		if r.Pids.Limit != nil && *r.Pids.Limit > 0 {
			v = strconv.FormatInt(*r.Pids.Limit, 10)
		}
		if err := m.write("pids.max", v); err != nil {
			return err
		}
	}
	if err := m.setIO(r.BlockIO); err != nil {
		return err
	}
	for _, h := range r.HugepageLimits {
		if err := m.write("hugetlb."+h.Pagesize+".max", strconv.FormatUint(h.Limit, 10)); err != nil {
			return err
		}
	}
	for k, v := range r.Unified {
		if strings.ContainsAny(k, "/\x00") || k == "" || k == "." || k == ".." {
			return fmt.Errorf("linux.resources.unified: invalid file name %q", k)
		}
		if err := m.write(k, v); err != nil {
			return err
		}
	}
	if len(r.Devices) > 0 {
		// Attach the new program first, then detach any older one: in
		// between both apply, so there is never a moment without a filter.
		f, err := AttachDeviceFilter(m.dir, r.Devices)
		if err != nil {
			return fmt.Errorf("%s: device rules: %w", Unified, err)
		}
		err = f.DetachOthers()
		_ = f.Close() // the program stays attached to the cgroup
		if err != nil {
			return fmt.Errorf("%s: device rules: %w", Unified, err)
		}
	}
	return nil
}

func limit(v int64) string {
	if v < 0 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

func (m *v2) setIO(b *specs.LinuxBlockIO) error {
	if b == nil {
		return nil
	}
	if b.Weight != nil && *b.Weight > 0 {
		if err := m.write("io.weight", "default "+strconv.FormatUint(ConvertBlkioToIOWeight(*b.Weight), 10)); err != nil {
			return err
		}
	}
	lines := map[string][]string{}
	add := func(devs []specs.LinuxThrottleDevice, key string) {
		for _, d := range devs {
			dev := fmt.Sprintf("%d:%d", d.Major, d.Minor)
			lines[dev] = append(lines[dev], fmt.Sprintf("%s=%d", key, d.Rate))
		}
	}
	add(b.ThrottleReadBpsDevice, "rbps")
	add(b.ThrottleWriteBpsDevice, "wbps")
	add(b.ThrottleReadIOPSDevice, "riops")
	add(b.ThrottleWriteIOPSDevice, "wiops")
	for dev, kv := range lines {
		if err := m.write("io.max", dev+" "+strings.Join(kv, " ")); err != nil {
			return err
		}
	}
	return nil
}

func (m *v2) Apply(pid int) error {
	return m.write("cgroup.procs", strconv.Itoa(pid))
}

func (m *v2) Pids() ([]int, error) { return readPids(m.dir) }

func (m *v2) OOMKills() (uint64, error) { return keyedValue(m.dir, "memory.events", "oom_kill") }

func (m *v2) Freeze() error { return m.freeze("1") }
func (m *v2) Thaw() error   { return m.freeze("0") }

// freeze writes cgroup.freeze and waits for cgroup.events to confirm.
func (m *v2) Frozen() (bool, error) {
	got, err := keyedValue(m.dir, "cgroup.events", "frozen")
	return got == 1, err
}

func (m *v2) freeze(v string) error {
	if err := m.write("cgroup.freeze", v); err != nil {
		return err
	}
	if poll(time.Second, func() bool {
		got, err := keyedValue(m.dir, "cgroup.events", "frozen")
		return err == nil && strconv.FormatUint(got, 10) == v
	}) {
		return nil
	}
	return fmt.Errorf("%s: %s did not reach frozen=%s", Unified, m.dir, v)
}

func (m *v2) Stats() (*Stats, error) {
	s := &Stats{}
	s.MemoryUsage, _ = readUint(m.dir, "memory.current")
	s.MemoryLimit, _ = readUint(m.dir, "memory.max")
	if us, err := keyedValue(m.dir, "cpu.stat", "usage_usec"); err == nil {
		s.CPUUsage = time.Duration(us) * time.Microsecond
	}
	s.CPUThrottledPeriods, _ = keyedValue(m.dir, "cpu.stat", "nr_throttled")
	if us, err := keyedValue(m.dir, "cpu.stat", "throttled_usec"); err == nil {
		s.CPUThrottledTime = time.Duration(us) * time.Microsecond
	}
	s.Pids, _ = readUint(m.dir, "pids.current")
	s.PidsLimit, _ = readUint(m.dir, "pids.max")
	s.OOMKills, _ = m.OOMKills()
	if f, err := os.Open(filepath.Join(m.dir, "io.stat")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			for _, kv := range strings.Fields(sc.Text())[1:] {
				k, v, _ := strings.Cut(kv, "=")
				n, _ := strconv.ParseUint(v, 10, 64)
				switch k {
				case "rbytes":
					s.IOReadBytes += n
				case "wbytes":
					s.IOWriteBytes += n
				}
			}
		}
		f.Close()
	}
	if _, err := os.Stat(m.dir); err != nil {
		return nil, err
	}
	return s, nil
}

// Destroy kills everything in the cgroup with cgroup.kill (one write
// SIGKILLs the whole subtree), waits until it is empty, and removes it.
func (m *v2) Destroy() error {
	if pids, err := readPids(m.dir); err == nil && len(pids) > 0 {
		if err := writeValue(filepath.Join(m.dir, "cgroup.kill"), "1"); err != nil && !errors.Is(err, os.ErrNotExist) {
			killAll(m.dir)
		}
		waitEmpty(m.dir)
	}
	return removeDirs(m.cfg.Created)
}

// killAll SIGKILLs every process of dir (kernels before 5.14 have no
// cgroup.kill).
func killAll(dir string) {
	pids, _ := readPids(dir)
	for _, p := range pids {
		_ = unix.Kill(p, unix.SIGKILL)
	}
}

// waitEmpty waits (up to 2 s) until no process is left in dir. Killed
// processes leave within microseconds to milliseconds, so it polls with a
// growing pause rather than a fixed one.
func waitEmpty(dir string) {
	poll(2*time.Second, func() bool {
		pids, err := readPids(dir)
		return err != nil || len(pids) == 0
	})
}

// poll calls done with pauses growing from 50µs until it returns true or
// the time is up; it reports whether done returned true.
func poll(limit time.Duration, done func() bool) bool {
	deadline := time.Now().Add(limit)
	for pause := 50 * time.Microsecond; ; pause = min(2*pause, 10*time.Millisecond) {
		if done() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
	}
}

// CloneInto opens the directory of a v2 cgroup for clone3(2)'s
// CLONE_INTO_CGROUP: a process born directly in the cgroup. Moving one in
// afterwards (writing cgroup.procs) takes the kernel's
// cgroup_threadgroup_rwsem for writing, which waits for an RCU grace
// period — 10-20 ms of a container's start on a machine that moves
// processes rarely. ok is false on v1, where the move is the only way.
func CloneInto(m Manager) (f *os.File, ok bool, err error) {
	v, isV2 := m.(*v2)
	if !isV2 {
		return nil, false, nil
	}
	f, err = os.OpenFile(v.dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false, err
	}
	return f, true, nil
}
