//go:build cgo

package cgjoin

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The test binary has the constructor too: run again as a child, it
// writes "0" to the descriptors _MINIRUN_CGROUP_JOIN names before main,
// and the child prints what Err says.
func TestMain(m *testing.M) {
	if os.Getenv("CGJOIN_TEST_CHILD") == "1" {
		want := 0
		if v := os.Getenv("_MINIRUN_CGROUP_JOIN"); v != "" {
			want = len(strings.Split(v, ","))
		}
		if err := Err(want); err != nil {
			fmt.Print("ERR ", err)
		} else {
			fmt.Print("OK")
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func child(t *testing.T, env string, files ...*os.File) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CGJOIN_TEST_CHILD=1", "_MINIRUN_CGROUP_JOIN="+env)
	cmd.ExtraFiles = files
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	return string(out)
}

// Each descriptor gets "0", once, before Go runs; then it is closed.
func TestConstructorWritesZero(t *testing.T) {
	r1, w1, _ := os.Pipe()
	r2, w2, _ := os.Pipe()
	defer r1.Close()
	defer r2.Close()
	out := child(t, "3,4", w1, w2)
	w1.Close()
	w2.Close()
	if out != "OK" {
		t.Fatalf("child says %q", out)
	}
	for i, r := range []*os.File{r1, r2} {
		b, _ := io.ReadAll(r)
		if string(b) != "0" {
			t.Errorf("descriptor %d got %q, want \"0\"", 3+i, b)
		}
	}
}

// A failed write is reported by Err, naming the descriptor and errno.
func TestConstructorReportsFailure(t *testing.T) {
	out := child(t, "9")
	if !strings.HasPrefix(out, "ERR ") || !strings.Contains(out, "fd 9") || !strings.Contains(out, "bad file descriptor") && !strings.Contains(out, "Bad file descriptor") {
		t.Fatalf("child says %q, want the failure on fd 9", out)
	}
	if out := child(t, "x"); !strings.Contains(out, "bad _MINIRUN_CGROUP_JOIN") {
		t.Fatalf("child says %q for a malformed list", out)
	}
}

// Without the variable the constructor does nothing.
func TestNoVariableNothing(t *testing.T) {
	if err := Err(0); err != nil {
		t.Fatal(err)
	}
	// Told to expect a move that never happened, Err says so.
	if err := Err(2); err == nil || !strings.Contains(err.Error(), "0 of 2") {
		t.Fatalf("Err(2) without a move = %v", err)
	}
}
