package cgroups

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestDefaultDeviceRulesAllowed(t *testing.T) {
	rules := DefaultDeviceRules()
	if err := ValidateDeviceRules(rules); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		typ          byte
		major, minor int64
		access       byte
		want         bool
		what         string
	}{
		{'c', 1, 3, 'r', true, "read /dev/null"},
		{'c', 1, 3, 'w', true, "write /dev/null"},
		{'c', 1, 3, 'm', true, "mknod /dev/null"},
		{'b', 8, 0, 'r', false, "read sda"},
		{'b', 8, 0, 'w', false, "write sda"},
		{'b', 8, 0, 'm', true, "mknod sda (b *:* m)"},
		{'c', 136, 5, 'r', true, "read /dev/pts/5"},
		{'c', 136, 5, 'w', true, "write /dev/pts/5"},
		{'c', 4, 1, 'w', false, "write tty1"},
		{'c', 4, 1, 'm', true, "mknod tty1 (c *:* m)"},
		{'c', 1, 1, 'r', false, "read /dev/mem"},
		{'c', 10, 200, 'w', true, "write /dev/net/tun"},
		{'c', 10, 229, 'r', false, "read /dev/fuse"},
		{'c', 5, 2, 'r', true, "read /dev/ptmx"},
		{'x', 1, 3, 'r', false, "bad type"},
		{'c', 1, 3, 'x', false, "bad access"},
	}
	for _, c := range cases {
		if got := DeviceAllowed(rules, c.typ, c.major, c.minor, c.access); got != c.want {
			t.Errorf("%s: DeviceAllowed(%c %d:%d %c) = %v, want %v", c.what, c.typ, c.major, c.minor, c.access, got, c.want)
		}
	}
}

func TestDeviceAllowedLastRuleWins(t *testing.T) {
	one := func(allow bool, typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
		r := specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Access: access}
		if major >= 0 {
			r.Major = devInt64(major)
		}
		if minor >= 0 {
			r.Minor = devInt64(minor)
		}
		return r
	}
	rules := []specs.LinuxDeviceCgroup{
		one(true, "a", -1, -1, "rwm"),
		one(false, "c", 1, -1, "w"),
		one(true, "c", 1, 3, "w"),
	}
	if !DeviceAllowed(rules, 'c', 1, 3, 'w') || DeviceAllowed(rules, 'c', 1, 5, 'w') || !DeviceAllowed(rules, 'c', 1, 5, 'r') {
		t.Error("allow-all, deny c 1:* w, allow c 1:3 w: wrong verdicts")
	}
	if DeviceAllowed(nil, 'c', 1, 3, 'r') {
		t.Error("an empty list must deny")
	}
	if !DeviceAllowed([]specs.LinuxDeviceCgroup{one(true, "", -1, -1, "r")}, 'b', 7, 0, 'r') {
		t.Error("empty type must mean all")
	}
}

func TestValidateDeviceRules(t *testing.T) {
	bad := []struct {
		rule specs.LinuxDeviceCgroup
		want string
	}{
		{specs.LinuxDeviceCgroup{Allow: true, Type: "x", Access: "rwm"}, `type "x"`},
		{specs.LinuxDeviceCgroup{Allow: true, Type: "c", Access: "rwz"}, `access "rwz"`},
		{specs.LinuxDeviceCgroup{Allow: true, Type: "c", Access: ""}, "access is empty"},
		{specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: devInt64(-2), Access: "r"}, "major -2"},
		{specs.LinuxDeviceCgroup{Allow: true, Type: "c", Minor: devInt64(1 << 32), Access: "r"}, "minor 4294967296"},
	}
	for _, b := range bad {
		rules := append(DefaultDeviceRules(), b.rule)
		err := ValidateDeviceRules(rules)
		if err == nil {
			t.Errorf("%s accepted", devSpecRuleString(b.rule))
			continue
		}
		// The message names the rule: its position and its text.
		if !strings.Contains(err.Error(), "device rule 13 (") || !strings.Contains(err.Error(), b.want) {
			t.Errorf("error %q should name rule 13 and say %q", err, b.want)
		}
		t.Logf("%v", err)
	}
	ok := []specs.LinuxDeviceCgroup{
		{Allow: true, Type: "", Access: "m"},
		{Allow: true, Type: "b", Major: devInt64(-1), Minor: devInt64(0), Access: "mrw"},
	}
	if err := ValidateDeviceRules(ok); err != nil {
		t.Error(err)
	}
}

