package seccomp

// FuzzCompile feeds linux.seccomp profiles (JSON, as config.json carries
// them) to Compile. A profile that compiles must give a program the kernel
// accepts and that means what the profile says:
//   - 1 to BPF_MAXINSNS instructions, the last one a RET, every jump landing
//     inside the program (the kernel's bpf_check_classic refuses anything
//     else, and then the container would fail only at start);
//   - a foreign architecture is killed;
//   - a system call that exactly one unconditional rule names gets that
//     rule's action; any system call gets the default action, the ENOSYS
//     stub or one of the profile's actions, never anything else.
//
// Seeds: testdata/fuzz/FuzzCompile/ (committed), plus Docker's default
// profile below. Run with
//
//	go test -run '^$' -fuzz '^FuzzCompile$' -fuzztime 60s ./security/seccomp
//
// or all fuzzers with `make fuzz`.

import (
	"encoding/json"
	"testing"

	profiles "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func FuzzCompile(f *testing.F) {
	prof, err := profiles.GetDefaultProfile(&specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}})
	if err != nil {
		f.Fatal(err)
	}
	b, _ := json.Marshal(prof)
	f.Add(b)
	f.Fuzz(func(t *testing.T, profile []byte) {
		var s specs.LinuxSeccomp
		if json.Unmarshal(profile, &s) != nil {
			return
		}
		filter, err := Compile(&s)
		if err != nil {
			if filter != nil {
				t.Fatalf("Compile returned a filter and an error: %v", err)
			}
			return
		}
		checkProgram(t, filter.Prog)

		a := native(t)
		def, _ := action(s.DefaultAction, s.DefaultErrnoRet)
		allowed := map[uint32]bool{def: true, retErrno | uint32(unix.ENOSYS): true}
		count := map[uint32]int{}
		uncond := map[uint32]uint32{}
		for _, sc := range s.Syscalls {
			r, _ := action(sc.Action, sc.ErrnoRet)
			allowed[r] = true
			for _, name := range sc.Names {
				nr, ok := a.lookup(name)
				if !ok {
					continue
				}
				count[nr]++
				if len(sc.Args) == 0 {
					uncond[nr] = r
				}
			}
		}
		if got := run(t, filter.Prog, data{nr: 0, arch: 0x1234}); got != retKillProcess {
			t.Fatalf("a foreign architecture gets %#x, want KILL_PROCESS", got)
		}
		for nr := range count {
			for _, args := range [][6]uint64{{}, {1, 2, 3, 4, 5, 6}, {^uint64(0), 1 << 32, 0x8000_0000, 7, 0, 1}} {
				got := run(t, filter.Prog, data{nr: nr, arch: a.audit, args: args})
				if !allowed[got] {
					t.Fatalf("system call %d gets %#x, which is no action of the profile", nr, got)
				}
				if r, ok := uncond[nr]; ok && count[nr] == 1 && got != r {
					t.Fatalf("system call %d, named once without conditions, gets %#x, want %#x", nr, got, r)
				}
			}
		}
	})
}

// checkProgram asserts the structural rules the kernel checks when it
// loads a classic BPF seccomp filter.
func checkProgram(t *testing.T, prog []unix.SockFilter) {
	t.Helper()
	if len(prog) == 0 || len(prog) > bpfMaxInsns {
		t.Fatalf("%d instructions", len(prog))
	}
	if last := prog[len(prog)-1]; last.Code&0x07 != unix.BPF_RET {
		t.Fatalf("the last instruction %#x is not a RET", last.Code)
	}
	for pc, in := range prog {
		if in.Code&0x07 != unix.BPF_JMP {
			continue
		}
		if in.Code == unix.BPF_JMP|unix.BPF_JA {
			if pc+1+int(in.K) >= len(prog) || int(in.K) < 0 {
				t.Fatalf("pc %d: JA %d jumps out of the program (%d instructions)", pc, in.K, len(prog))
			}
			continue
		}
		if pc+1+int(in.Jt) >= len(prog) || pc+1+int(in.Jf) >= len(prog) {
			t.Fatalf("pc %d: jump %d/%d out of the program (%d instructions)", pc, in.Jt, in.Jf, len(prog))
		}
	}
}
