package seccomp

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"strings"
	"testing"

	profiles "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// data is a struct seccomp_data.
type data struct {
	nr, arch uint32
	args     [6]uint64
}

// run interprets a filter the way the kernel does, for the instructions
// Compile emits, and fails on anything else.
func run(t *testing.T, prog []unix.SockFilter, d data) uint32 {
	t.Helper()
	var buf [64]byte
	binary.LittleEndian.PutUint32(buf[0:], d.nr)
	binary.LittleEndian.PutUint32(buf[4:], d.arch)
	for i, a := range d.args {
		binary.LittleEndian.PutUint64(buf[16+8*i:], a)
	}
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			if in.K%4 != 0 || in.K > 60 {
				t.Fatalf("pc %d: load at %d", pc, in.K)
			}
			acc = binary.LittleEndian.Uint32(buf[in.K:])
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
			acc &= in.K
		case unix.BPF_JMP | unix.BPF_JA:
			pc += int(in.K)
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K:
			var ok bool
			switch in.Code &^ (unix.BPF_JMP | unix.BPF_K) {
			case unix.BPF_JEQ:
				ok = acc == in.K
			case unix.BPF_JGT:
				ok = acc > in.K
			case unix.BPF_JGE:
				ok = acc >= in.K
			}
			if ok {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		default:
			t.Fatalf("pc %d: unexpected instruction %#x", pc, in.Code)
		}
	}
	t.Fatal("ran off the end of the program")
	return 0
}

func native(t *testing.T) *archInfo {
	if len(supported) == 0 {
		t.Skipf("no system call tables for %s", runtime.GOARCH)
	}
	return &supported[0]
}

func nr(t *testing.T, a *archInfo, name string) uint32 {
	t.Helper()
	n, ok := a.lookup(name)
	if !ok {
		t.Fatalf("%s has no %s", a.name, name)
	}
	return n
}

func u(v uint) *uint { return &v }

func mustCompile(t *testing.T, s *specs.LinuxSeccomp) *Filter {
	t.Helper()
	f, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A profile shaped like Docker's: default EPERM, an allow list, a
// system call allowed only for some argument values.
func TestCompileDockerLike(t *testing.T) {
	a := native(t)
	f := mustCompile(t, &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: u(1),
		Architectures:   []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64, specs.ArchARM},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "no_such_call"}, Action: specs.ActAllow},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0, Op: specs.OpEqualTo}}},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xffffffff, Op: specs.OpEqualTo}}},
			{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: u(uint(unix.ENOSYS))},
			{Names: []string{"getpid"}, Action: specs.ActErrno, ErrnoRet: u(1)}, // the default: left out
		},
	})
	eperm, enosys := uint32(retErrno|uint32(unix.EPERM)), uint32(retErrno|uint32(unix.ENOSYS))
	for _, c := range []struct {
		d    data
		want uint32
	}{
		{data{nr: nr(t, a, "read"), arch: a.audit}, retAllow},
		{data{nr: nr(t, a, "write"), arch: a.audit}, retAllow},
		{data{nr: nr(t, a, "getpid"), arch: a.audit}, eperm},
		{data{nr: nr(t, a, "clone3"), arch: a.audit}, enosys},
		{data{nr: nr(t, a, "personality"), arch: a.audit}, retAllow},
		{data{nr: nr(t, a, "personality"), arch: a.audit, args: [6]uint64{0xffffffff}}, retAllow},
		{data{nr: nr(t, a, "personality"), arch: a.audit, args: [6]uint64{8}}, eperm},
		{data{nr: nr(t, a, "personality"), arch: a.audit, args: [6]uint64{0x1ffffffff}}, eperm},
		// Newer than anything the profile names: ENOSYS, not EPERM.
		{data{nr: 4000, arch: a.audit}, enosys},
		// A foreign architecture is killed.
		{data{nr: 0, arch: 0x1234}, retKillProcess},
	} {
		if got := run(t, f.Prog, c.d); got != c.want {
			t.Errorf("nr %d arch %#x args %v: got %#x, want %#x", c.d.nr, c.d.arch, c.d.args, got, c.want)
		}
	}
	// The compat architecture has its own numbers.
	if len(supported) > 1 {
		c := &supported[1]
		if got := run(t, f.Prog, data{nr: nr(t, c, "write"), arch: c.audit}); got != retAllow {
			t.Errorf("%s write: got %#x", c.name, got)
		}
		if got := run(t, f.Prog, data{nr: nr(t, c, "getpid"), arch: c.audit}); got != eperm {
			t.Errorf("%s getpid: got %#x", c.name, got)
		}
	}
	if a.x32 != "" {
		if got := run(t, f.Prog, data{nr: x32Bit | 1, arch: a.audit}); got != eperm {
			t.Errorf("x32 with SCMP_ARCH_X32 listed: got %#x, want the default", got)
		}
	}
}

