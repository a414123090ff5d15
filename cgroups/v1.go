package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// v1 is a cgroup on a legacy or hybrid host: one directory in every
// mounted v1 hierarchy.
type v1 struct {
	cfg Config
}

// hierarchies maps each mounted v1 hierarchy to its mount point, keyed by
// its options as /proc/self/cgroup names it ("memory", "cpu,cpuacct",
// "name=systemd"), from /proc/self/mountinfo.
func hierarchies() (map[string]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		// ... mountpoint(4) ... - fstype source superoptions
		sep := -1
		for i, x := range fields {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+3 >= len(fields) || fields[sep+1] != "cgroup" {
			continue
		}
		var ctrls []string
		for _, o := range strings.Split(fields[sep+3], ",") {
			switch o {
			case "rw", "ro", "relatime", "nosuid", "nodev", "noexec", "clone_children", "xattr":
			default:
				if !strings.HasPrefix(o, "release_agent=") {
					ctrls = append(ctrls, o)
				}
			}
		}
		sort.Strings(ctrls)
		if len(ctrls) > 0 {
			out[strings.Join(ctrls, ",")] = fields[4]
		}
	}
	return out, s.Err()
}

func newV1(c Config) (*v1, error) {
	hs, err := hierarchies()
	if err != nil {
		return nil, err
	}
	own, err := ownPaths()
	if err != nil {
		return nil, err
	}
	c.Dirs = map[string]string{}
	for name, mnt := range hs {
		p, err := ResolvePath(c.Path, own[name])
		if err != nil {
			return nil, err
		}
		c.Dirs[name] = filepath.Join(mnt, p)
	}
	return &v1{cfg: c}, nil
}

func loadV1(c Config) (*v1, error) { return &v1{cfg: c}, nil }

func (m *v1) Config() Config { return m.cfg }

// dir returns the directory of the hierarchy holding controller ctrl.
func (m *v1) dir(ctrl string) string {
	for name, d := range m.cfg.Dirs {
		for _, c := range strings.Split(name, ",") {
			if c == ctrl {
				return d
			}
		}
	}
	return ""
}

