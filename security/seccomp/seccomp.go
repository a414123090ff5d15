package seccomp

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/trace"
)

// syscallNr is one entry of a generated table (tables_<goarch>.go).
type syscallNr struct {
	name string
	nr   uint32
}

// archInfo is an architecture a filter can cover.
type archInfo struct {
	name   string // SCMP_ARCH_X86_64
	audit  uint32 // seccomp_data.arch: AUDIT_ARCH_X86_64
	bits64 bool   // arguments are 64 bits wide
	table  []syscallNr
	x32    string // the ABI that shares this AUDIT_ARCH with bit 30 set in the number
}

// lookup returns the number of a system call on a, if a has it.
func (a *archInfo) lookup(name string) (uint32, bool) {
	i := sort.Search(len(a.table), func(i int) bool { return a.table[i].name >= name })
	if i < len(a.table) && a.table[i].name == name {
		return a.table[i].nr, true
	}
	return 0, false
}

// x32Bit marks an x32 system call on x86_64 (__X32_SYSCALL_BIT).
const x32Bit = 0x40000000

// Every architecture name of libseccomp: a profile may list any of them;
// those this kernel cannot run processes of are left out of the filter.
var knownArches = map[string]bool{
	"SCMP_ARCH_X86": true, "SCMP_ARCH_X86_64": true, "SCMP_ARCH_X32": true, "SCMP_ARCH_ARM": true,
	"SCMP_ARCH_AARCH64": true, "SCMP_ARCH_MIPS": true, "SCMP_ARCH_MIPS64": true, "SCMP_ARCH_MIPS64N32": true,
	"SCMP_ARCH_MIPSEL": true, "SCMP_ARCH_MIPSEL64": true, "SCMP_ARCH_MIPSEL64N32": true, "SCMP_ARCH_PPC": true,
	"SCMP_ARCH_PPC64": true, "SCMP_ARCH_PPC64LE": true, "SCMP_ARCH_S390": true, "SCMP_ARCH_S390X": true,
	"SCMP_ARCH_PARISC": true, "SCMP_ARCH_PARISC64": true, "SCMP_ARCH_RISCV64": true, "SCMP_ARCH_LOONGARCH64": true,
	"SCMP_ARCH_M68K": true, "SCMP_ARCH_SH": true, "SCMP_ARCH_SHEB": true,
}

// The filter's return values (man 2 seccomp, "Filter return values").
const (
	retKillThread  = 0x00000000
	retKillProcess = unix.SECCOMP_RET_KILL_PROCESS
	retTrap        = 0x00030000
	retErrno       = 0x00050000
	retTrace       = 0x7ff00000
	retLog         = 0x7ffc0000
	retAllow       = 0x7fff0000
)

// action turns an OCI action into the filter's return value. ERRNO and
// TRACE carry errnoRet, EPERM without it, as runc does.
func action(a specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	data := uint32(unix.EPERM)
	if errnoRet != nil {
		if *errnoRet > 0xffff {
			return 0, fmt.Errorf("errnoRet %d does not fit in 16 bits", *errnoRet)
		}
		data = uint32(*errnoRet)
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return retKillThread, nil
	case specs.ActKillProcess:
		return retKillProcess, nil
	case specs.ActTrap:
		return retTrap, nil
	case specs.ActErrno:
		return retErrno | data, nil
	case specs.ActTrace:
		return retTrace | data, nil
	case specs.ActLog:
		return retLog, nil
	case specs.ActAllow:
		return retAllow, nil
	case specs.ActNotify:
		return 0, errors.New("action SCMP_ACT_NOTIFY (a user-space supervisor) is not supported yet")
	}
	return 0, fmt.Errorf("unknown action %q", a)
}

