package cgroups

// Cgroup v2 device access: an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup directory.
//
// How this file talks to the kernel. It issues the bpf(2) system call
// itself, through golang.org/x/sys/unix, instead of using
// github.com/cilium/ebpf as runc does. The program needs a handful of
// instructions (load, mov, and, or, xor, shift, compare-and-jump, exit) and
// a few bpf(2) commands (PROG_LOAD, PROG_ATTACH, PROG_DETACH, PROG_QUERY and
// two lookups by fd and by ID); written out, each instruction is the 8
// bytes of struct bpf_insn and each command the few fields of union
// bpf_attr that the kernel reads, which a reader can put side by side with
// man 2 bpf and include/uapi/linux/bpf.h. cilium/ebpf would hide that
// behind a large library (ELF loading, BTF, maps, links) of which we would
// use a sliver, and would bring a dependency into a package that otherwise
// stands alone. The cost is that we check struct layouts ourselves; the
// tests load programs into the running kernel.
//
// Which attach API. BPF_PROG_ATTACH (the "legacy" API) makes the cgroup hold
// a reference to the program: the attachment lasts until BPF_PROG_DETACH or
// until the cgroup is removed, whether or not anybody keeps a file
// descriptor. That is what a container runtime needs, since minirun exits
// while the container runs. A bpf_link (BPF_LINK_CREATE) would be detached
// when its last fd closes unless pinned in a bpffs, so it is not used. The
// tests check that the program is still attached, and still denies, after
// Close.
//
// BPF_F_ALLOW_MULTI lets several programs sit on one cgroup and lets
// programs on descendant cgroups run too: the kernel runs every program of
// the cgroup and of its ancestors, and an access is allowed only when all of
// them return 1. So a container's filter can only narrow what its parent
// cgroup (systemd's, say) allows, and an update can attach the new program
// before detaching the old one (DetachOthers) without a gap.
//
// License. BPF_PROG_LOAD wants a license string; the kernel consults it only
// to decide whether the program may call helper functions marked GPL-only.
// Ours calls no helper at all, so any string loads. We say "Apache-2.0", the
// license of runc (which says "Apache") and most container tooling; the
// string names the license of the generated code, so change it if minirun
// picks another license.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/trace"
)

const devProgLicense = "Apache-2.0"

// devProgName is what bpftool prog shows (at most 15 characters).
const devProgName = "minirun_devices"

// eBPF opcodes used here (include/uapi/linux/bpf.h, bpf_common.h): the low 3
// bits are the class, the rest the operation and the source (K = the
// immediate, X = a register).
const (
	bpfClassLDX   = 0x01
	bpfClassALU   = 0x04 // 32-bit arithmetic on the low halves ("w" registers)
	bpfClassJMP   = 0x05
	bpfClassJMP32 = 0x06 // compare the low 32 bits (kernel 5.1 and later)
	bpfSizeW      = 0x00 // 32-bit load
	bpfModeMEM    = 0x60
	bpfSrcK       = 0x00
	bpfSrcX       = 0x08
	bpfOpOR       = 0x40
	bpfOpAND      = 0x50
	bpfOpRSH      = 0x70
	bpfOpXOR      = 0xa0
	bpfOpMOV      = 0xb0
	bpfOpJEQ      = 0x10
	bpfOpJNE      = 0x50
	bpfOpEXIT     = 0x90
)

// bpfInsn is one eBPF instruction (struct bpf_insn) plus a comment for the
// listing.
type bpfInsn struct {
	op       uint8
	dst, src uint8 // registers r0..r10
	off      int16 // jumps: instructions to skip; loads: byte offset
	imm      int32
	comment  string
}

func bpfLoad32(dst, src uint8, off int16, comment string) bpfInsn {
	return bpfInsn{op: bpfClassLDX | bpfModeMEM | bpfSizeW, dst: dst, src: src, off: off, comment: comment}
}

func bpfALU32Imm(op uint8, dst uint8, imm int32, comment string) bpfInsn {
	return bpfInsn{op: bpfClassALU | op | bpfSrcK, dst: dst, imm: imm, comment: comment}
}