func (m *v1) names() []string {
	var names []string
	for n := range m.cfg.Dirs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (m *v1) Create() error {
	for _, name := range m.names() {
		d := m.cfg.Dirs[name]
		created, err := mkdirs(hierarchyRoot(d), d)
		m.cfg.Created = append(m.cfg.Created, created...)
		if err != nil {
			return fmt.Errorf("%s: %w", m.cfg.Mode, err)
		}
		if strings.Contains(","+name+",", ",cpuset,") {
			// A new v1 cpuset starts with no CPUs and no memory nodes, and
			// refuses processes until it gets some: copy the parent's.
			for _, c := range created {
				for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
					b, _ := readValue(filepath.Join(filepath.Dir(c), f))
					if err := writeFile(m.cfg.Mode, c, f, strings.TrimSpace(string(b))); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// hierarchyRoot is the mount point a cgroup directory belongs to
// (/sys/fs/cgroup/memory for /sys/fs/cgroup/memory/a/b).
func hierarchyRoot(d string) string {
	rel, err := filepath.Rel(Root, d)
	if err != nil || strings.HasPrefix(rel, "..") {
		return ""
	}
	return filepath.Join(Root, strings.Split(rel, "/")[0])
}

func (m *v1) write(ctrl, file, value string) error {
	d := m.dir(ctrl)
	if d == "" {
		return fmt.Errorf("%s: the %s controller is not mounted on this host (needed for %s)", m.cfg.Mode, ctrl, file)
	}
	return writeFile(m.cfg.Mode, d, file, value)
}

func (m *v1) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	if mem := r.Memory; mem != nil {
		writeLimit := func() error {
			if mem.Limit == nil {
				return nil
			}
			return m.write("memory", "memory.limit_in_bytes", strconv.FormatInt(*mem.Limit, 10))
		}
		writeSwap := func() error {
			if mem.Swap == nil {
				return nil
			}
			if _, err := os.Stat(filepath.Join(m.dir("memory"), "memory.memsw.limit_in_bytes")); err == nil {
				return m.write("memory", "memory.memsw.limit_in_bytes", strconv.FormatInt(*mem.Swap, 10))
			} else if hostHasSwap() {
				return fmt.Errorf("%s: a swap limit needs swap accounting, which this kernel has off (boot with swapaccount=1)", m.cfg.Mode)
			}
			// No swap on the host: memory+swap is just memory, nothing to limit.
			return nil
		}
		// The kernel keeps limit <= memsw.limit at every step: raising
		// both (update, or a cgroup that exists already) must write memsw
		// first, lowering them the limit first, as runc does.
		first, second := writeLimit, writeSwap
		if mem.Limit != nil && mem.Swap != nil {
			cur, err := readUint(m.dir("memory"), "memory.limit_in_bytes")
			if *mem.Swap == -1 || (err == nil && cur < uint64(*mem.Swap)) {
				first, second = writeSwap, writeLimit
			}
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
		if mem.KernelTCP != nil {
			if err := m.write("memory", "memory.kmem.tcp.limit_in_bytes", strconv.FormatInt(*mem.KernelTCP, 10)); err != nil {
				return err
			}
		}
		if mem.Reservation != nil {
			if err := m.write("memory", "memory.soft_limit_in_bytes", strconv.FormatInt(*mem.Reservation, 10)); err != nil {
				return err
			}
		}
		if mem.Swappiness != nil {
			if err := m.write("memory", "memory.swappiness", strconv.FormatUint(*mem.Swappiness, 10)); err != nil {
				return err
			}
		}
		if mem.DisableOOMKiller != nil && *mem.DisableOOMKiller {
			if err := m.write("memory", "memory.oom_control", "1"); err != nil {
				return err
			}
		}
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil && *c.Shares > 0 {
			if err := m.write("cpu", "cpu.shares", strconv.FormatUint(*c.Shares, 10)); err != nil {
				return err
			}
		}
		if c.Period != nil && *c.Period > 0 {
			if err := m.write("cpu", "cpu.cfs_period_us", strconv.FormatUint(*c.Period, 10)); err != nil {
				return err
			}
		}
		if c.Quota != nil && *c.Quota != 0 {
			if err := m.write("cpu", "cpu.cfs_quota_us", strconv.FormatInt(*c.Quota, 10)); err != nil {
				return err
			}
		}
		if c.Cpus != "" {
			if err := m.write("cpuset", "cpuset.cpus", c.Cpus); err != nil {
				return err
			}
		}
		if c.Mems != "" {
			if err := m.write("cpuset", "cpuset.mems", c.Mems); err != nil {
				return err
			}
		}
	}
	if r.Pids != nil && r.Pids.Limit != nil {
		v := "max"
		if *r.Pids.Limit > 0 {
			v = strconv.FormatInt(*r.Pids.Limit, 10)
		}
		if err := m.write("pids", "pids.max", v); err != nil {
			return err
		}
	}
	if b := r.BlockIO; b != nil {
		if b.Weight != nil && *b.Weight > 0 {
			file := "blkio.weight"
			if _, err := os.Stat(filepath.Join(m.dir("blkio"), file)); err != nil {
				file = "blkio.bfq.weight"
			}
			if err := m.write("blkio", file, strconv.FormatUint(uint64(*b.Weight), 10)); err != nil {
				return err
			}
		}
		for file, devs := range map[string][]specs.LinuxThrottleDevice{
			"blkio.throttle.read_bps_device":   b.ThrottleReadBpsDevice,
			"blkio.throttle.write_bps_device":  b.ThrottleWriteBpsDevice,
			"blkio.throttle.read_iops_device":  b.ThrottleReadIOPSDevice,
			"blkio.throttle.write_iops_device": b.ThrottleWriteIOPSDevice,
		} {
			for _, d := range devs {
				if err := m.write("blkio", file, fmt.Sprintf("%d:%d %d", d.Major, d.Minor, d.Rate)); err != nil {
					return err
				}
			}
		}
	}
	for _, h := range r.HugepageLimits {
		if err := m.write("hugetlb", "hugetlb."+h.Pagesize+".limit_in_bytes", strconv.FormatUint(h.Limit, 10)); err != nil {
			return err
		}
	}
	if n := r.Network; n != nil {
		if n.ClassID != nil {
			if err := m.write("net_cls", "net_cls.classid", strconv.FormatUint(uint64(*n.ClassID), 10)); err != nil {
				return err
			}
		}
		for _, p := range n.Priorities {
			if err := m.write("net_prio", "net_prio.ifpriomap", fmt.Sprintf("%s %d", p.Name, p.Priority)); err != nil {
				return err
			}
		}
	}
	if len(r.Unified) > 0 {
		return fmt.Errorf("%s: linux.resources.unified needs a cgroup v2 host", m.cfg.Mode)
	}
	if len(r.Devices) > 0 {
		d := m.dir("devices")
		if d == "" {
			return fmt.Errorf("%s: the devices controller is not mounted", m.cfg.Mode)
		}
		if err := SetDevicesV1(d, r.Devices); err != nil {
			return fmt.Errorf("%s: %w", m.cfg.Mode, err)
		}
	}
	return nil
}

// hostHasSwap tells whether any swap area is active (/proc/swaps).
func hostHasSwap() bool {
	b, err := os.ReadFile("/proc/swaps")
	return err == nil && strings.Count(string(b), "\n") > 1
}

// Apply writes pid to cgroup.procs of every hierarchy.
func (m *v1) Apply(pid int) error {
	for _, name := range m.names() {
		if err := writeFile(m.cfg.Mode, m.cfg.Dirs[name], "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// procsDir is the hierarchy used to list processes.
func (m *v1) procsDir() string {
	for _, c := range []string{"pids", "memory", "freezer", "cpu", "devices"} {
		if d := m.dir(c); d != "" {
			return d
		}
	}
	for _, d := range m.cfg.Dirs {
		return d
	}
	return ""
}

func (m *v1) Pids() ([]int, error) { return readPids(m.procsDir()) }

func (m *v1) OOMKills() (uint64, error) {
	return keyedValue(m.dir("memory"), "memory.oom_control", "oom_kill")
}

func (m *v1) Freeze() error { return m.freeze("FROZEN") }
func (m *v1) Thaw() error   { return m.freeze("THAWED") }

func (m *v1) Frozen() (bool, error) {
	d := m.dir("freezer")
	if d == "" {
		return false, nil
	}
	b, err := readValue(filepath.Join(d, "freezer.state"))
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(string(b)) == "FROZEN", nil
}

func (m *v1) freeze(state string) error {
	d := m.dir("freezer")
	if d == "" {
		return fmt.Errorf("%s: the freezer controller is not mounted", m.cfg.Mode)
	}
	if err := writeFile(m.cfg.Mode, d, "freezer.state", state); err != nil {
		return err
	}
	// v1 freezes in the background: FREEZING until every task is caught.
	// A task that waits uninterruptibly for another one can never be:
	// a multi-threaded process in execve(2) (the container's init, Go,
	// right after start) waits in de_thread for its other threads to
	// die, and those, frozen first, cannot. So, as runc does, a write of
	// FROZEN nudges it, and every ~100 ms a short thaw lets such a wait
	// finish before freezing again.
	deadline := time.Now().Add(5 * time.Second)
	for i := 1; ; i++ {
		b, err := readValue(filepath.Join(d, "freezer.state"))
		if err == nil && strings.TrimSpace(string(b)) == state {
			return nil
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Millisecond)
		if state == "FROZEN" {
			if i%50 == 0 {
				_ = writeFile(m.cfg.Mode, d, "freezer.state", "THAWED")
				time.Sleep(10 * time.Millisecond)
			}
			_ = writeFile(m.cfg.Mode, d, "freezer.state", state)
		}
	}
	if state == "FROZEN" {
		// Not half frozen: a failed pause leaves the container running.
		_ = writeFile(m.cfg.Mode, d, "freezer.state", "THAWED")
	}
	return fmt.Errorf("%s: %s did not become %s within 5s", m.cfg.Mode, d, state)
}

func (m *v1) Stats() (*Stats, error) {
	s := &Stats{}
	md := m.dir("memory")
	if _, err := os.Stat(md); err != nil {
		return nil, err
	}
	s.MemoryUsage, _ = readUint(md, "memory.usage_in_bytes")
	if l, err := readUint(md, "memory.limit_in_bytes"); err == nil && l < 1<<62 {
		s.MemoryLimit = l
	}
	if ns, err := readUint(m.dir("cpuacct"), "cpuacct.usage"); err == nil {
		s.CPUUsage = time.Duration(ns)
	}
	s.CPUThrottledPeriods, _ = keyedValue(m.dir("cpu"), "cpu.stat", "nr_throttled")
	if ns, err := keyedValue(m.dir("cpu"), "cpu.stat", "throttled_time"); err == nil {
		s.CPUThrottledTime = time.Duration(ns)
	}
	s.Pids, _ = readUint(m.dir("pids"), "pids.current")
	s.PidsLimit, _ = readUint(m.dir("pids"), "pids.max")
	s.OOMKills, _ = m.OOMKills()
	if b, err := readValue(filepath.Join(m.dir("blkio"), "blkio.throttle.io_service_bytes")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) == 3 {
				n, _ := strconv.ParseUint(f[2], 10, 64)
				switch f[1] {
				case "Read":
					s.IOReadBytes += n
				case "Write":
					s.IOWriteBytes += n
				}
			}
		}
	}
	return s, nil
}

// Destroy empties the cgroup — freeze it so nothing can fork while we
// kill, SIGKILL every process, thaw so the signals are delivered — and
// removes the directories Create made, in every hierarchy.
func (m *v1) Destroy() error {
	if d := m.procsDir(); d != "" {
		// Only a cgroup with processes left needs the freeze-and-kill.
		if pids, err := readPids(d); err == nil && len(pids) > 0 {
			frozen := m.Freeze() == nil
			killAll(d)
			if frozen {
				_ = m.Thaw()
			}
			waitEmpty(d)
		}
	}
	var errs []error
	byRoot := map[string][]string{}
	var roots []string
	for _, c := range m.cfg.Created {
		r := hierarchyRoot(c)
		if _, ok := byRoot[r]; !ok {
			roots = append(roots, r)
		}
		byRoot[r] = append(byRoot[r], c)
	}
	for _, r := range roots {
		if err := removeDirs(byRoot[r]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// SelfJoinFiles opens, for writing, the tasks file of every hierarchy of a
// v1 cgroup, for a process to move itself in by writing "0" to each before
// it has a second thread (see cgroups/cgjoin): the one migration for which
// the kernel skips cgroup_threadgroup_rwsem, and so the RCU grace period
// that Apply's cgroup.procs write waits for. The files are opened here, by
// root, because cgroup v1 checks the credentials of whoever opened the
// file. ok is false on v2, where CloneInto does better.
func SelfJoinFiles(m Manager) (files []*os.File, paths []string, ok bool, err error) {
	v, isV1 := m.(*v1)
	if !isV1 {
		return nil, nil, false, nil
	}
	for _, name := range v.names() {
		p := filepath.Join(v.cfg.Dirs[name], "tasks")
		fd, err := openFile(p, unix.O_WRONLY)
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, nil, false, err
		}
		files, paths = append(files, os.NewFile(uintptr(fd), p)), append(paths, p)
	}
	return files, paths, true, nil
}