var filterFlags = map[specs.LinuxSeccompFlag]uintptr{
	specs.LinuxSeccompFlagLog:                           unix.SECCOMP_FILTER_FLAG_LOG,
	specs.LinuxSeccompFlagSpecAllow:                     unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	specs.LinuxSeccompFlagWaitKillableRecv:              unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
	specs.LinuxSeccompFlag("SECCOMP_FILTER_FLAG_TSYNC"): unix.SECCOMP_FILTER_FLAG_TSYNC,
}

// Filter is a compiled seccomp program, ready for Install.
type Filter struct {
	Prog  []unix.SockFilter
	Flags uintptr // SECCOMP_FILTER_FLAG_*
}

// rule is one OCI syscall rule for one system call: its conditions (all
// must hold) and what the filter returns then.
type rule struct {
	args []specs.LinuxSeccompArg
	ret  uint32
}

// Compile turns linux.seccomp of config.json into a BPF program, with
// libseccomp's meaning as runc uses it:
//   - the native architecture is always covered, plus the listed ones this
//     kernel can run; a process of another architecture is killed;
//   - names unknown on an architecture are skipped there;
//   - a rule with the default action changes nothing and is left out;
//   - a rule's conditions must all hold, except that several conditions on
//     one argument become one rule each (any of them);
//   - conditional rules of a system call are tried in order, then its
//     unconditional rule, then the default action;
//   - unless the default action allows, a system call newer than any the
//     profile names fails with ENOSYS, so that a C library falls back to an
//     older one (runc's "ENOSYS stub").
func Compile(s *specs.LinuxSeccomp) (*Filter, error) {
	if nativeArch == "" {
		return nil, fmt.Errorf("seccomp: no system call tables for %s", runtime.GOARCH)
	}
	if s.ListenerPath != "" {
		return nil, errors.New("seccomp: listenerPath (SCMP_ACT_NOTIFY) is not supported yet")
	}
	def, err := action(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("seccomp: defaultAction: %w", err)
	}
	f := &Filter{}
	for _, fl := range s.Flags {
		v, ok := filterFlags[fl]
		if !ok {
			return nil, fmt.Errorf("seccomp: unknown or unsupported flag %q", fl)
		}
		f.Flags |= v
	}

	// The architectures, native first.
	var arches []*archInfo
	x32 := false
	want := map[string]bool{nativeArch: true}
	for _, a := range s.Architectures {
		if !knownArches[string(a)] {
			return nil, fmt.Errorf("seccomp: unknown architecture %q", a)
		}
		want[string(a)] = true
	}
	for i := range supported {
		a := &supported[i]
		if want[a.name] {
			arches = append(arches, a)
			x32 = x32 || (a.x32 != "" && want[a.x32])
		}
	}

	// The rules, per architecture and system call number, in order.
	rules := make([]map[uint32][]rule, len(arches))
	for i := range rules {
		rules[i] = map[uint32][]rule{}
	}
	for _, sc := range s.Syscalls {
		ret, err := action(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("seccomp: syscalls %v: %w", sc.Names, err)
		}
		if err := checkArgs(sc.Args); err != nil {
			return nil, fmt.Errorf("seccomp: syscalls %v: %w", sc.Names, err)
		}
		if ret == def {
			continue
		}
		for _, r := range splitRules(sc.Args, ret) {
			for i, a := range arches {
				for _, name := range sc.Names {
					if nr, ok := a.lookup(name); ok {
						rules[i][nr] = append(rules[i][nr], r)
					}
				}
			}
		}
	}

	var p prog
	p.load(offArch)
	for i, a := range arches {
		p.jumpIf(jeq, a.audit, 0, 1)
		p.jumpTo(i) // patched to the architecture's section below
	}
	p.ret(retKillProcess)
	sections := make([]int, len(arches))
	for i, a := range arches {
		sections[i] = len(p.insns)
		p.load(offNr)
		if a.x32 != "" {
			// An x32 call: no x32 table here, so the default action if
			// the profile covers x32, else it is a foreign architecture.
			p.jumpIf(jge, x32Bit, 0, 1)
			if x32 {
				p.ret(def)
			} else {
				p.ret(retKillProcess)
			}
		}
		if def != retAllow && def != retLog && len(rules[i]) > 0 {
			var last uint32
			for _, sc := range s.Syscalls {
				for _, name := range sc.Names {
					if nr, ok := a.lookup(name); ok && nr > last {
						last = nr
					}
				}
			}
			p.jumpIf(jgt, last, 0, 1)
			p.ret(retErrno | uint32(unix.ENOSYS))
		}
		segs, err := segments(rules[i], def, a.bits64)
		if err != nil {
			return nil, fmt.Errorf("seccomp: %s: %w", a.name, err)
		}
		p.insns = append(p.insns, searchTree(segs)...)
	}
	for _, j := range p.jumps {
		p.insns[j.at].K = uint32(sections[j.section] - j.at - 1)
	}
	if len(p.insns) > bpfMaxInsns {
		return nil, fmt.Errorf("seccomp: the filter has %d instructions, more than the kernel's %d", len(p.insns), bpfMaxInsns)
	}
	f.Prog = p.insns
	return f, nil
}