func TestDevicesV1Plan(t *testing.T) {
	lines := func(ws []devV1Write) []string {
		var out []string
		for _, w := range ws {
			out = append(out, w.file()+" "+w.line())
		}
		return out
	}
	ws, list, err := devV1Plan(DefaultDeviceRules())
	if err != nil {
		t.Fatal(err)
	}
	wantWrites := []string{"devices.deny a", "devices.allow c *:* m", "devices.allow b *:* m", "devices.allow c 1:3 rwm",
		"devices.allow c 1:8 rwm", "devices.allow c 1:7 rwm", "devices.allow c 5:0 rwm", "devices.allow c 5:1 rwm", "devices.allow c 1:5 rwm",
		"devices.allow c 1:9 rwm", "devices.allow c 136:* rwm", "devices.allow c 5:2 rwm", "devices.allow c 10:200 rwm"}
	if !slices.Equal(lines(ws), wantWrites) {
		t.Errorf("writes:\n%s\nwant:\n%s", strings.Join(lines(ws), "\n"), strings.Join(wantWrites, "\n"))
	}
	if len(list) != 12 || list[0] != "c *:* m" || list[11] != "c 10:200 rwm" {
		t.Errorf("expected devices.list %q", list)
	}

	// An allow-all default followed by denies is what v1 does best.
	r := func(allow bool, typ string, major, minor *int64, access string) specs.LinuxDeviceCgroup {
		return specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Major: major, Minor: minor, Access: access}
	}
	ws, list, err = devV1Plan([]specs.LinuxDeviceCgroup{
		r(true, "a", nil, nil, "rwm"), r(false, "c", devInt64(1), devInt64(5), "w"), r(false, "b", nil, nil, "rwm"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := lines(ws); !slices.Equal(got, []string{"devices.allow a", "devices.deny c 1:5 w", "devices.deny b *:* rwm"}) {
		t.Errorf("allow-all then denies: %q", got)
	}
	if !slices.Equal(list, []string{"a *:* rwm"}) {
		t.Errorf("allow-all list %q", list)
	}

	// No rules: deny everything.
	ws, list, err = devV1Plan(nil)
	if err != nil || !slices.Equal(lines(ws), []string{"devices.deny a"}) || len(list) != 0 {
		t.Errorf("empty rules: %q %q %v", lines(ws), list, err)
	}

	// Type a with numbers becomes a c line and a b line.
	ws, _, err = devV1Plan([]specs.LinuxDeviceCgroup{r(false, "a", nil, nil, "rwm"), r(true, "", devInt64(7), nil, "r")})
	if err != nil || !slices.Equal(lines(ws), []string{"devices.deny a", "devices.allow c 7:* r", "devices.allow b 7:* r"}) {
		t.Errorf("type a with a major: %q %v", lines(ws), err)
	}

	// What v1 cannot do must be an error, not a silent difference.
	for _, rules := range [][]specs.LinuxDeviceCgroup{
		// a hole in a wildcard allow
		{r(false, "a", nil, nil, "rwm"), r(true, "c", devInt64(1), nil, "rwm"), r(false, "c", devInt64(1), devInt64(3), "w")},
		// a hole in a wildcard deny
		{r(true, "a", nil, nil, "rwm"), r(false, "b", nil, nil, "rwm"), r(true, "b", devInt64(7), devInt64(0), "r")},
		// r and w from two different exceptions
		{r(false, "a", nil, nil, "rwm"), r(true, "c", devInt64(1), nil, "r"), r(true, "c", nil, devInt64(3), "w")},
	} {
		_, _, err := devV1Plan(rules)
		if err == nil {
			t.Errorf("v1 accepted rules it cannot express: %v", rules)
			continue
		}
		t.Logf("refused as it should be: %v", err)
	}
}

// devInterpret runs an encoded program the way the kernel would, for the
// few instructions devProgram emits, on one bpf_cgroup_dev_ctx.
func devInterpret(t *testing.T, code []byte, typ byte, major, minor uint32, access devAccess) uint64 {
	t.Helper()
	devType := uint32(unix.BPF_DEVCG_DEV_CHAR)
	if typ == 'b' {
		devType = unix.BPF_DEVCG_DEV_BLOCK
	}
	ctx := [3]uint32{devType | uint32(access)<<16, major, minor}
	var reg [11]uint64
	reg[1] = 0xc0de0000 // a pointer to ctx, as far as this interpreter cares
	for pc := 0; ; pc++ {
		if pc < 0 || 8*pc >= len(code) {
			t.Fatalf("pc %d out of the program", pc)
		}
		b := code[8*pc : 8*pc+8]
		op := b[0]
		dst, src := b[1]&0x0f, b[1]>>4
		if !bpfNativeLittleEndian {
			dst, src = b[1]>>4, b[1]&0x0f
		}
		off := int16(binary.NativeEndian.Uint16(b[2:]))
		imm := int32(binary.NativeEndian.Uint32(b[4:]))
		switch {
		case op == bpfClassLDX|bpfModeMEM|bpfSizeW:
			if reg[src] != 0xc0de0000 || off%4 != 0 || off < 0 || off > 8 {
				t.Fatalf("pc %d: load from r%d%+d", pc, src, off)
			}
			reg[dst] = uint64(ctx[off/4])
		case op&0x07 == bpfClassALU:
			a := uint32(reg[dst])
			v := uint32(imm)
			if op&bpfSrcX != 0 {
				v = uint32(reg[src])
			}
			switch op & 0xf0 {
			case bpfOpMOV:
				a = v
			case bpfOpAND:
				a &= v
			case bpfOpOR:
				a |= v
			case bpfOpXOR:
				a ^= v
			case bpfOpRSH:
				a >>= v
			default:
				t.Fatalf("pc %d: alu op %#x", pc, op)
			}
			reg[dst] = uint64(a)
		case op&0x07 == bpfClassJMP32 && op&bpfSrcX == 0:
			var taken bool
			switch op & 0xf0 {
			case bpfOpJEQ:
				taken = uint32(reg[dst]) == uint32(imm)
			case bpfOpJNE:
				taken = uint32(reg[dst]) != uint32(imm)
			default:
				t.Fatalf("pc %d: jmp op %#x", pc, op)
			}
			if off < 0 {
				t.Fatalf("pc %d: backward jump", pc)
			}
			if taken {
				pc += int(off)
			}
		case op == bpfClassJMP|bpfOpEXIT:
			return reg[0]
		default:
			t.Fatalf("pc %d: unknown op %#x", pc, op)
		}
	}
}

// devRandomRules makes rule lists for property tests; the numbers come from
// small sets so that rules overlap.
func devRandomRules(rng *mathrand.Rand) []specs.LinuxDeviceCgroup {
	types := []string{"", "a", "c", "b", "c", "b"}
	nums := []*int64{nil, nil, devInt64(-1), devInt64(1), devInt64(3), devInt64(7), devInt64(136)}
	n := rng.IntN(9)
	var rules []specs.LinuxDeviceCgroup
	for range n {
		acc := ""
		for acc == "" {
			for _, c := range rng.Perm(3) {
				if rng.IntN(2) == 0 {
					acc += string("rwm"[c])
				}
			}
		}
		rules = append(rules, specs.LinuxDeviceCgroup{
			Allow: rng.IntN(2) == 0, Type: types[rng.IntN(len(types))],
			Major: nums[rng.IntN(len(nums))], Minor: nums[rng.IntN(len(nums))], Access: acc,
		})
	}
	if rng.IntN(3) > 0 {
		rules = append([]specs.LinuxDeviceCgroup{{Allow: rng.IntN(4) == 0, Access: "rwm"}}, rules...)
	}
	return rules
}

// TestDeviceProgramMatchesDeviceAllowed runs the generated program in a
// small interpreter and compares it with DeviceAllowed on every device
// class and every combination of access letters.
func TestDeviceProgramMatchesDeviceAllowed(t *testing.T) {
	rng := mathrand.New(mathrand.NewPCG(1, 2))
	sets := [][]specs.LinuxDeviceCgroup{DefaultDeviceRules(), nil}
	for range 300 {
		sets = append(sets, devRandomRules(rng))
	}
	for _, rules := range sets {
		insns, err := devProgram(rules)
		if err != nil {
			t.Fatal(err)
		}
		code := bpfEncode(insns)
		rs, _ := parseDevRules(rules)
		majors, minors := devSampleNumbers(rs)
		for _, typ := range []byte{'c', 'b'} {
			for _, major := range majors {
				for _, minor := range minors {
					allowed := devAllowedAccess(rs, typ, major, minor)
					for want := devAccess(1); want <= devAccAll; want++ {
						got := devInterpret(t, code, typ, uint32(major), uint32(minor), want)
						if exp := want&^allowed == 0; got != map[bool]uint64{false: 0, true: 1}[exp] {
							t.Fatalf("%c %d:%d %q: program returns %d, rules say %v\nrules %v\n%s",
								typ, major, minor, want, got, exp, rules, DeviceProgramListing(rules))
						}
					}
					for _, letter := range []byte("rwm") {
						acc := map[byte]devAccess{'r': devAccRead, 'w': devAccWrite, 'm': devAccMknod}[letter]
						if DeviceAllowed(rules, typ, major, minor, letter) != (allowed&acc != 0) {
							t.Fatalf("DeviceAllowed disagrees with devAllowedAccess")
						}
					}
				}
			}
		}
	}
}

func TestDeviceProgramListing(t *testing.T) {
	l := DeviceProgramListing(DefaultDeviceRules())
	t.Logf("program for the default rules:\n%s", l)
	for _, want := range []string{
		"r2 = *(u32 *)(r1 +0)",
		"[rule 3: allow c 1:3 rwm]",
		"if w4 != 136 goto pc+1",
		"w0 |= 0x1",
		"exit",
	} {
		if !strings.Contains(l, want) {
			t.Errorf("listing lacks %q", want)
		}
	}
	if l := DeviceProgramListing([]specs.LinuxDeviceCgroup{{Type: "q", Access: "r"}}); !strings.HasPrefix(l, "error: ") {
		t.Errorf("bad rules listed: %s", l)
	}
}

func devNeedRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: loads eBPF programs, creates cgroups below its own and device nodes")
	}
}

