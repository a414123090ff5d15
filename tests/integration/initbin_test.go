package integration

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// initExe reports whether the process pid executes the file at path: the
// sealed copy init runs from (container/exeseal.go) is a mount of that very
// file, so /proc/PID/exe has its device and inode.
func initExe(t *testing.T, pid int, path string) bool {
	t.Helper()
	want, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.Stat("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(got, want)
}

// A container's init runs from minirun-init, the helper `make build` puts
// beside minirun (container/initbin.go), and its exec helper too; a minirun
// with no helper beside it runs its own init; a helper from other sources
// than the minirun that starts it refuses, saying what to do.
func TestInitHelper(t *testing.T) {
	helper := filepath.Join(filepath.Dir(bin), "minirun-init")
	if _, err := os.Stat(helper); err != nil {
		t.Fatalf("no minirun-init beside %s (make build makes both): %v", bin, err)
	}
	b := bundle(t, []string{"sleep", "30"}, nil)

	defer minirun(t, "", "delete", "--force", "ih1")
	if r := minirunFiles(t, "create", "--bundle", b, "ih1"); r.code != 0 {
		t.Fatalf("create: exit %d: %s", r.code, r.stderr)
	}
	if pid := state(t, "ih1").Pid; !initExe(t, pid, helper) {
		t.Errorf("init (pid %d) does not run %s", pid, helper)
	}
	run(t, 0, "start", "ih1")
	// exec's helper is minirun-init too: it names itself, then becomes the
	// program, which sees none of minirun's variables.
	if r := run(t, 0, "exec", "ih1", "env"); strings.Contains(r.stdout, "MINIRUN") {
		t.Errorf("exec'd program's environment has minirun's variables:\n%s", r.stdout)
	}
	run(t, 0, "delete", "--force", "ih1")

	// minirun alone in a directory: its own init.
	alone := filepath.Join(t.TempDir(), "minirun")
	copyFile(t, bin, alone)
	saved := bin
	bin = alone
	defer func() { bin = saved }()
	defer minirun(t, "", "delete", "--force", "ih2")
	if r := minirunFiles(t, "create", "--bundle", b, "ih2"); r.code != 0 {
		t.Fatalf("create with no minirun-init beside minirun: exit %d: %s", r.code, r.stderr)
	}
	if pid := state(t, "ih2").Pid; !initExe(t, pid, alone) {
		t.Errorf("with no minirun-init beside it, init (pid %d) does not run minirun itself", pid)
	}
	run(t, 0, "delete", "--force", "ih2")
	bin = saved

	// A stamp that is not its own: it stops before doing anything.
	cmd := exec.Command(helper, "init")
	cmd.Env = []string{"_MINIRUN_INIT=1", "_MINIRUN_INIT_STAMP=0123456789abcdef"}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 125 {
		t.Fatalf("minirun-init with another build's stamp: %v, want exit 125\n%s", err, out)
	}
	if !strings.Contains(string(out), "built from other sources") || !strings.Contains(string(out), "make install") {
		t.Errorf("minirun-init with another build's stamp says %q, want what happened and what to do", out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
