// Package integration runs real containers with the minirun binary and
// asserts what the process inside sees and what the kernel reports. It needs
// root; as another user every test skips with a message saying so.
package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

var (
	bin       string // the minirun binary under test
	stateRoot string
	dataRoot  string
	repoRoot  string
	busybox   string // an unpacked busybox rootfs, for --rootfs and OCI bundles
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("integration: skipping every test: they run real containers and need root (run `sudo make test`)")
		os.Exit(0)
	}
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Join(filepath.Dir(file), "..", "..")
	tmp, err := os.MkdirTemp("", "minirun-it-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(tmp)
	os.Chmod(tmp, 0o755) // an unprivileged user must reach the binary (TestNonRootRefused)
	stateRoot = filepath.Join(tmp, "run")
	dataRoot = filepath.Join(tmp, "data")
	// In the cgroup-v2 VM (vmtest/) there is no Go toolchain and no GNU
	// tar: the binary and the busybox rootfs come prebuilt.
	bin = os.Getenv("MINIRUN_TEST_BINARY")
	if bin == "" {
		bin = filepath.Join(tmp, "minirun")
		// The Makefile's build (static, with cgo for exec), not a copy of it.
		build := exec.Command("make", "-s", "-C", repoRoot, "build", "MINIRUN_OUT="+bin)
		if out, err := build.CombinedOutput(); err != nil {
			return 1, fmt.Errorf("build minirun: %v\n%s", err, out)
		}
	}
	rootfsTar := os.Getenv("MINIRUN_TEST_BUSYBOX_TAR")
	if rootfsTar == "" {
		if _, err := os.Stat("/bin/busybox"); err != nil {
			return 1, fmt.Errorf("/bin/busybox is missing: install Debian's busybox-static (make deps does)")
		}
		rootfsTar = filepath.Join(tmp, "busybox.tar")
		mk := exec.Command("sh", "-c", "scripts/busybox-rootfs.sh > "+rootfsTar)
		mk.Dir = repoRoot
		if out, err := mk.CombinedOutput(); err != nil {
			return 1, fmt.Errorf("build the busybox rootfs: %v\n%s", err, out)
		}
	}
	os.Setenv("MINIRUN_TEST_BUSYBOX_TAR_RESOLVED", rootfsTar)
	imp := exec.Command(bin, "import", "-c", `CMD ["sh"]`, rootfsTar, "busybox:latest")
	imp.Env = minirunEnv()
	if out, err := imp.CombinedOutput(); err != nil {
		return 1, fmt.Errorf("import busybox: %v\n%s", err, out)
	}
	busybox = filepath.Join(tmp, "busybox-rootfs")
	os.MkdirAll(busybox, 0o755)
	if out, err := exec.Command("tar", "-x", "-f", rootfsTar, "-C", busybox).CombinedOutput(); err != nil {
		return 1, fmt.Errorf("unpack busybox rootfs: %v\n%s", err, out)
	}
	forward, _ := os.ReadFile(ipForward)
	// A UDP server for the containers (busybox's nc has no UDP mode),
	// static, put into the busybox rootfs that --rootfs tests use.
	udpecho := os.Getenv("MINIRUN_TEST_UDPECHO")
	if udpecho == "" {
		udpecho = filepath.Join(tmp, "udpecho")
		build := exec.Command("go", "build", "-o", udpecho, "./tests/integration/testdata/udpecho")
		build.Dir = repoRoot
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return 1, fmt.Errorf("build udpecho: %v\n%s", err, out)
		}
	}
	if b, err := os.ReadFile(udpecho); err != nil || os.WriteFile(filepath.Join(busybox, "udpecho"), b, 0o755) != nil {
		return 1, fmt.Errorf("copy udpecho into the busybox rootfs: %v", err)
	}
	code := m.Run()
	if !cleanNetworks() {
		code = 1
	}
	// minirun turns on ip_forward as Docker does; the tests put it back.
	if len(forward) > 0 {
		os.WriteFile(ipForward, forward, 0o644)
	}
	// The tests' parent cgroup itself may stay (a container removes the
	// parent only if it created it and it is empty by then, which
	// concurrent containers race for); it is ours, so it goes here.
	for _, p := range cgroupParents() {
		os.Remove(p)
	}
	if left := cgroupsLeft(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "integration: cgroups left behind: %v\n", left)
		for i := len(left) - 1; i >= 0; i-- {
			os.Remove(left[i])
		}
		code = 1
	}
	if leaks := mountsUnder(tmp); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "integration: mounts left behind: %v\n", leaks)
		for i := len(leaks) - 1; i >= 0; i-- {
			exec.Command("umount", "-l", leaks[i]).Run()
		}
		code = 1
	}
	return code, nil
}