// segment is a run of system call numbers that share their code: from lo
// up to the next segment's lo (the last one: up to 2^32-1).
type segment struct {
	lo   uint32
	code []unix.SockFilter
}

// segments splits the number space into runs handled alike: each number
// with rules gets its block, the numbers between get the default action,
// and neighbours whose code is the same single return merge. Docker's
// profile allows long runs of neighbouring numbers, so ~370 system calls
// become ~100 segments on x86_64.
func segments(rules map[uint32][]rule, def uint32, bits64 bool) ([]segment, error) {
	nrs := make([]uint32, 0, len(rules))
	for nr := range rules {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(x, y int) bool { return nrs[x] < nrs[y] })
	segs := []segment{{lo: 0, code: []unix.SockFilter{ret(def)}}}
	add := func(lo uint32, code []unix.SockFilter) {
		if last := &segs[len(segs)-1]; last.lo == lo {
			segs = segs[:len(segs)-1]
		}
		if len(segs) > 0 {
			last := segs[len(segs)-1]
			if len(last.code) == 1 && len(code) == 1 && last.code[0] == code[0] {
				return
			}
		}
		segs = append(segs, segment{lo: lo, code: code})
	}
	for _, nr := range nrs {
		block, err := syscallBlock(rules[nr], def, bits64)
		if err != nil {
			return nil, fmt.Errorf("system call %d: %w", nr, err)
		}
		add(nr, block)
		if nr < math.MaxUint32 {
			add(nr+1, []unix.SockFilter{ret(def)})
		}
	}
	return segs, nil
}

// searchTree is the code that finds a number's segment by binary search on
// the accumulator (the system call number): log2(segments) comparisons
// instead of one per system call. It matters twice: for every system call
// the container makes, and once at load time, when the kernel runs the
// filter for every number of every architecture to find the calls it can
// allow without running it again (the seccomp action cache, Linux 5.11) —
// with a linear filter that alone cost ~1 ms of every start.
func searchTree(segs []segment) []unix.SockFilter {
	if len(segs) == 1 {
		return segs[0].code
	}
	mid := len(segs) / 2
	left, right := searchTree(segs[:mid]), searchTree(segs[mid:])
	out := make([]unix.SockFilter, 0, 2+len(left)+len(right))
	ge := uint16(unix.BPF_JMP | jge | unix.BPF_K)
	if len(left) <= 255 {
		out = append(out, unix.SockFilter{Code: ge, K: segs[mid].lo, Jt: uint8(len(left))})
	} else {
		// Conditional jumps reach 255 instructions; a longer left side
		// is jumped over by a BPF_JA (32-bit offset).
		out = append(out, unix.SockFilter{Code: ge, K: segs[mid].lo, Jf: 1},
			unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JA, K: uint32(len(left))})
	}
	out = append(out, left...)
	return append(out, right...)
}

