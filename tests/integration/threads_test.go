package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Starting a Go thread in minirun's binaries (cgo, musl) unmaps nothing:
// threadstart keeps musl's allocator from handing the page of Go's thread
// start records back to the kernel, a TLB shootdown on every CPU each
// time (threadstart/doc.go). strace(1) watches both programs: minirun
// itself, and minirun-init, which runs a runc verb the front door hands
// over.
func TestThreadStartUnmapsNothing(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed (Debian package strace)")
	}
	for _, args := range [][]string{{"version"}, {"state", "no-such-container"}} {
		log := filepath.Join(t.TempDir(), "strace")
		cmd := exec.Command(strace, append([]string{"-f", "-qq", "-e", "trace=munmap,clone,clone3", "-o", log, bin}, args...)...)
		cmd.Env = minirunEnv()
		out, _ := cmd.CombinedOutput()
		b, err := os.ReadFile(log)
		if err != nil {
			t.Fatalf("strace %v: %v\n%s", args, err, out)
		}
		text := string(b)
		if threads := strings.Count(text, "CLONE_THREAD"); threads < 2 {
			t.Errorf("minirun %v started %d threads; a Go program starts several, is strace working?\n%s", args, threads, text)
		}
		if n := strings.Count(text, "munmap("); n > 0 {
			t.Errorf("minirun %v: %d munmap(2) calls, want none:\n%s", args, n, text)
		}
	}
}