func TestCompileArchitectures(t *testing.T) {
	a := native(t)
	// No architectures: the native one only; another one is killed.
	f := mustCompile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: specs.ActKillProcess}}})
	if got := run(t, f.Prog, data{nr: nr(t, a, "getpid"), arch: a.audit}); got != retKillProcess {
		t.Errorf("getpid: %#x", got)
	}
	if got := run(t, f.Prog, data{nr: nr(t, a, "read"), arch: a.audit}); got != retAllow {
		t.Errorf("read: %#x", got)
	}
	if len(supported) > 1 {
		if got := run(t, f.Prog, data{nr: 3, arch: supported[1].audit}); got != retKillProcess {
			t.Errorf("an unlisted compat architecture: %#x, want kill", got)
		}
	}
	if a.x32 != "" {
		if got := run(t, f.Prog, data{nr: x32Bit | 1, arch: a.audit}); got != retKillProcess {
			t.Errorf("x32 without SCMP_ARCH_X32: %#x, want kill", got)
		}
	}
	// Default allow: no ENOSYS stub.
	if got := run(t, f.Prog, data{nr: 4000, arch: a.audit}); got != retAllow {
		t.Errorf("an unknown number with default allow: %#x", got)
	}
}

// Every operator against Go's own comparison, on 64-bit values around
// the 32-bit boundary, for 64-bit and 32-bit processes.
func TestCompileOperators(t *testing.T) {
	a := native(t)
	getpid := nr(t, a, "getpid")
	values := []uint64{0, 1, 2, 0x7fffffff, 0xffffffff, 0x100000000, 0x100000001, 0x1ffffffff, 0xffffffff00000000, ^uint64(0), 40}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		values = append(values, rng.Uint64(), uint64(rng.Uint32()))
	}
	holds := func(op specs.LinuxSeccompOperator, x, v, v2 uint64) bool {
		switch op {
		case specs.OpEqualTo:
			return x == v
		case specs.OpNotEqual:
			return x != v
		case specs.OpLessThan:
			return x < v
		case specs.OpLessEqual:
			return x <= v
		case specs.OpGreaterThan:
			return x > v
		case specs.OpGreaterEqual:
			return x >= v
		case specs.OpMaskedEqual:
			return x&v == v2
		}
		panic(op)
	}
	for op := range ops {
		for _, v := range values {
			v2 := v & 0xff0000ff00
			f := mustCompile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86, specs.ArchARM},
				Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: specs.ActErrno, ErrnoRet: u(7),
					Args: []specs.LinuxSeccompArg{{Index: 3, Value: v, ValueTwo: v2, Op: op}}}}})
			for _, x := range values {
				want := uint32(retAllow)
				if holds(op, x, v, v2) {
					want = retErrno | 7
				}
				args := [6]uint64{3: x}
				if got := run(t, f.Prog, data{nr: getpid, arch: a.audit, args: args}); got != want {
					t.Fatalf("%s %#x (two %#x), arg %#x: got %#x, want %#x", op, v, v2, x, got, want)
				}
				if len(supported) > 1 {
					c := &supported[1]
					x32 := uint64(uint32(x))
					want := uint32(retAllow)
					if holds(op, x32, uint64(uint32(v)), uint64(uint32(v2))) {
						want = retErrno | 7
					}
					if got := run(t, f.Prog, data{nr: nr(t, c, "getpid"), arch: c.audit, args: [6]uint64{3: x32}}); got != want {
						t.Fatalf("%s %s %#x, arg %#x: got %#x, want %#x", c.name, op, v, x32, got, want)
					}
				}
			}
		}
	}
}

// Conditions on different arguments must all hold; several on one
// argument are alternatives (runc's reading).
func TestCompileConditionGroups(t *testing.T) {
	a := native(t)
	kill := nr(t, a, "kill")
	f := mustCompile(t, &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"kill"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
			{Index: 0, Value: 1, Op: specs.OpEqualTo}, {Index: 1, Value: 15, Op: specs.OpEqualTo}}},
		{Names: []string{"kill"}, Action: specs.ActLog, Args: []specs.LinuxSeccompArg{
			{Index: 1, Value: 9, Op: specs.OpEqualTo}, {Index: 1, Value: 10, Op: specs.OpEqualTo}}},
	}})
	for _, c := range []struct {
		pid, sig uint64
		want     uint32
	}{
		{1, 15, retAllow}, {2, 15, retErrno | 1}, {1, 14, retErrno | 1},
		{5, 9, retLog}, {5, 10, retLog}, {5, 11, retErrno | 1},
	} {
		if got := run(t, f.Prog, data{nr: kill, arch: a.audit, args: [6]uint64{c.pid, c.sig}}); got != c.want {
			t.Errorf("kill(%d, %d): got %#x, want %#x", c.pid, c.sig, got, c.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	native(t)
	for _, c := range []struct {
		s    specs.LinuxSeccomp
		want string
	}{
		{specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_NOPE"}, "unknown action"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActNotify}, "not supported"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/x.sock"}, "listenerPath"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_VAX"}}, "unknown architecture"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NOPE"}}, "flag"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}}, "index 6"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_NOPE"}}}}}, "operator"},
		{specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: u(70000)}, "16 bits"},
	} {
		_, err := Compile(&c.s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error with %q", c.s, err, c.want)
		}
	}
}