// TestDeviceProgramLoads has the kernel's verifier check programs for many
// rule lists (loaded, not attached).
func TestDeviceProgramLoads(t *testing.T) {
	devNeedRoot(t)
	rng := mathrand.New(mathrand.NewPCG(3, 4))
	sets := [][]specs.LinuxDeviceCgroup{DefaultDeviceRules(), nil}
	for range 40 {
		sets = append(sets, devRandomRules(rng))
	}
	var big []specs.LinuxDeviceCgroup
	for i := range 500 {
		big = append(big, specs.LinuxDeviceCgroup{Allow: i%2 == 0, Type: "c", Major: devInt64(int64(i)), Minor: devInt64(4000000000), Access: "rw"})
	}
	sets = append(sets, big)
	for _, rules := range sets {
		insns, err := devProgram(rules)
		if err != nil {
			t.Fatal(err)
		}
		fd, err := devLoadProgram(insns)
		if err != nil {
			t.Fatalf("%v\nrules %v\n%s", err, rules, DeviceProgramListing(rules))
		}
		unix.Close(fd)
	}
}

// The kernel tests below start a child (this test binary again, running
// TestDevicesHelperProcess), move it into a fresh cgroup below this test's
// own, and ask it to mknod and open device nodes that the parent made
// beforehand in a temporary directory. EPERM means the device cgroup said
// no; anything else (success, ENXIO for a device with no driver) means it
// said yes. Devices are chosen so that opening them does nothing: null,
// zero, kmsg (opened, never read), loop0, and numbers no driver has (240 is
// reserved for local use).

