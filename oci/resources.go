package oci

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Limits are Docker's resource flags, as typed.
type Limits struct {
	Memory            string // -m, --memory: 64m
	MemoryReservation string // --memory-reservation
	MemorySwap        string // --memory-swap: memory+swap, -1 unlimited
	MemorySwappiness  int64  // --memory-swappiness, -1 unset
	OOMKillDisable    bool
	CPUs              string // --cpus: 0.5
	CPUShares         int64  // --cpu-shares
	CPUQuota          int64  // --cpu-quota (µs)
	CPUPeriod         int64  // --cpu-period (µs)
	CPUsetCPUs        string // --cpuset-cpus: 0-1,3
	CPUsetMems        string
	PidsLimit         int64 // --pids-limit, 0 unset, -1 unlimited
	BlkioWeight       uint16
	DeviceReadBps     []string // /dev/vda:1mb
	DeviceWriteBps    []string
	DeviceReadIOps    []string // /dev/vda:100
	DeviceWriteIOps   []string
}

// minMemory is Docker's floor for -m: below it a container cannot start.
const minMemory = 6 * 1024 * 1024

// ParseBytes parses Docker's sizes: "64m", "1g", "512k", "1024", "1.5GB"
// (binary units, as docker's RAMInBytes).
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "ib")
	t = strings.TrimSuffix(t, "b")
	mult := float64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult, t = 1<<10, t[:n-1]
		case 'm':
			mult, t = 1<<20, t[:n-1]
		case 'g':
			mult, t = 1<<30, t[:n-1]
		case 't':
			mult, t = 1<<40, t[:n-1]
		case 'p':
			mult, t = 1<<50, t[:n-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || f*mult > math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q: use a number with an optional unit b, k, m, g, t (e.g. 64m)", s)
	}
	return int64(f * mult), nil
}

// Resources turns Docker's flags into OCI linux.resources, checking them
// the way Docker does so that a bad value fails before anything exists.
func (l Limits) Resources() (*specs.LinuxResources, error) {
	r := &specs.LinuxResources{}
	mem := &specs.LinuxMemory{}
	var memLimit int64
	if l.Memory != "" {
		v, err := ParseBytes(l.Memory)
		if err != nil {
			return nil, fmt.Errorf("--memory: %w", err)
		}
		if v < minMemory {
			return nil, fmt.Errorf("--memory %s: the minimum memory limit is 6MB (a smaller one kills the container before it starts)", l.Memory)
		}
		memLimit = v
		mem.Limit = &v
	}
	if l.MemoryReservation != "" {
		v, err := ParseBytes(l.MemoryReservation)
		if err != nil {
			return nil, fmt.Errorf("--memory-reservation: %w", err)
		}
		if memLimit > 0 && v > memLimit {
			return nil, fmt.Errorf("--memory-reservation %s must be smaller than --memory %s", l.MemoryReservation, l.Memory)
		}
		mem.Reservation = &v
	}
	if l.MemorySwap != "" {
		var v int64 = -1
		if l.MemorySwap != "-1" {
			var err error
			if v, err = ParseBytes(l.MemorySwap); err != nil {
				return nil, fmt.Errorf("--memory-swap: %w", err)
			}
		}
		if memLimit == 0 {
			return nil, fmt.Errorf("--memory-swap needs --memory as well (it is memory plus swap)")
		}
		if v >= 0 && v < memLimit {
			return nil, fmt.Errorf("--memory-swap %s must be at least --memory %s (it is memory plus swap)", l.MemorySwap, l.Memory)
		}
		mem.Swap = &v
	}
	if l.MemorySwap == "" && memLimit > 0 {
		// Docker's default: as much swap as memory (memory+swap = 2 x memory).
		v := 2 * memLimit
		mem.Swap = &v
	}
	if l.MemorySwappiness >= 0 {
		if l.MemorySwappiness > 100 {
			return nil, fmt.Errorf("--memory-swappiness %d: want 0 to 100", l.MemorySwappiness)
		}
		v := uint64(l.MemorySwappiness)
		mem.Swappiness = &v
	}
	if l.OOMKillDisable {
		t := true
		mem.DisableOOMKiller = &t
	}
	if *mem != (specs.LinuxMemory{}) {
		r.Memory = mem
	}

	cpu := &specs.LinuxCPU{}
	if l.CPUs != "" {
		f, err := strconv.ParseFloat(l.CPUs, 64)
		if err != nil || f <= 0 || math.IsNaN(f) {
			return nil, fmt.Errorf("--cpus %q: want a positive number of CPUs, e.g. 0.5", l.CPUs)
		}
		if n := onlineCPUs(); n > 0 && f > float64(n) {
			return nil, fmt.Errorf("--cpus %s: this host has only %d CPUs", l.CPUs, n)
		}
		if l.CPUQuota != 0 || l.CPUPeriod != 0 {
			return nil, fmt.Errorf("--cpus and --cpu-quota/--cpu-period cannot be used together")
		}
		period := uint64(100000)
		quota := int64(f * float64(period))
		cpu.Period, cpu.Quota = &period, &quota
	}
	if l.CPUShares < 0 {
		return nil, fmt.Errorf("--cpu-shares %d: want a positive weight (default 1024)", l.CPUShares)
	}
	if l.CPUShares > 0 {
		v := uint64(l.CPUShares)
		if v < 2 {
			v = 2
		}
		cpu.Shares = &v
	}
	if l.CPUPeriod != 0 {
		if l.CPUPeriod < 1000 || l.CPUPeriod > 1000000 {
			return nil, fmt.Errorf("--cpu-period %d: want 1000 to 1000000 microseconds", l.CPUPeriod)
		}
		v := uint64(l.CPUPeriod)
		cpu.Period = &v
	}
	if l.CPUQuota != 0 {
		if l.CPUQuota > 0 && l.CPUQuota < 1000 {
			return nil, fmt.Errorf("--cpu-quota %d: want at least 1000 microseconds", l.CPUQuota)
		}
		v := l.CPUQuota
		cpu.Quota = &v
	}
	if l.CPUsetCPUs != "" {
		if err := checkCPUList("--cpuset-cpus", l.CPUsetCPUs, "/sys/devices/system/cpu/online"); err != nil {
			return nil, err
		}
		cpu.Cpus = l.CPUsetCPUs
	}
	if l.CPUsetMems != "" {
		if err := checkCPUList("--cpuset-mems", l.CPUsetMems, "/sys/devices/system/node/online"); err != nil {
			return nil, err
		}
		cpu.Mems = l.CPUsetMems
	}
	if *cpu != (specs.LinuxCPU{}) {
		r.CPU = cpu
	}
	if l.PidsLimit != 0 {
		v := l.PidsLimit
		if v < -1 {
			return nil, fmt.Errorf("--pids-limit %d: want a positive number, or -1 for no limit", v)
		}
		r.Pids = &specs.LinuxPids{Limit: &v}
	}
	blk := &specs.LinuxBlockIO{}
	if l.BlkioWeight != 0 {
		if l.BlkioWeight < 10 || l.BlkioWeight > 1000 {
			return nil, fmt.Errorf("--blkio-weight %d: want 10 to 1000", l.BlkioWeight)
		}
		w := l.BlkioWeight
		blk.Weight = &w
	}
	var err error
	if blk.ThrottleReadBpsDevice, err = throttles("--device-read-bps", l.DeviceReadBps, true); err != nil {
		return nil, err
	}
	if blk.ThrottleWriteBpsDevice, err = throttles("--device-write-bps", l.DeviceWriteBps, true); err != nil {
		return nil, err
	}
	if blk.ThrottleReadIOPSDevice, err = throttles("--device-read-iops", l.DeviceReadIOps, false); err != nil {
		return nil, err
	}
	if blk.ThrottleWriteIOPSDevice, err = throttles("--device-write-iops", l.DeviceWriteIOps, false); err != nil {
		return nil, err
	}
	if blk.Weight != nil || len(blk.ThrottleReadBpsDevice)+len(blk.ThrottleWriteBpsDevice)+len(blk.ThrottleReadIOPSDevice)+len(blk.ThrottleWriteIOPSDevice) > 0 {
		r.BlockIO = blk
	}
	return r, nil
}