// Install, for real, in a child process (a filter cannot be removed):
// mkdir and mkdirat fail with the profile's errno, the rest works.
func TestInstall(t *testing.T) {
	native(t)
	if os.Getenv("SECCOMP_TEST_CHILD") == "1" {
		runtime.LockOSThread()
		f, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC"},
			Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: u(uint(unix.EXDEV))}}})
		if err == nil {
			err = unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
		}
		if err == nil {
			err = f.Install()
		}
		if err != nil {
			fmt.Println("install:", err)
			os.Exit(2)
		}
		dir := os.Getenv("SECCOMP_TEST_DIR")
		err = os.Mkdir(dir+"/x", 0o755)
		_, serr := os.Stat(dir)
		fmt.Printf("mkdir: %v, exdev: %v, stat: %v\n", err, errors.Is(err, unix.EXDEV), serr)
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestInstall$")
	cmd.Env = append(os.Environ(), "SECCOMP_TEST_CHILD=1", "SECCOMP_TEST_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "exdev: true, stat: <nil>") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// TestFilterJSON: what init and exec-init receive is the compiled program,
// instruction for instruction, and a damaged one is refused.
func TestFilterJSON(t *testing.T) {
	native(t)
	f := mustCompile(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Flags:         []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write"}, Action: specs.ActAllow},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 8, Op: specs.OpEqualTo}}},
		},
	})
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var g Filter
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if g.Flags != f.Flags || !reflect.DeepEqual(g.Prog, f.Prog) {
		t.Fatalf("round trip changed the filter:\n%v %v\n%v %v", f.Flags, f.Prog, g.Flags, g.Prog)
	}
	if err := json.Unmarshal([]byte(`{"prog":"AAAA"}`), &g); err == nil {
		t.Error("a 3-byte program was accepted")
	}
}

// Docker's default profile, as runc gets it for a container with Docker's
// default capabilities: every number of every architecture must reach the
// code of its own rules (or the default), whatever the search tree's shape.
func TestSearchTreeDockerProfile(t *testing.T) {
	caps := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}
	for _, sysAdmin := range []bool{false, true} {
		c := caps
		if sysAdmin {
			c = append(c[:len(c):len(c)], "CAP_SYS_ADMIN")
		}
		prof, err := profiles.GetDefaultProfile(&specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: c}}})
		if err != nil {
			t.Fatal(err)
		}
		f := mustCompile(t, prof)
		def, _ := action(prof.DefaultAction, prof.DefaultErrnoRet)
		enosys := retErrno | uint32(unix.ENOSYS)
		rnd := rand.New(rand.NewSource(1))
		for _, a := range supported {
			want := map[string]bool{}
			for _, x := range prof.Architectures {
				want[string(x)] = true
			}
			if a.name != nativeArch && !want[a.name] {
				continue
			}
			rules := map[uint32][]rule{}
			var last uint32
			for _, sc := range prof.Syscalls {
				r, _ := action(sc.Action, sc.ErrnoRet)
				for _, name := range sc.Names {
					nr, ok := a.lookup(name)
					if !ok {
						continue
					}
					last = max(last, nr)
					if r != def {
						rules[nr] = append(rules[nr], splitRules(sc.Args, r)...)
					}
				}
			}
			for nr := uint32(0); nr <= last+3; nr++ {
				for i := 0; i < 4; i++ {
					d := data{nr: nr, arch: a.audit}
					for j := range d.args {
						d.args[j] = rnd.Uint64() >> (rnd.Intn(4) * 16)
					}
					var expect uint32
					switch {
					case nr > last:
						expect = enosys
					case rules[nr] == nil:
						expect = def
					default:
						block, err := syscallBlock(rules[nr], def, a.bits64)
						if err != nil {
							t.Fatal(err)
						}
						expect = run(t, block, d)
					}
					if got := run(t, f.Prog, d); got != expect {
						t.Fatalf("%s nr %d args %x: got %#x, want %#x", a.name, nr, d.args, got, expect)
					}
				}
			}
		}
		t.Logf("CAP_SYS_ADMIN %v: %d instructions", sysAdmin, len(f.Prog))
	}
}