func bpfALU32Reg(op uint8, dst, src uint8, comment string) bpfInsn {
	return bpfInsn{op: bpfClassALU | op | bpfSrcX, dst: dst, src: src, comment: comment}
}

func bpfJump32Imm(op uint8, dst uint8, imm int32, skip int16, comment string) bpfInsn {
	return bpfInsn{op: bpfClassJMP32 | op | bpfSrcK, dst: dst, imm: imm, off: skip, comment: comment}
}

func bpfExit(comment string) bpfInsn {
	return bpfInsn{op: bpfClassJMP | bpfOpEXIT, comment: comment}
}

// String is the instruction in the notation of the kernel's verifier log
// and bpftool ("w" = the low 32 bits of a register).
func (in bpfInsn) String() string {
	aluOps := map[uint8]string{bpfOpOR: "|=", bpfOpAND: "&=", bpfOpRSH: ">>=", bpfOpXOR: "^=", bpfOpMOV: "="}
	switch in.op & 0x07 {
	case bpfClassLDX:
		return fmt.Sprintf("r%d = *(u32 *)(r%d %+d)", in.dst, in.src, in.off)
	case bpfClassALU:
		sym := aluOps[in.op&0xf0]
		if in.op&bpfSrcX != 0 {
			return fmt.Sprintf("w%d %s w%d", in.dst, sym, in.src)
		}
		return fmt.Sprintf("w%d %s %#x", in.dst, sym, uint32(in.imm))
	case bpfClassJMP32:
		sym := map[uint8]string{bpfOpJEQ: "==", bpfOpJNE: "!="}[in.op&0xf0]
		return fmt.Sprintf("if w%d %s %d goto pc%+d", in.dst, sym, uint32(in.imm), in.off)
	case bpfClassJMP:
		if in.op&0xf0 == bpfOpEXIT {
			return "exit"
		}
	}
	return fmt.Sprintf("op %#02x", in.op)
}

// bpfNativeLittleEndian: struct bpf_insn packs dst_reg and src_reg as 4-bit
// bitfields, whose order in the byte follows the machine's byte order.
var bpfNativeLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// bpfEncode lays the instructions out as the kernel reads them.
func bpfEncode(insns []bpfInsn) []byte {
	buf := make([]byte, 8*len(insns))
	for i, in := range insns {
		b := buf[8*i : 8*i+8]
		b[0] = in.op
		if bpfNativeLittleEndian {
			b[1] = in.src<<4 | in.dst&0x0f
		} else {
			b[1] = in.dst<<4 | in.src&0x0f
		}
		binary.NativeEndian.PutUint16(b[2:], uint16(in.off))
		binary.NativeEndian.PutUint32(b[4:], uint32(in.imm))
	}
	return buf
}

// Registers of the generated program.
const (
	bpfR0 = 0 // allowed access letters so far; at the end, the verdict
	bpfR1 = 1 // the context, struct bpf_cgroup_dev_ctx *
	bpfR2 = 2 // device type: BPF_DEVCG_DEV_BLOCK 1, BPF_DEVCG_DEV_CHAR 2
	bpfR3 = 3 // access asked for: BPF_DEVCG_ACC_MKNOD 1 | READ 2 | WRITE 4
	bpfR4 = 4 // major
	bpfR5 = 5 // minor
)