// cgroupParent keeps every container cgroup of the tests below the test
// process's own cgroup (a relative parent), as this machine requires.
var cgroupParent = fmt.Sprintf("minirun-it-%d", os.Getpid())

// The tests' default network gets its own bridge and nftables table, so
// that a user's minirun0 and table "minirun" are never touched.
var (
	testBridge = fmt.Sprintf("mrit%d", os.Getpid()%10000000)
	testTable  = fmt.Sprintf("minirun_it_%d", os.Getpid())
)

func minirunEnv() []string {
	return append(os.Environ(), "MINIRUN_ROOT="+stateRoot, "MINIRUN_DATA_ROOT="+dataRoot, "MINIRUN_CGROUP_PARENT="+cgroupParent,
		"MINIRUN_DEFAULT_BRIDGE="+testBridge, "MINIRUN_NFT_TABLE="+testTable)
}

// result is one finished minirun command.
type result struct {
	stdout, stderr string
	code           int
}

// minirun runs the binary with args and optional stdin, and waits.
func minirun(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = minirunEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("minirun %v: timed out\nstdout: %s\nstderr: %s", args, out.String(), errb.String())
	}
	return result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
}

// minirunFiles is minirun() with regular files as stdout and stderr: a
// command that leaves a process behind holding them (OCI create hands its
// own stdio to the container) must not make the test wait for a pipe.
func minirunFiles(t *testing.T, args ...string) result {
	t.Helper()
	return minirunFilesStart(t, (*exec.Cmd).Start, args...)
}

// minirunFilesStart is minirunFiles with start to start the command (from
// a thread set up as the test needs, say).
func minirunFilesStart(t *testing.T, start func(*exec.Cmd) error, args ...string) result {
	t.Helper()
	dir := t.TempDir()
	out, _ := os.Create(filepath.Join(dir, "stdout"))
	errf, _ := os.Create(filepath.Join(dir, "stderr"))
	defer out.Close()
	defer errf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = minirunEnv()
	cmd.Stdout, cmd.Stderr = out, errf
	if err := start(cmd); err != nil {
		t.Fatalf("minirun %s: %v", strings.Join(args, " "), err)
	}
	_ = cmd.Wait()
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errf.Name())
	return result{string(o), string(e), cmd.ProcessState.ExitCode()}
}

// run is minirun() that fails the test unless the exit code is want.
func run(t *testing.T, want int, args ...string) result {
	t.Helper()
	r := minirun(t, "", args...)
	if r.code != want {
		t.Fatalf("minirun %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// mountsUnder lists mount points at or below dir, from /proc/self/mountinfo.
func mountsUnder(dir string) []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir) {
			out = append(out, f[4])
		}
	}
	return out
}

// cgroupsLeft finds container cgroups below the tests' cgroup parent.
func cgroupsLeft() []string {
	var out []string
	for _, p := range cgroupParents() {
		ents, _ := os.ReadDir(p)
		for _, e := range ents {
			if e.IsDir() {
				out = append(out, filepath.Join(p, e.Name()))
			}
		}
	}
	return out
}

// cgroupParents finds the tests' parent cgroup in every hierarchy.
func cgroupParents() []string {
	var out []string
	filepath.Walk("/sys/fs/cgroup", func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.IsDir() {
			return nil
		}
		if filepath.Base(p) == cgroupParent {
			out = append(out, p)
			return filepath.SkipDir
		}
		return nil
	})
	return out
}

// entries lists a directory's names ("" for a missing directory).
func entries(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// assertClean checks that no container state, layer or mount is left.
func assertClean(t *testing.T) {
	t.Helper()
	if e := entries(stateRoot); len(e) > 0 {
		t.Errorf("state root not empty: %v", e)
	}
	if e := entries(filepath.Join(dataRoot, "containers")); len(e) > 0 {
		t.Errorf("container data not removed: %v", e)
	}
	if m := mountsUnder(filepath.Dir(stateRoot)); len(m) > 0 {
		t.Errorf("mounts left: %v", m)
	}
	if c := cgroupsLeft(); len(c) > 0 {
		t.Errorf("cgroups left: %v", c)
	}
}