// devProbeDevices are the nodes probed, as "c 1 3".
var devProbeDevices = []string{"c 1 3", "c 1 5", "c 1 11", "c 136 5", "c 240 1", "b 7 0", "b 240 1"}

const devHelperEnv = "MINIRUN_DEVICES_TEST_HELPER"

func devNodePath(dir, dev string) string {
	return filepath.Join(dir, "node-"+strings.ReplaceAll(dev, " ", "-"))
}

func devParse(dev string) (typ byte, major, minor uint32) {
	f := strings.Fields(dev)
	ma, _ := strconv.ParseUint(f[1], 10, 32)
	mi, _ := strconv.ParseUint(f[2], 10, 32)
	return f[0][0], uint32(ma), uint32(mi)
}

func devMode(typ byte) uint32 {
	if typ == 'b' {
		return unix.S_IFBLK
	}
	return unix.S_IFCHR
}

// TestDevicesHelperProcess is the child; it does nothing in a normal run.
// Protocol: it prints DEVREADY, then answers each line "probe c 1 3" with
// "DEVPROBE m=<ok|ERRNO> r=... w=... rw=...".
func TestDevicesHelperProcess(t *testing.T) {
	dir := os.Getenv(devHelperEnv)
	if dir == "" {
		return
	}
	errName := func(err error) string {
		var errno unix.Errno
		if err == nil {
			return "ok"
		}
		if errors.As(err, &errno) {
			return unix.ErrnoName(errno)
		}
		return "error"
	}
	fmt.Println("DEVREADY")
	in := bufio.NewScanner(os.Stdin)
	for n := 0; in.Scan(); n++ {
		dev, ok := strings.CutPrefix(in.Text(), "probe ")
		if !ok {
			continue
		}
		typ, major, minor := devParse(dev)
		res := []string{}
		m := filepath.Join(dir, fmt.Sprintf("mknod-%d-%d", os.Getpid(), n))
		err := unix.Mknod(m, devMode(typ)|0o600, int(unix.Mkdev(major, minor)))
		if err == nil {
			unix.Unlink(m)
		}
		res = append(res, "m="+errName(err))
		for _, o := range []struct {
			name string
			flag int
		}{{"r", unix.O_RDONLY}, {"w", unix.O_WRONLY}, {"rw", unix.O_RDWR}} {
			fd, err := unix.Open(devNodePath(dir, dev), o.flag|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
			if err == nil {
				unix.Close(fd)
			}
			res = append(res, o.name+"="+errName(err))
		}
		fmt.Println("DEVPROBE " + strings.Join(res, " "))
	}
	os.Exit(0)
}

// devChild is a running helper process in a test cgroup.
type devChild struct {
	t     *testing.T
	dir   string
	stdin io.WriteCloser
	out   *bufio.Scanner
	pid   int
}

// devStartChild makes the device nodes, starts the helper and moves it into
// cgroup dir (writing its PID to dir/cgroup.procs). The child is killed and
// reaped at cleanup, before the cgroup is removed.
func devStartChild(t *testing.T, cgroupDir string) *devChild {
	t.Helper()
	dir := t.TempDir()
	for _, dev := range devProbeDevices {
		typ, major, minor := devParse(dev)
		if err := unix.Mknod(devNodePath(dir, dev), devMode(typ)|0o600, int(unix.Mkdev(major, minor))); err != nil {
			t.Fatalf("mknod %s: %v", dev, err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDevicesHelperProcess$")
	cmd.Env = append(os.Environ(), devHelperEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill() // by PID: our own child
		cmd.Wait()
	})
	c := &devChild{t: t, dir: dir, stdin: stdin, out: bufio.NewScanner(stdout), pid: cmd.Process.Pid}
	c.expect("DEVREADY")
	if err := writeValue(filepath.Join(cgroupDir, "cgroup.procs"), strconv.Itoa(c.pid)); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *devChild) expect(prefix string) string {
	c.t.Helper()
	for c.out.Scan() {
		if rest, ok := strings.CutPrefix(c.out.Text(), prefix); ok {
			return strings.TrimSpace(rest)
		}
	}
	c.t.Fatalf("helper process ended without %s (%v)", prefix, c.out.Err())
	return ""
}

// probe returns the child's results for one device: letter -> "ok" or errno.
func (c *devChild) probe(dev string) map[string]string {
	c.t.Helper()
	if _, err := fmt.Fprintf(c.stdin, "probe %s\n", dev); err != nil {
		c.t.Fatal(err)
	}
	res := map[string]string{}
	for _, f := range strings.Fields(c.expect("DEVPROBE")) {
		k, v, _ := strings.Cut(f, "=")
		res[k] = v
	}
	return res
}

// check probes every device and compares what the kernel did with
// DeviceAllowed (rules nil: everything must be allowed).
func (c *devChild) check(what string, rules []specs.LinuxDeviceCgroup) {
	c.t.Helper()
	for _, dev := range devProbeDevices {
		res := c.probe(dev)
		typ, major, minor := devParse(dev)
		allowed := func(letter byte) bool {
			return rules == nil || DeviceAllowed(rules, typ, int64(major), int64(minor), letter)
		}
		want := map[string]bool{"m": allowed('m'), "r": allowed('r'), "w": allowed('w'), "rw": allowed('r') && allowed('w')}
		for _, k := range []string{"m", "r", "w", "rw"} {
			if got := res[k] != "EPERM"; got != want[k] {
				c.t.Errorf("%s: %s access %s: kernel says %s, want allowed=%v", what, dev, k, res[k], want[k])
			}
		}
		c.t.Logf("%s: %-8s m=%-6s r=%-6s w=%-6s rw=%s", what, dev, res["m"], res["r"], res["w"], res["rw"])
	}
}

// devOwnCgroup finds where this process's cgroup is, in the v1 hierarchy
// with the devices controller (v2 false) or in the cgroup2 hierarchy (v2
// true): the mount point plus the path from /proc/self/cgroup.
func devOwnCgroup(t *testing.T, v2 bool) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	own := ""
	found := false
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if (v2 && parts[0] == "0" && parts[1] == "") || (!v2 && slices.Contains(strings.Split(parts[1], ","), "devices")) {
			own, found = parts[2], true
		}
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	mnt := ""
	for _, line := range strings.Split(string(mounts), "\n") {
		// id parent maj:min root mountpoint options ... - fstype source superoptions
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 || f[3] != "/" {
			continue
		}
		if (v2 && g[0] == "cgroup2") || (!v2 && g[0] == "cgroup" && slices.Contains(strings.Split(g[2], ","), "devices")) {
			mnt = f[4]
			break
		}
	}
	if !found || mnt == "" {
		t.Skipf("no %s hierarchy here (/proc/self/cgroup, /proc/self/mountinfo)", map[bool]string{false: "cgroup v1 devices", true: "cgroup2"}[v2])
	}
	return filepath.Join(mnt, own)
}

// devTestCgroup creates parent/minirun-test-<random> and removes it at
// cleanup (registered first, so it runs after the child is killed).
func devTestCgroup(t *testing.T, parent string) string {
	t.Helper()
	var rnd [6]byte
	rand.Read(rnd[:])
	dir := filepath.Join(parent, "minirun-test-"+hex.EncodeToString(rnd[:]))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var err error
		for range 100 {
			if err = unix.Rmdir(dir); err == nil || errors.Is(err, unix.ENOENT) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("rmdir %s: %v", dir, err)
	})
	return dir
}

func TestDevicesV1Kernel(t *testing.T) {
	devNeedRoot(t)
	cg := devTestCgroup(t, devOwnCgroup(t, false))
	t.Logf("cgroup %s", cg)

	// The readback check against the real kernel model, on many lists.
	rng := mathrand.New(mathrand.NewPCG(5, 6))
	tried := 0
	for range 200 {
		rules := devRandomRules(rng)
		if _, _, err := devV1Plan(rules); err != nil {
			continue
		}
		tried++
		if err := SetDevicesV1(cg, rules); err != nil {
			t.Fatalf("%v\nrules %v", err, rules)
		}
	}
	t.Logf("SetDevicesV1 read back %d random rule lists correctly", tried)

	rules := DefaultDeviceRules()
	if err := SetDevicesV1(cg, rules); err != nil {
		t.Fatal(err)
	}
	list, _ := os.ReadFile(filepath.Join(cg, "devices.list"))
	t.Logf("devices.list:\n%s", list)

	c := devStartChild(t, cg)
	if self, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", c.pid)); !strings.Contains(string(self), strings.TrimPrefix(cg, "/sys/fs/cgroup/devices")) {
		t.Fatalf("child is not in %s:\n%s", cg, self)
	}
	// The brief's two cases, spelled out.
	if r := c.probe("c 1 3"); r["m"] != "ok" || r["rw"] != "ok" {
		t.Errorf("c 1:3 (null): mknod and open must succeed: %v", r)
	}
	if r := c.probe("b 7 0"); r["m"] != "ok" || r["r"] != "EPERM" {
		t.Errorf("b 7:0 (loop0): mknod must succeed, open must fail with EPERM: %v", r)
	}
	c.check("v1 defaults", rules)

	// Allow-all then denies, rewritten on the same cgroup while the child
	// is in it.
	custom := []specs.LinuxDeviceCgroup{
		{Allow: true, Access: "rwm"},
		{Allow: false, Type: "c", Major: devInt64(1), Minor: devInt64(5), Access: "w"},
		{Allow: false, Type: "b", Major: devInt64(240), Access: "rwm"},
		{Allow: false, Type: "c", Major: devInt64(240), Minor: devInt64(1), Access: "rm"},
	}
	if err := SetDevicesV1(cg, custom); err != nil {
		t.Fatal(err)
	}
	c.check("v1 allow-all then denies", custom)
}

