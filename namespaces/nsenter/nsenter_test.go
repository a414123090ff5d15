//go:build cgo

package nsenter

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

var nsNames = []string{"mnt", "uts", "ipc", "net", "pid", "cgroup"}

// TestMain is also the program of the process the constructor clones: this
// test binary has the constructor too. That process prints the namespaces
// it finds itself in and exits.
func TestMain(m *testing.M) {
	if os.Getenv(Env) != "" {
		for _, n := range nsNames {
			l, _ := os.Readlink("/proc/self/ns/" + n)
			fmt.Println(n, l)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The request is struct nsenter_request of nsenter.c: 16 bytes, no padding.
func TestRequestLayout(t *testing.T) {
	if n := binary.Size(Request{}); n != 16 {
		t.Fatalf("binary.Size(Request) = %d, want 16 (struct nsenter_request)", n)
	}
}

type reply struct {
	Type  string `json:"type"`
	Pid   int    `json:"pid"`
	Error string `json:"error"`
}

// nsenter runs the constructor (this binary, re-executed with Env set)
// against pid and returns its reply, the intermediate process's exit code
// and the stdout of the cloned process.
func nsenter(t *testing.T, req Request) (reply, int, string) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "parent"), os.NewFile(uintptr(fds[1]), "child")
	defer parent.Close()
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{Env + "=3"}
	cmd.ExtraFiles = []*os.File{child}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close()
	if err := WriteRequest(parent, req); err != nil {
		t.Fatal(err)
	}
	if _, err := parent.Write([]byte{Go}); err != nil {
		t.Fatal(err)
	}
	var r reply
	line, _ := bufio.NewReader(parent).ReadString('\n')
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("reply %q: %v", line, err)
	}
	_ = cmd.Wait()
	if r.Type == "pid" {
		// CLONE_PARENT: the cloned process is our child, not the
		// intermediate's.
		p, err := os.FindProcess(r.Pid)
		if err != nil {
			t.Fatal(err)
		}
		st, err := p.Wait()
		if err != nil || st.ExitCode() != 0 {
			t.Fatalf("the cloned process: %v %v", st, err)
		}
	}
	b, _ := os.ReadFile(out.Name())
	return r, cmd.ProcessState.ExitCode(), string(b)
}

func startTime(t *testing.T, pid int) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	n, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The constructor joins every namespace of a process made here (mount and
// PID included, which Go itself cannot join), and the process it clones is
// our child.
func TestJoin(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creating and joining namespaces needs CAP_SYS_ADMIN")
	}
	flags := unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWPID | unix.CLONE_NEWCGROUP
	target := exec.Command("sleep", "60")
	target.SysProcAttr = &syscall.SysProcAttr{Cloneflags: uintptr(flags)}
	if err := target.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = target.Process.Kill(); _ = target.Wait() }()
	pid := target.Process.Pid
	var want strings.Builder
	for _, n := range nsNames {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, n))
		if err != nil {
			t.Fatal(err)
		}
		if own, _ := os.Readlink("/proc/self/ns/" + n); own == l {
			t.Fatalf("the target shares our %s namespace", n)
		}
		fmt.Fprintln(&want, n, l)
	}
	r, code, out := nsenter(t, Request{Pid: int32(pid), Flags: uint32(flags), StartTime: startTime(t, pid)})
	if r.Type != "pid" || code != 0 {
		t.Fatalf("reply %+v, intermediate exit %d, output %q", r, code, out)
	}
	if out != want.String() {
		t.Fatalf("the cloned process is in\n%s\nwant\n%s", out, want.String())
	}
}

// A PID whose start time differs is not the process asked for (the
// container stopped and the PID went to another): refused, with a reason.
func TestJoinRefusesAnotherProcess(t *testing.T) {
	r, code, _ := nsenter(t, Request{Pid: int32(os.Getpid()), Flags: unix.CLONE_NEWNET, StartTime: 1})
	if r.Type != "error" || code != 1 || !strings.Contains(r.Error, "not the container's init any more") {
		t.Fatalf("reply %+v, exit %d", r, code)
	}
	r, code, _ = nsenter(t, Request{Pid: 1 << 30, Flags: unix.CLONE_NEWNET})
	if r.Type != "error" || code != 1 || !strings.Contains(r.Error, "has the container stopped?") {
		t.Fatalf("reply %+v, exit %d", r, code)
	}
}