// bpfMaxInsns is BPF_MAXINSNS, the longest program seccomp accepts.
const bpfMaxInsns = 4096

var ops = map[specs.LinuxSeccompOperator]bool{
	specs.OpNotEqual: true, specs.OpLessThan: true, specs.OpLessEqual: true, specs.OpEqualTo: true,
	specs.OpGreaterEqual: true, specs.OpGreaterThan: true, specs.OpMaskedEqual: true,
}

func checkArgs(args []specs.LinuxSeccompArg) error {
	for _, a := range args {
		if a.Index > 5 {
			return fmt.Errorf("argument index %d: a system call has 6 (0-5)", a.Index)
		}
		if !ops[a.Op] {
			return fmt.Errorf("unknown operator %q", a.Op)
		}
	}
	return nil
}

// splitRules is runc's reading of a rule's args: all must hold, unless one
// argument has several conditions, then each condition is a rule of its
// own (libseccomp cannot AND two conditions on one argument).
func splitRules(args []specs.LinuxSeccompArg, ret uint32) []rule {
	per := map[uint]int{}
	for _, a := range args {
		per[a.Index]++
	}
	for _, n := range per {
		if n > 1 {
			out := make([]rule, 0, len(args))
			for _, a := range args {
				out = append(out, rule{args: []specs.LinuxSeccompArg{a}, ret: ret})
			}
			return out
		}
	}
	return []rule{{args: args, ret: ret}}
}

// syscallBlock is the code run for one system call number, with the
// accumulator no longer needed: conditional rules in order, the first
// unconditional one, or else the default.
func syscallBlock(rules []rule, def uint32, bits64 bool) ([]unix.SockFilter, error) {
	sort.SliceStable(rules, func(i, j int) bool { return len(rules[i].args) > 0 && len(rules[j].args) == 0 })
	var out []unix.SockFilter
	for _, r := range rules {
		if len(r.args) == 0 {
			return append(out, ret(r.ret)), nil
		}
		code, err := conditions(r.args, bits64)
		if err != nil {
			return nil, err
		}
		out = append(out, code...)
		out = append(out, ret(r.ret))
	}
	return append(out, ret(def)), nil
}

// Offsets in struct seccomp_data (linux/seccomp.h): nr, arch, then the
// instruction pointer and six 64-bit arguments, in the CPU's byte order.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// Little-endian CPUs only (amd64, arm64 and their 32-bit modes): the low
// half of an argument comes first.
func argLo(i uint) uint32 { return offArgs + 8*uint32(i) }
func argHi(i uint) uint32 { return argLo(i) + 4 }

// fail marks a jump offset to be patched to "the rule does not match":
// the instruction after the rule's return.
const fail = 0xff