// devProgram compiles rules into the filter program. It does, in eBPF, what
// devAllowedAccess does in Go:
//
//	allowed = 0                          // no rule matched: deny
//	for each rule, in order:
//	    if type, major and minor match:  // wildcards are not tested
//	        allowed |= access            // allow rule
//	        allowed &= ^access           // deny rule
//	return (asked & ^allowed) == 0       // every letter asked for is allowed
//
// Rules before the last rule for everything ("a *:* rwm") are left out,
// since it overrides them. Every jump goes forward, to the next rule, so the
// verifier sees a program without loops whose length grows by at most four
// instructions per rule.
func devProgram(rules []specs.LinuxDeviceCgroup) ([]bpfInsn, error) {
	rs, err := parseDevRules(rules)
	if err != nil {
		return nil, err
	}
	first := 0
	for i, r := range rs {
		if r.everything() {
			first = i
		}
	}
	p := []bpfInsn{
		bpfLoad32(bpfR2, bpfR1, 0, "r2 = ctx->access_type"),
		bpfALU32Reg(bpfOpMOV, bpfR3, bpfR2, "r3 = ctx->access_type"),
		bpfALU32Imm(bpfOpAND, bpfR2, 0xffff, "r2 = device type (low 16 bits): 1 block, 2 char"),
		bpfALU32Imm(bpfOpRSH, bpfR3, 16, "r3 = access asked for (high 16 bits): 1 mknod, 2 read, 4 write"),
		bpfLoad32(bpfR4, bpfR1, 4, "r4 = ctx->major"),
		bpfLoad32(bpfR5, bpfR1, 8, "r5 = ctx->minor"),
	}
	if len(rs) == 0 || !rs[first].everything() {
		p = append(p, bpfALU32Imm(bpfOpMOV, bpfR0, 0, "r0 = allowed access: none until a rule matches"))
	}
	for i := first; i < len(rs); i++ {
		r := rs[i]
		var tests []bpfInsn
		if r.typ != 'a' {
			typ, name := int32(unix.BPF_DEVCG_DEV_CHAR), "char"
			if r.typ == 'b' {
				typ, name = unix.BPF_DEVCG_DEV_BLOCK, "block"
			}
			tests = append(tests, bpfJump32Imm(bpfOpJNE, bpfR2, typ, 0, "not a "+name+" device: next rule"))
		}
		if r.major != devWildcard {
			tests = append(tests, bpfJump32Imm(bpfOpJNE, bpfR4, int32(uint32(r.major)), 0, fmt.Sprintf("major is not %d: next rule", r.major)))
		}
		if r.minor != devWildcard {
			tests = append(tests, bpfJump32Imm(bpfOpJNE, bpfR5, int32(uint32(r.minor)), 0, fmt.Sprintf("minor is not %d: next rule", r.minor)))
		}
		for j := range tests {
			// skip the tests after this one and the update below
			tests[j].off = int16(len(tests) - j)
		}
		var update bpfInsn
		if r.allow {
			update = bpfALU32Imm(bpfOpOR, bpfR0, int32(r.access), fmt.Sprintf("matched: allow %s", r.access))
		} else {
			update = bpfALU32Imm(bpfOpAND, bpfR0, int32(devAccAll&^r.access), fmt.Sprintf("matched: deny %s", r.access))
		}
		if r.everything() {
			// the same effect, said plainly
			update = bpfALU32Imm(bpfOpMOV, bpfR0, 0, "matched: deny rwm")
			if r.allow {
				update = bpfALU32Imm(bpfOpMOV, bpfR0, int32(devAccAll), "matched: allow rwm")
			}
		}
		if len(tests) > 0 {
			tests[0].comment += fmt.Sprintf("   [rule %d: %s]", i, r)
		} else {
			update.comment += fmt.Sprintf("   [rule %d: %s]", i, r)
		}
		p = append(p, tests...)
		p = append(p, update)
	}
	p = append(p,
		bpfALU32Imm(bpfOpXOR, bpfR0, int32(devAccAll), "r0 = access letters NOT allowed"),
		bpfALU32Reg(bpfOpAND, bpfR0, bpfR3, "r0 = letters asked for but not allowed"),
		bpfJump32Imm(bpfOpJEQ, bpfR0, 0, 2, "none: go to allow"),
		bpfALU32Imm(bpfOpMOV, bpfR0, 0, "return 0: deny (the caller gets EPERM)"),
		bpfExit(""),
		bpfALU32Imm(bpfOpMOV, bpfR0, 1, "return 1: allow"),
		bpfExit(""),
	)
	return p, nil
}