func TestDevicesV2Kernel(t *testing.T) {
	devNeedRoot(t)
	parent := devOwnCgroup(t, true)

	t.Run("defaults, Close keeps it attached", func(t *testing.T) {
		cg := devTestCgroup(t, parent)
		rules := DefaultDeviceRules()
		f, err := AttachDeviceFilter(cg, rules)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		t.Logf("program %d attached to %s", f.ID(), cg)
		c := devStartChild(t, cg)
		if r := c.probe("c 1 3"); r["m"] != "ok" || r["rw"] != "ok" {
			t.Errorf("c 1:3 (null): mknod and open must succeed: %v", r)
		}
		if r := c.probe("b 7 0"); r["m"] != "ok" || r["r"] != "EPERM" {
			t.Errorf("b 7:0 (loop0): mknod must succeed, open must fail with EPERM: %v", r)
		}
		c.check("v2 defaults", rules)

		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		ids, err := AttachedDeviceFilters(cg)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, []uint32{f.ID()}) {
			t.Fatalf("after Close the cgroup has programs %v, want [%d]", ids, f.ID())
		}
		c.check("v2 defaults after Close", rules)

		// Detach works after Close, by ID.
		if err := f.Detach(); err != nil {
			t.Fatal(err)
		}
		if ids, _ := AttachedDeviceFilters(cg); len(ids) != 0 {
			t.Fatalf("after Detach the cgroup has programs %v", ids)
		}
		c.check("v2 after Detach", nil)
	})

	t.Run("allow-all then denies, and update", func(t *testing.T) {
		cg := devTestCgroup(t, parent)
		// A list v1 refuses (a hole in a wildcard deny) but a program can do.
		custom := []specs.LinuxDeviceCgroup{
			{Allow: true, Access: "rwm"},
			{Allow: false, Type: "c", Major: devInt64(1), Minor: devInt64(5), Access: "w"},
			{Allow: false, Type: "b", Access: "rwm"},
			{Allow: true, Type: "b", Major: devInt64(7), Minor: devInt64(0), Access: "r"},
			{Allow: false, Access: "m"},
		}
		if _, _, err := devV1Plan(custom); err == nil {
			t.Fatal("expected v1 to refuse this list")
		}
		old, err := AttachDeviceFilter(cg, DefaultDeviceRules())
		if err != nil {
			t.Fatal(err)
		}
		defer old.Close()
		c := devStartChild(t, cg)
		c.check("v2 defaults", DefaultDeviceRules())

		// Update: attach the new program, then detach the old one.
		f, err := AttachDeviceFilter(cg, custom)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if ids, _ := AttachedDeviceFilters(cg); len(ids) != 2 {
			t.Fatalf("want 2 programs during the update, have %v", ids)
		}
		if r := c.probe("c 1 5"); r["r"] != "ok" || r["w"] != "EPERM" {
			// Both programs run: defaults allow c 1:5 rw, custom denies w.
			t.Errorf("c 1:5 with both programs: %v", r)
		}
		if err := f.DetachOthers(); err != nil {
			t.Fatal(err)
		}
		if ids, _ := AttachedDeviceFilters(cg); !slices.Equal(ids, []uint32{f.ID()}) {
			t.Fatalf("after DetachOthers: %v, want [%d]", ids, f.ID())
		}
		c.check("v2 allow-all then denies", custom)
	})

	t.Run("not a cgroup2 directory", func(t *testing.T) {
		if _, err := AttachDeviceFilter(t.TempDir(), DefaultDeviceRules()); err == nil || !strings.Contains(err.Error(), "not a cgroup2 directory") {
			t.Errorf("want a clear error, got %v", err)
		}
	})
}
