package container

// FuzzLoadSpec feeds config.json files to LoadSpec and validate, the
// checks `minirun create` (and every `run`) makes before anything exists.
// What validate accepts must have what the rest of create takes for granted
// (a root path, a program, an absolute cwd, a linux section, absolute mount
// destinations, namespaces named once), and a linux.seccomp section must
// come back as a compiled filter the kernel can load (the structural checks
// of security/seccomp's FuzzCompile: jumps inside the program, a RET last).
//
// Seeds: testdata/fuzz/FuzzLoadSpec/ (committed), plus a spec as `minirun
// run` writes it. Run with
//
//	go test -run '^$' -fuzz '^FuzzLoadSpec$' -fuzztime 60s ./container
//
// or all fuzzers with `make fuzz`.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	profiles "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/oci"
)

func FuzzLoadSpec(f *testing.F) {
	s := oci.Default()
	s.Process.Args = []string{"/bin/true"}
	prof, err := profiles.GetDefaultProfile(s)
	if err != nil {
		f.Fatal(err)
	}
	s.Linux.Seccomp = prof
	b, err := json.Marshal(s)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, config []byte) {
		bundle := t.TempDir()
		if err := os.WriteFile(filepath.Join(bundle, "config.json"), config, 0o644); err != nil {
			t.Fatal(err)
		}
		spec, err := LoadSpec(bundle)
		if err != nil {
			if spec != nil {
				t.Fatalf("LoadSpec returned a spec and an error: %v", err)
			}
			return
		}
		filter, err := validate(spec)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		switch {
		case spec.Root == nil || spec.Root.Path == "":
			t.Fatal("accepted without root.path")
		case spec.Process == nil || len(spec.Process.Args) == 0:
			t.Fatal("accepted without process.args")
		case !filepath.IsAbs(spec.Process.Cwd):
			t.Fatalf("accepted process.cwd %q", spec.Process.Cwd)
		case spec.Linux == nil:
			t.Fatal("accepted without a linux section")
		}
		for _, m := range spec.Mounts {
			if !filepath.IsAbs(m.Destination) {
				t.Fatalf("accepted mount destination %q", m.Destination)
			}
		}
		seen := map[specs.LinuxNamespaceType]bool{}
		for _, ns := range spec.Linux.Namespaces {
			if seen[ns.Type] {
				t.Fatalf("accepted namespace %q twice", ns.Type)
			}
			seen[ns.Type] = true
		}
		if (spec.Linux.Seccomp == nil) != (filter == nil) {
			t.Fatalf("linux.seccomp %v but filter %v", spec.Linux.Seccomp != nil, filter != nil)
		}
		if filter != nil {
			checkFilter(t, filter.Prog)
		}
	})
}

// checkFilter: what the kernel's bpf_check_classic demands of a program.
func checkFilter(t *testing.T, prog []unix.SockFilter) {
	t.Helper()
	if len(prog) == 0 || len(prog) > 4096 {
		t.Fatalf("seccomp filter of %d instructions", len(prog))
	}
	if prog[len(prog)-1].Code&0x07 != unix.BPF_RET {
		t.Fatal("seccomp filter does not end in RET")
	}
	for pc, in := range prog {
		if in.Code&0x07 != unix.BPF_JMP {
			continue
		}
		far := pc + 1 + max(int(in.Jt), int(in.Jf))
		if in.Code == unix.BPF_JMP|unix.BPF_JA {
			far = pc + 1 + int(in.K)
		}
		if far >= len(prog) {
			t.Fatalf("seccomp filter: pc %d jumps to %d of %d", pc, far, len(prog))
		}
	}
}
