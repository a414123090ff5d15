package probe

import (
	"bytes"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Report is what the probe saw: field → value. Field names are dotted
// paths ("caps.effective", "mount./dev.options"); encoding/json writes a
// map's keys sorted, so two reports line up.
type Report map[string]string

// Docker's masked and read-only paths: what a container should not see or
// not write. The probe keeps its own copy (not minirun's) so that it checks
// minirun rather than repeats it.
var (
	MaskedPaths = []string{"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap"}
	ReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// Collect probes the calling process. cmd, if not empty, is run last and
// its combined output and exit code reported (command.output, command.exit).
func Collect(cmd []string) Report {
	r := Report{}
	// First, before this program opens anything of its own.
	r.fds()
	r.status()
	r.process()
	r.idMaps()
	r.rlimits()
	mounts := r.mounts()
	r.masked(mounts)
	r.cgroup()
	r.devices()
	r.network()
	r.files()
	r.env()
	if len(cmd) > 0 {
		r.command(cmd)
	}
	return r
}

// hexID is a 64-hex container ID (or image/layer digest): different at
// every run, meaningless in a comparison.
var hexID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[0-9a-f]{64}`) })

func norm(s string) string { return hexID().ReplaceAllString(s, "<id>") }

func (r Report) set(k, v string) { r[k] = norm(v) }

func readTrim(path string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

// fds lists the open file descriptors with raw system calls, so that the
// Go runtime's own (the poller's epoll and eventfd) are not there yet.
func (r Report) fds() {
	dfd, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		r["fds"] = "unreadable: " + err.Error()
		return
	}
	defer unix.Close(dfd)
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.ReadDirent(dfd, buf)
		if err != nil || n <= 0 {
			break
		}
		_, _, names = syscall.ParseDirent(buf[:n], -1, names)
	}
	var fds []int
	for _, n := range names {
		if fd, err := strconv.Atoi(n); err == nil && fd != dfd {
			fds = append(fds, fd)
		}
	}
	sort.Ints(fds)
	var list []string
	for _, fd := range fds {
		t, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
		if err != nil {
			continue
		}
		// pipe:[12345] → pipe: the inode number differs at every run.
		if i := strings.Index(t, ":["); i > 0 {
			t = t[:i]
		}
		// The Go runtime keeps the CPU limit files of its cgroup open to
		// size GOMAXPROCS: this program's own, not the runtime's.
		if strings.HasPrefix(t, "/sys/fs/cgroup/") && (strings.HasSuffix(t, "/cpu.max") ||
			strings.HasSuffix(t, "/cpu.cfs_quota_us") || strings.HasSuffix(t, "/cpu.cfs_period_us")) {
			continue
		}
		r.set(fmt.Sprintf("fd.%d", fd), t)
		list = append(list, strconv.Itoa(fd))
	}
	r["fds"] = strings.Join(list, ",")
}

// The fields of /proc/self/status worth comparing (proc(5)).
var statusFields = []string{"Pid", "PPid", "TracerPid", "Uid", "Gid", "Groups", "NStgid", "NSpid", "Umask",
	"NoNewPrivs", "Seccomp", "Seccomp_filters", "Speculation_Store_Bypass", "SpeculationIndirectBranch",
	"Cpus_allowed_list", "Mems_allowed_list", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}

func (r Report) status() {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		r["status"] = "unreadable: " + err.Error()
		return
	}
	want := map[string]bool{}
	for _, f := range statusFields {
		want[f] = true
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !want[k] {
			continue
		}
		v = strings.Join(strings.Fields(v), " ")
		if strings.HasPrefix(k, "Cap") {
			r["caps."+k] = capNames(v)
			continue
		}
		r["status."+k] = v
	}
}

// capNames turns a capability mask (hex) into names (capabilities(7)).
func capNames(hex string) string {
	mask, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		return hex
	}
	if mask == 0 {
		return "(none)"
	}
	var names []string
	for i := 0; i < 64; i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		if i < len(capabilityNames) {
			names = append(names, capabilityNames[i])
		} else {
			names = append(names, fmt.Sprintf("CAP_%d", i))
		}
	}
	return strings.Join(names, ",")
}

var capabilityNames = []string{"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
	"SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN",
	"SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE",
	"AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND",
	"AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"}

func (r Report) process() {
	pid := os.Getpid()
	sid, _ := unix.Getsid(0)
	pgid, _ := unix.Getpgid(0)
	rel := func(v int) string {
		if v == pid {
			return "self"
		}
		return strconv.Itoa(v)
	}
	r["process.sid"] = rel(sid)
	r["process.pgid"] = rel(pgid)
	if wd, err := os.Getwd(); err == nil {
		r["process.cwd"] = wd
	}
	if v, ok := readTrim("/proc/self/oom_score_adj"); ok {
		r["process.oom_score_adj"] = v
	}
	if v, ok := readTrim("/proc/self/attr/current"); ok {
		r["process.lsm_label"] = strings.TrimRight(v, "\x00")
	}
	if p, err := unix.Getpriority(unix.PRIO_PROCESS, 0); err == nil {
		r["process.nice"] = strconv.Itoa(20 - p) // the raw syscall returns 20-nice
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		r["uts.hostname"] = unix.ByteSliceToString(u.Nodename[:])
		r["uts.domainname"] = unix.ByteSliceToString(u.Domainname[:])
	}
	// A tty on stdin says whether the runtime gave the process a terminal.
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		r["process.stdin_tty"] = "yes"
	} else {
		r["process.stdin_tty"] = "no"
	}
}

func (r Report) idMaps() {
	for _, f := range []string{"uid_map", "gid_map", "setgroups"} {
		if v, ok := readTrim("/proc/self/" + f); ok {
			r["userns."+f] = strings.Join(strings.Fields(v), " ")
		}
	}
}

var rlimitNames = []string{"CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE", "MEMLOCK", "AS",
	"LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"}

func (r Report) rlimits() {
	lim := func(v uint64) string {
		if v == unix.RLIM_INFINITY {
			return "unlimited"
		}
		return strconv.FormatUint(v, 10)
	}
	for i, name := range rlimitNames {
		var l unix.Rlimit
		if err := unix.Getrlimit(i, &l); err != nil {
			continue
		}
		if i == unix.RLIMIT_NOFILE && l.Max != unix.RLIM_INFINITY && l.Cur == l.Max-1 {
			// Go raised its own soft limit to hard-1 at start (see
			// syscall/rlimit.go): what the runtime set is what a child
			// gets back at exec.
			if cur, ok := childNofile(); ok {
				l.Cur = cur
			} else {
				r["rlimit."+name] = lim(l.Cur) + "/" + lim(l.Max) + " (as raised by Go)"
				continue
			}
		}
		r["rlimit."+name] = lim(l.Cur) + "/" + lim(l.Max)
	}
}

// childNofile reads the soft RLIMIT_NOFILE a child starts with, which Go
// sets back to the one this process was started with: the child (this
// program again) is traced, so it stops right after its execve, before
// it can run a single instruction of its own, and is read and killed there.
func childNofile() (uint64, bool) {
	self, err := os.Executable()
	if err != nil {
		return 0, false
	}
	c := exec.Command(self)
	c.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	if err := c.Start(); err != nil {
		return 0, false
	}
	defer func() {
		c.Process.Kill()
		c.Wait()
	}()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", c.Process.Pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(strings.TrimPrefix(line, "Max open files")); line != "" && strings.HasPrefix(line, "Max open files") && len(f) >= 2 {
			if v, err := strconv.ParseUint(f[0], 10, 64); err == nil {
				return v, true
			}
		}
	}
	return 0, false
}

// mount is one line of /proc/self/mountinfo.
type mount struct {
	root, target, opts, optional, fstype, source, super string
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func readMountinfo() []mount {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var ms []mount
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 6 || len(g) < 3 {
			continue
		}
		ms = append(ms, mount{root: unescape(f[3]), target: unescape(f[4]), opts: f[5],
			optional: strings.Join(f[6:], " "), fstype: g[0], source: unescape(g[1]), super: g[2]})
	}
	return ms
}

// propagation keeps the kind of each optional field (shared:12 → shared):
// the peer group numbers differ at every run.
func propagation(optional string) string {
	if optional == "" {
		return "private"
	}
	var kinds []string
	for _, f := range strings.Fields(optional) {
		k, _, _ := strings.Cut(f, ":")
		kinds = append(kinds, k)
	}
	return strings.Join(kinds, ",")
}

// superOptions drops what names host paths of the layers (overlay's
// lowerdir, upperdir, workdir) and keeps the rest, sorted.
func superOptions(s string) string {
	var keep []string
	for _, o := range strings.Split(s, ",") {
		k, _, _ := strings.Cut(o, "=")
		switch k {
		case "lowerdir", "upperdir", "workdir", "redirect_dir", "index", "xino", "metacopy":
			continue
		}
		keep = append(keep, o)
	}
	sort.Strings(keep)
	return strings.Join(keep, ",")
}

func sortedOptions(s string) string {
	o := strings.Split(s, ",")
	sort.Strings(o)
	return strings.Join(o, ",")
}

func (r Report) mounts() []mount {
	ms := readMountinfo()
	seen := map[string]int{}
	var order []string
	for _, m := range ms {
		key := "mount." + m.target
		seen[m.target]++
		if n := seen[m.target]; n > 1 {
			key = fmt.Sprintf("%s#%d", key, n) // stacked on the same target
		}
		order = append(order, m.target)
		src := m.source
		if strings.HasPrefix(src, "/dev/") {
			src = "<block device>" // the host's disk: differs between machines
		}
		r.set(key+".fstype", m.fstype)
		r.set(key+".source", src)
		r.set(key+".options", sortedOptions(m.opts))
		r.set(key+".super", superOptions(m.super))
		r.set(key+".propagation", propagation(m.optional))
		if m.root != "/" {
			r.set(key+".root", m.root)
		}
	}
	r.set("mounts.order", mountOrder(order))
	return ms
}

// mountOrder tells the order mounts were made in, where it matters: a run
// of sibling mounts (the cgroup hierarchies, the /etc files, the masked
// paths) is sorted, and the cgroup hierarchies, each listed on its own
// already, become one "/sys/fs/cgroup/*".
func mountOrder(targets []string) string {
	var out []string
	start := 0 // where the current run of siblings began in out
	for _, t := range targets {
		if strings.HasPrefix(t, "/sys/fs/cgroup/") {
			t = "/sys/fs/cgroup/*"
		}
		if n := len(out); n > 0 && out[n-1] == t {
			continue
		}
		if n := len(out); n > 0 && filepath.Dir(out[n-1]) != filepath.Dir(t) {
			sort.Strings(out[start:])
			start = n
		}
		out = append(out, t)
	}
	sort.Strings(out[start:])
	return strings.Join(out, " ")
}

// masked tells for each of Docker's masked and read-only paths whether it
// is hidden and how, or read-only.
func (r Report) masked(ms []mount) {
	last := map[string]mount{}
	for _, m := range ms {
		last[m.target] = m
	}
	for _, p := range MaskedPaths {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			r["masked."+p] = "absent"
			continue
		}
		m, mounted := last[p]
		switch {
		case !mounted:
			r["masked."+p] = "VISIBLE (not masked)"
		case st.Mode&unix.S_IFMT == unix.S_IFCHR:
			r["masked."+p] = fmt.Sprintf("bind of char %d:%d", unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)))
		default:
			r["masked."+p] = m.fstype + " " + sortedOptions(m.opts)
		}
	}
	for _, p := range ReadonlyPaths {
		var sfs unix.Statfs_t
		if err := unix.Statfs(p, &sfs); err != nil {
			r["readonly."+p] = "absent"
			continue
		}
		v := "rw"
		if sfs.Flags&unix.ST_RDONLY != 0 {
			v = "ro"
		}
		if _, own := last[p]; own {
			v += " (own mount)"
		}
		r["readonly."+p] = v
	}
}

// Files of the cgroup filesystem that show limits, v2 then v1 names; the
// ones that do not exist are not reported.
var cgroupFiles = []string{
	"cgroup.controllers", "cgroup.subtree_control", "cgroup.type", "memory.max", "memory.swap.max",
	"memory.high", "pids.max", "cpu.max", "cpu.weight", "cpuset.cpus.effective", "io.max",
	"memory/memory.limit_in_bytes", "memory/memory.memsw.limit_in_bytes", "memory/memory.soft_limit_in_bytes",
	"memory/memory.kmem.limit_in_bytes", "memory/memory.swappiness", "memory/memory.oom_control",
	"pids/pids.max", "cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us", "cpu/cpu.shares",
	"cpuset/cpuset.cpus", "cpuset/cpuset.mems", "devices/devices.list", "blkio/blkio.weight",
	"hugetlb/hugetlb.2MB.limit_in_bytes", "unified/cgroup.controllers",
}

func (r Report) cgroup() {
	if v, ok := readTrim("/proc/self/cgroup"); ok {
		r.set("cgroup.self", strings.ReplaceAll(v, "\n", " "))
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &sfs); err == nil {
		switch sfs.Type {
		case unix.CGROUP2_SUPER_MAGIC:
			r["cgroup.fs"] = "v2"
		case unix.TMPFS_MAGIC:
			r["cgroup.fs"] = "v1 (tmpfs of hierarchies)"
		case unix.CGROUP_SUPER_MAGIC:
			r["cgroup.fs"] = "v1 (one hierarchy)"
		default:
			r["cgroup.fs"] = fmt.Sprintf("magic %#x", sfs.Type)
		}
	}
	for _, f := range cgroupFiles {
		if v, ok := readTrim(filepath.Join("/sys/fs/cgroup", f)); ok {
			// One rule or value a line; the order of devices.list is
			// the order the rules were written in, which means nothing.
			lines := strings.Split(v, "\n")
			sort.Strings(lines)
			r.set("cgroup.file."+f, strings.Join(lines, "; "))
		}
	}
}

// devices lists /dev: type, major:minor, mode, owner.
func (r Report) devices() {
	_ = filepath.WalkDir("/dev", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			r["dev."+p] = "unreadable: " + err.Error()
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil {
			return nil
		}
		mode := fs.FileMode(st.Mode & 0o7777)
		own := fmt.Sprintf("%d:%d", st.Uid, st.Gid)
		var v string
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR, unix.S_IFBLK:
			t := "c"
			if st.Mode&unix.S_IFMT == unix.S_IFBLK {
				t = "b"
			}
			v = fmt.Sprintf("%s %d:%d %#o %s", t, unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)), uint32(mode), own)
		case unix.S_IFLNK:
			t, _ := os.Readlink(p)
			v = "-> " + t
		case unix.S_IFDIR:
			v = fmt.Sprintf("dir %#o %s", uint32(mode), own)
		default:
			v = fmt.Sprintf("file %#o %s", uint32(mode), own)
		}
		r["dev."+p] = v
		return nil
	})
}

var sysctls = []string{"net/ipv4/ip_unprivileged_port_start", "net/ipv4/ping_group_range", "net/ipv4/ip_forward",
	"net/core/somaxconn", "net/ipv6/conf/all/disable_ipv6", "kernel/hostname", "kernel/domainname",
	"kernel/shmmax", "kernel/msgmax", "fs/mqueue/msg_max"}

func (r Report) network() {
	ifs, err := net.Interfaces()
	if err != nil {
		r["net.interfaces"] = "unreadable: " + err.Error()
	}
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
		k := "net.if." + i.Name
		r[k+".flags"] = i.Flags.String()
		r[k+".mtu"] = strconv.Itoa(i.MTU)
		if len(i.HardwareAddr) > 0 {
			r[k+".mac"] = "set" // differs at every run
		}
		addrs, _ := i.Addrs()
		var as []string
		for _, a := range addrs {
			as = append(as, a.String())
		}
		sort.Strings(as)
		r[k+".addrs"] = strings.Join(as, " ")
	}
	sort.Strings(names)
	r["net.interfaces"] = strings.Join(names, " ")
	r["net.routes"] = routes4()
	if b, err := os.ReadFile("/proc/net/ipv6_route"); err == nil {
		var rs []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			f := strings.Fields(l)
			if len(f) == 10 {
				plen, _ := strconv.ParseUint(f[1], 16, 8)
				rs = append(rs, fmt.Sprintf("%s/%d via %s dev %s", ip6(f[0]), plen, ip6(f[4]), f[9]))
			}
		}
		sort.Strings(rs)
		r["net.routes6"] = strings.Join(rs, "; ")
	}
	for _, s := range sysctls {
		if v, ok := readTrim("/proc/sys/" + s); ok {
			r["sysctl."+strings.ReplaceAll(s, "/", ".")] = strings.Join(strings.Fields(v), " ")
		}
	}
}

// ip6 reads an address of /proc/net/ipv6_route (32 hex digits).
func ip6(h string) string {
	b := make(net.IP, 16)
	for i := range b {
		if v, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8); err == nil && len(h) == 32 {
			b[i] = byte(v)
		}
	}
	return b.String()
}

// routes4 reads the IPv4 routing table from /proc/net/route (its
// addresses are little-endian hex).
func routes4() string {
	b, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return "unreadable: " + err.Error()
	}
	ip := func(h string) string {
		v, _ := strconv.ParseUint(h, 16, 32)
		return net.IPv4(byte(v), byte(v>>8), byte(v>>16), byte(v>>24)).String()
	}
	var rs []string
	for i, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if i == 0 || len(f) < 8 {
			continue
		}
		ones, _ := net.IPMask(net.ParseIP(ip(f[7])).To4()).Size()
		rs = append(rs, fmt.Sprintf("%s/%d via %s dev %s", ip(f[1]), ones, ip(f[2]), f[0]))
	}
	sort.Strings(rs)
	return strings.Join(rs, "; ")
}

func (r Report) files() {
	for _, f := range []string{"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"} {
		if v, ok := readTrim(f); ok {
			r.set("file."+f, strings.ReplaceAll(v, "\n", " | "))
		} else {
			r["file."+f] = "absent"
		}
	}
}

func (r Report) env() {
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		r.set("env."+k, v)
	}
}

func (r Report) command(args []string) {
	c := exec.Command(args[0], args[1:]...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	r.set("command.output", strings.TrimSpace(out.String()))
	switch e := err.(type) {
	case nil:
		r["command.exit"] = "0"
	case *exec.ExitError:
		r["command.exit"] = strconv.Itoa(e.ExitCode())
	default:
		r["command.exit"] = "cannot run: " + err.Error()
	}
}