// conditions compiles the AND of args; each failing test jumps past the
// rule's return. BPF compares 32 bits at a time, so a 64-bit argument is
// compared high half first.
func conditions(args []specs.LinuxSeccompArg, bits64 bool) ([]unix.SockFilter, error) {
	var c []unix.SockFilter
	var failAt []struct {
		at int
		jt bool
	}
	ld := func(off uint32) {
		c = append(c, unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off})
	}
	and := func(k uint32) { c = append(c, unix.SockFilter{Code: unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, K: k}) }
	// j adds a conditional jump; fail in jt or jf is patched below.
	j := func(op uint16, k uint32, jt, jf uint8) {
		if jt == fail {
			failAt = append(failAt, struct {
				at int
				jt bool
			}{len(c), true})
		}
		if jf == fail {
			failAt = append(failAt, struct {
				at int
				jt bool
			}{len(c), false})
		}
		c = append(c, unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, Jt: jt, Jf: jf, K: k})
	}
	for _, a := range args {
		v, v2 := a.Value, a.ValueTwo
		lo, hi := uint32(v), uint32(v>>32)
		if !bits64 {
			// A 32-bit process's arguments are 32 bits: compare the low half.
			ld(argLo(a.Index))
			switch a.Op {
			case specs.OpEqualTo:
				j(jeq, lo, 0, fail)
			case specs.OpNotEqual:
				j(jeq, lo, fail, 0)
			case specs.OpGreaterThan:
				j(jgt, lo, 0, fail)
			case specs.OpGreaterEqual:
				j(jge, lo, 0, fail)
			case specs.OpLessThan:
				j(jge, lo, fail, 0)
			case specs.OpLessEqual:
				j(jgt, lo, fail, 0)
			case specs.OpMaskedEqual:
				and(lo)
				j(jeq, uint32(v2), 0, fail)
			}
			continue
		}
		switch a.Op {
		case specs.OpEqualTo:
			ld(argHi(a.Index))
			j(jeq, hi, 0, fail)
			ld(argLo(a.Index))
			j(jeq, lo, 0, fail)
		case specs.OpNotEqual:
			ld(argHi(a.Index))
			j(jeq, hi, 0, 2) // high halves differ: not equal, go on
			ld(argLo(a.Index))
			j(jeq, lo, fail, 0)
		case specs.OpGreaterThan, specs.OpGreaterEqual:
			// hi > vhi: holds; hi < vhi: fails; equal: compare the low halves.
			ld(argHi(a.Index))
			j(jgt, hi, 3, 0)
			j(jeq, hi, 0, fail)
			ld(argLo(a.Index))
			if a.Op == specs.OpGreaterThan {
				j(jgt, lo, 0, fail)
			} else {
				j(jge, lo, 0, fail)
			}
		case specs.OpLessThan, specs.OpLessEqual:
			// hi < vhi: holds; hi > vhi: fails; equal: compare the low halves.
			ld(argHi(a.Index))
			j(jge, hi, 0, 3)
			j(jeq, hi, 0, fail)
			ld(argLo(a.Index))
			if a.Op == specs.OpLessThan {
				j(jge, lo, fail, 0)
			} else {
				j(jgt, lo, fail, 0)
			}
		case specs.OpMaskedEqual:
			ld(argHi(a.Index))
			and(hi)
			j(jeq, uint32(v2>>32), 0, fail)
			ld(argLo(a.Index))
			and(lo)
			j(jeq, uint32(v2), 0, fail)
		}
	}
	// The rule's return follows the conditions: "fail" skips it.
	for _, f := range failAt {
		off := len(c) - f.at // to the instruction after the return
		if off > 255 {
			return nil, errors.New("too many conditions in one rule")
		}
		if f.jt {
			c[f.at].Jt = uint8(off)
		} else {
			c[f.at].Jf = uint8(off)
		}
	}
	return c, nil
}

const (
	jeq = unix.BPF_JEQ
	jgt = unix.BPF_JGT
	jge = unix.BPF_JGE
)

func ret(k uint32) unix.SockFilter { return unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k} }

// prog is the program being built, with the jumps to architecture
// sections still to patch.
type prog struct {
	insns []unix.SockFilter
	jumps []struct{ at, section int }
}

func (p *prog) load(off uint32) {
	p.insns = append(p.insns, unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off})
}

func (p *prog) jumpIf(op uint16, k uint32, jt, jf uint8) {
	p.insns = append(p.insns, unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, Jt: jt, Jf: jf, K: k})
}

// jumpTo adds an unconditional jump (32-bit offset) to a section.
func (p *prog) jumpTo(section int) {
	p.jumps = append(p.jumps, struct{ at, section int }{len(p.insns), section})
	p.insns = append(p.insns, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JA})
}

func (p *prog) ret(k uint32) { p.insns = append(p.insns, ret(k)) }