// DeviceProgramListing gives a readable listing of the eBPF program that
// AttachDeviceFilter would load for rules, one instruction a line, for the
// workshop trace. Invalid rules give the error text.
func DeviceProgramListing(rules []specs.LinuxDeviceCgroup) string {
	p, err := devProgram(rules)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "; BPF_PROG_TYPE_CGROUP_DEVICE, %d instructions, license %q\n", len(p), devProgLicense)
	fmt.Fprintf(&b, "; r1 = struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }\n")
	fmt.Fprintf(&b, "; for each letter asked for, the last matching rule decides; no match = deny\n")
	for i, in := range p {
		text := in.String()
		if in.op&0x07 == bpfClassJMP32 {
			text += fmt.Sprintf(" <%d>", i+1+int(in.off))
		}
		if in.comment == "" {
			fmt.Fprintf(&b, "%4d: %s\n", i, text)
		} else {
			fmt.Fprintf(&b, "%4d: %-34s ; %s\n", i, text, in.comment)
		}
	}
	return b.String()
}

// bpfAddr turns the address of a Go object into the __aligned_u64 that
// union bpf_attr uses for pointers (insns, license, log_buf, prog_ids,
// info). The object is pinned first, so that the garbage collector neither
// moves nor frees it while the kernel reads or writes it; the caller unpins
// after the system call. A plain uint64 is the same 8 bytes on every machine,
// 32 or 64 bits, either byte order.
func bpfAddr(pin *runtime.Pinner, p unsafe.Pointer) uint64 {
	pin.Pin(p)
	return uint64(uintptr(p))
}

// bpfProgLoadAttr is union bpf_attr for BPF_PROG_LOAD, up to
// expected_attach_type; the kernel treats fields we leave out as zero.
type bpfProgLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              uint64
	license            uint64
	logLevel           uint32
	logSize            uint32
	logBuf             uint64
	kernVersion        uint32
	progFlags          uint32
	progName           [unix.BPF_OBJ_NAME_LEN]byte
	progIfindex        uint32
	expectedAttachType uint32
}

// bpfProgAttachAttr is union bpf_attr for BPF_PROG_ATTACH and BPF_PROG_DETACH.
type bpfProgAttachAttr struct {
	targetFD     uint32
	attachBpfFD  uint32
	attachType   uint32
	attachFlags  uint32
	replaceBpfFD uint32
}

// bpfProgQueryAttr is union bpf_attr for BPF_PROG_QUERY.
type bpfProgQueryAttr struct {
	targetFD    uint32
	attachType  uint32
	queryFlags  uint32
	attachFlags uint32
	progIDs     uint64
	progCount   uint32
	_           uint32
}

// bpfGetFDByIDAttr is union bpf_attr for BPF_PROG_GET_FD_BY_ID.
type bpfGetFDByIDAttr struct {
	id        uint32
	nextID    uint32
	openFlags uint32
}

// bpfObjInfoAttr is union bpf_attr for BPF_OBJ_GET_INFO_BY_FD.
type bpfObjInfoAttr struct {
	fd      uint32
	infoLen uint32
	info    uint64
}

// bpfProgInfo is the start of struct bpf_prog_info; the kernel fills in as
// much as we give room for.
type bpfProgInfo struct {
	progType uint32
	id       uint32
	tag      [8]byte
}