// throttles parses "/dev/vda:1mb" (or ":100" operations) into the device's
// major:minor and a rate.
func throttles(flag string, specsIn []string, bytes bool) ([]specs.LinuxThrottleDevice, error) {
	var out []specs.LinuxThrottleDevice
	for _, s := range specsIn {
		path, rate, ok := strings.Cut(s, ":")
		if !ok || path == "" || rate == "" {
			return nil, fmt.Errorf("%s %q: want DEVICE:RATE, e.g. /dev/vda:1mb", flag, s)
		}
		var v int64
		var err error
		if bytes {
			v, err = ParseBytes(rate)
		} else {
			v, err = strconv.ParseInt(rate, 10, 64)
			if err == nil && v < 0 {
				err = fmt.Errorf("negative")
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s %q: invalid rate: %v", flag, s, err)
		}
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			return nil, fmt.Errorf("%s %q: %v", flag, s, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFBLK {
			return nil, fmt.Errorf("%s %q: %s is not a block device", flag, s, path)
		}
		d := specs.LinuxThrottleDevice{Rate: uint64(v)}
		d.Major, d.Minor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		out = append(out, d)
	}
	return out, nil
}

// parseList parses "0-2,5" into its members.
func parseList(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("%q is not a list like 0-2,5", s)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a list like 0-2,5", s)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}

// checkCPUList validates a cpuset list against what the host has online.
func checkCPUList(flag, list, onlineFile string) error {
	want, err := parseList(list)
	if err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	b, err := os.ReadFile(onlineFile)
	if err != nil {
		return nil
	}
	online := strings.TrimSpace(string(b))
	have, err := parseList(online)
	if err != nil {
		return nil
	}
	ok := map[int]bool{}
	for _, h := range have {
		ok[h] = true
	}
	for _, w := range want {
		if !ok[w] {
			return fmt.Errorf("%s %s: %d is not available on this host (available: %s)", flag, list, w, online)
		}
	}
	return nil
}

func onlineCPUs() int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return 0
	}
	l, err := parseList(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return len(l)
}