// filterWire is a Filter as JSON: the program as the raw bytes of its
// struct sock_filter array (8 bytes an instruction, the CPU's byte order;
// base64 in JSON), a fraction of the size and decoding time of one JSON
// object per instruction. Only minirun's own processes on one host read it.
type filterWire struct {
	Prog  []byte  `json:"prog"`
	Flags uintptr `json:"flags,omitempty"`
}

const insnSize = int(unsafe.Sizeof(unix.SockFilter{}))

// MarshalJSON encodes the compiled program, for a container's init or an
// exec'd process, which then installs it without compiling the profile.
func (f *Filter) MarshalJSON() ([]byte, error) {
	w := filterWire{Flags: f.Flags, Prog: make([]byte, 0, len(f.Prog)*insnSize)}
	if len(f.Prog) > 0 {
		w.Prog = append(w.Prog, unsafe.Slice((*byte)(unsafe.Pointer(&f.Prog[0])), len(f.Prog)*insnSize)...)
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes what MarshalJSON encoded.
func (f *Filter) UnmarshalJSON(b []byte) error {
	var w filterWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if len(w.Prog)%insnSize != 0 || len(w.Prog)/insnSize > bpfMaxInsns {
		return fmt.Errorf("seccomp: a program of %d bytes is not a filter", len(w.Prog))
	}
	f.Flags = w.Flags
	f.Prog = make([]unix.SockFilter, len(w.Prog)/insnSize)
	if len(f.Prog) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&f.Prog[0])), len(w.Prog)), w.Prog)
	}
	return nil
}

// Install loads the filter for the calling thread (all threads with
// SECCOMP_FILTER_FLAG_TSYNC); its children and the program it execs
// inherit it, and nothing removes it. Without no_new_privs the caller
// needs CAP_SYS_ADMIN (man 2 seccomp).
func (f *Filter) Install() error {
	if len(f.Prog) == 0 {
		return errors.New("seccomp: empty filter")
	}
	fprog := unix.SockFprog{Len: uint16(len(f.Prog)), Filter: &f.Prog[0]}
	end := trace.StepFn("seccomp", "load the system call filter", "seccomp(2)", func() string {
		return fmt.Sprintf("seccomp(SECCOMP_SET_MODE_FILTER, %#x, {len=%d BPF instructions})", f.Flags, len(f.Prog))
	})
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, f.Flags, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(f)
	if errno != 0 {
		end(errno)
	} else {
		end(nil)
	}
	if errno != 0 {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w", errno)
	}
	return nil
}

// Features is what `minirun features` reports of seccomp.
func Features() *features.Seccomp {
	yes := nativeArch != ""
	f := &features.Seccomp{Enabled: &yes}
	if !yes {
		return f
	}
	for _, a := range []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillProcess, specs.ActKillThread, specs.ActTrap,
		specs.ActErrno, specs.ActTrace, specs.ActAllow, specs.ActLog} {
		f.Actions = append(f.Actions, string(a))
	}
	for op := range ops {
		f.Operators = append(f.Operators, string(op))
	}
	sort.Strings(f.Operators)
	for _, a := range supported {
		f.Archs = append(f.Archs, a.name)
		if a.x32 != "" {
			f.Archs = append(f.Archs, a.x32)
		}
	}
	for fl := range filterFlags {
		f.KnownFlags = append(f.KnownFlags, string(fl))
	}
	sort.Strings(f.KnownFlags)
	f.SupportedFlags = f.KnownFlags
	return f
}

// UnknownNames lists the system call names of s that no Linux
// architecture has (a typo, such as "opne"), in the order they appear.
// Compile skips names this architecture lacks, as libseccomp and runc do
// (profiles list the calls of several architectures); a name no kernel
// has is worth an error where a person wrote the profile.
func UnknownNames(s *specs.LinuxSeccomp) []string {
	var out []string
	for _, sc := range s.Syscalls {
		for _, n := range sc.Names {
			if _, ok := slices.BinarySearch(allNames, n); !ok && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}