// bpfCall is the bpf(2) system call. attr must point to one of the structs
// above, of size size.
func bpfCall(cmd uintptr, attr unsafe.Pointer, size uintptr) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_BPF, cmd, uintptr(attr), size)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// devLoadProgram loads the program and returns its fd. When the verifier
// refuses it, the load is repeated with a log buffer and the log becomes part
// of the error.
func devLoadProgram(insns []bpfInsn) (int, error) {
	var pin runtime.Pinner
	defer pin.Unpin()
	code := bpfEncode(insns)
	license := []byte(devProgLicense + "\x00")
	attr := bpfProgLoadAttr{
		progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:  uint32(len(insns)),
		insns:    bpfAddr(&pin, unsafe.Pointer(&code[0])),
		license:  bpfAddr(&pin, unsafe.Pointer(&license[0])),
	}
	copy(attr.progName[:], devProgName)
	fd, err := bpfCall(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err == nil {
		return fd, nil
	}
	if errors.Is(err, unix.EPERM) {
		return -1, fmt.Errorf("load eBPF device program: %w (needs CAP_BPF or root)", err)
	}
	log := make([]byte, 64*1024)
	attr.logLevel = 1
	attr.logSize = uint32(len(log))
	attr.logBuf = bpfAddr(&pin, unsafe.Pointer(&log[0]))
	if fd, err2 := bpfCall(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err2 == nil {
		return fd, nil // it went through the second time
	}
	text := string(log)
	if i := strings.IndexByte(text, 0); i >= 0 {
		text = text[:i]
	}
	return -1, fmt.Errorf("load eBPF device program: %w; verifier log:\n%s", err, strings.TrimSpace(text))
}

// devProgID asks the kernel for the ID of a loaded program (what bpftool
// prog list shows).
func devProgID(progFD int) (uint32, error) {
	var pin runtime.Pinner
	defer pin.Unpin()
	var info bpfProgInfo
	attr := bpfObjInfoAttr{fd: uint32(progFD), infoLen: uint32(unsafe.Sizeof(info)), info: bpfAddr(&pin, unsafe.Pointer(&info))}
	if _, err := bpfCall(unix.BPF_OBJ_GET_INFO_BY_FD, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
		return 0, fmt.Errorf("BPF_OBJ_GET_INFO_BY_FD: %w", err)
	}
	return info.id, nil
}

// devOpenCgroup2 opens a directory and checks it is on a cgroup2 file system.
func devOpenCgroup2(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		unix.Close(fd)
		return -1, &os.PathError{Op: "statfs", Path: dir, Err: err}
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		unix.Close(fd)
		return -1, fmt.Errorf("%s is not a cgroup2 directory (file system type %#x)", dir, st.Type)
	}
	return fd, nil
}

// devAttach attaches or detaches (cmd BPF_PROG_ATTACH or BPF_PROG_DETACH)
// progFD to the cgroup dirFD as a device program.
func devAttach(cmd uintptr, dirFD, progFD int) error {
	attr := bpfProgAttachAttr{
		targetFD:    uint32(dirFD),
		attachBpfFD: uint32(progFD),
		attachType:  unix.BPF_CGROUP_DEVICE,
	}
	if cmd == unix.BPF_PROG_ATTACH {
		attr.attachFlags = unix.BPF_F_ALLOW_MULTI
	}
	_, err := bpfCall(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return err
}

// devQuery returns the IDs of the device programs attached directly to the
// cgroup dirFD (not those of its ancestors).
func devQuery(dirFD int) ([]uint32, error) {
	var pin runtime.Pinner
	defer pin.Unpin()
	ids := make([]uint32, 16)
	for {
		attr := bpfProgQueryAttr{
			targetFD:   uint32(dirFD),
			attachType: unix.BPF_CGROUP_DEVICE,
			progIDs:    bpfAddr(&pin, unsafe.Pointer(&ids[0])),
			progCount:  uint32(len(ids)),
		}
		_, err := bpfCall(unix.BPF_PROG_QUERY, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		if errors.Is(err, unix.ENOSPC) {
			ids = make([]uint32, 2*attr.progCount)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("BPF_PROG_QUERY: %w", err)
		}
		return ids[:attr.progCount], nil
	}
}

// devProgFDByID opens a loaded program by its ID.
func devProgFDByID(id uint32) (int, error) {
	attr := bpfGetFDByIDAttr{id: id}
	fd, err := bpfCall(unix.BPF_PROG_GET_FD_BY_ID, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return -1, fmt.Errorf("BPF_PROG_GET_FD_BY_ID %d: %w", id, err)
	}
	return fd, nil
}

// DeviceFilter is a loaded eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE
// attached to one cgroup2 directory.
type DeviceFilter struct {
	dir    string
	id     uint32 // the program's ID, valid after Close too
	progFD int    // -1 after Close
	dirFD  int    // -1 after Close
}

// AttachDeviceFilter compiles rules into an eBPF program (see devProgram and
// DeviceProgramListing), loads it and attaches it to cgroupDir, a cgroup2
// directory, with BPF_PROG_ATTACH, attach type BPF_CGROUP_DEVICE and flag
// BPF_F_ALLOW_MULTI. From then on every open and mknod of a device node by
// a process in that cgroup or below is allowed only when, for each access
// letter asked for, the last matching rule allows it (no matching rule:
// deny), and every other device program on the cgroup and its ancestors
// allows it too. The attachment outlives the returned DeviceFilter and the
// process: it ends with Detach or when the cgroup is removed.
func AttachDeviceFilter(cgroupDir string, rules []specs.LinuxDeviceCgroup) (*DeviceFilter, error) {
	insns, err := devProgram(rules)
	if err != nil {
		return nil, err
	}
	dirFD, err := devOpenCgroup2(cgroupDir)
	if err != nil {
		return nil, fmt.Errorf("attach device filter: %w", err)
	}
	end := trace.StepFn("cgroups", "load the device filter (an eBPF program)", "bpf(2), cgroups(7)", func() string {
		return fmt.Sprintf("bpf(BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE, %d instructions from %d rules)", len(insns), len(rules))
	})
	progFD, err := devLoadProgram(insns)
	end(err)
	if err != nil {
		unix.Close(dirFD)
		return nil, err
	}
	f := &DeviceFilter{dir: cgroupDir, progFD: progFD, dirFD: dirFD}
	if f.id, err = devProgID(progFD); err != nil {
		f.Close()
		return nil, err
	}
	end = trace.StepFn("cgroups", "attach it to the cgroup", "bpf(2), cgroups(7)", func() string {
		return fmt.Sprintf("bpf(BPF_PROG_ATTACH, %s, BPF_CGROUP_DEVICE, prog id %d)", cgroupDir, f.id)
	})
	err = devAttach(unix.BPF_PROG_ATTACH, dirFD, progFD)
	end(err)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("BPF_PROG_ATTACH device program to %s: %w", cgroupDir, err)
	}
	return f, nil
}

// ID is the kernel's ID of the program (bpftool prog show id N; bpftool
// cgroup show DIR).
func (f *DeviceFilter) ID() uint32 { return f.id }

// Close releases our file descriptors. The program stays attached: the
// cgroup holds its own reference.
func (f *DeviceFilter) Close() error {
	var errs []error
	if f.progFD >= 0 {
		errs = append(errs, unix.Close(f.progFD))
		f.progFD = -1
	}
	if f.dirFD >= 0 {
		errs = append(errs, unix.Close(f.dirFD))
		f.dirFD = -1
	}
	return errors.Join(errs...)
}

// Detach removes the program from the cgroup (for an update or teardown;
// removing the cgroup frees it as well) and closes our fds. It works after
// Close too, finding the program again by its ID.
func (f *DeviceFilter) Detach() error {
	if err := f.reopen(); err != nil {
		return err
	}
	err := devAttach(unix.BPF_PROG_DETACH, f.dirFD, f.progFD)
	cerr := f.Close()
	if err != nil {
		return fmt.Errorf("BPF_PROG_DETACH device program %d from %s: %w", f.id, f.dir, err)
	}
	return cerr
}

// DetachOthers detaches every other device program attached directly to the
// same cgroup, whoever attached it. An update attaches the new filter first
// and then calls this on it: in between both programs run, and an access
// needs both to allow it, so there is no moment with no filter.
func (f *DeviceFilter) DetachOthers() error {
	if err := f.reopen(); err != nil {
		return err
	}
	ids, err := devQuery(f.dirFD)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if id == f.id {
			continue
		}
		fd, err := devProgFDByID(id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := devAttach(unix.BPF_PROG_DETACH, f.dirFD, fd); err != nil {
			errs = append(errs, fmt.Errorf("BPF_PROG_DETACH device program %d from %s: %w", id, f.dir, err))
		}
		unix.Close(fd)
	}
	return errors.Join(errs...)
}

// reopen gets back the fds after Close.
func (f *DeviceFilter) reopen() error {
	if f.dirFD < 0 {
		fd, err := devOpenCgroup2(f.dir)
		if err != nil {
			return err
		}
		f.dirFD = fd
	}
	if f.progFD < 0 {
		fd, err := devProgFDByID(f.id)
		if err != nil {
			return err
		}
		f.progFD = fd
	}
	return nil
}

// AttachedDeviceFilters returns the IDs of the device programs attached
// directly to a cgroup2 directory, in the order the kernel runs them.
func AttachedDeviceFilters(cgroupDir string) ([]uint32, error) {
	fd, err := devOpenCgroup2(cgroupDir)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return devQuery(fd)
}
