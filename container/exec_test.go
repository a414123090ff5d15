package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/namespaces"
)

func TestNamespaceFlags(t *testing.T) {
	s := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.NetworkNamespace, Path: "/run/netns/x"},
		{Type: specs.UserNamespace}, {Type: specs.CgroupNamespace}, {Type: specs.TimeNamespace},
	}}}
	got, err := namespaceFlags(s)
	want := uint32(unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWNET | unix.CLONE_NEWUSER | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME)
	if err != nil || got != want {
		t.Fatalf("namespaceFlags = %#x, %v; want %#x", got, err, want)
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
	if _, err := namespaceFlags(s); err == nil {
		t.Fatal("a bogus namespace type was accepted")
	}
}

// The lines nsenter.c writes decode as the Go side's messages.
func TestExecMsgFromC(t *testing.T) {
	dec := json.NewDecoder(strings.NewReader(`{"type":"pid","pid":4242}` + "\n" +
		`{"type":"error","error":"nsenter: setns(/proc/1/ns/mnt): Operation \"not\" permitted"}` + "\n"))
	m, err := readExecMsg(dec)
	if err != nil || m.Type != "pid" || m.Pid != 4242 {
		t.Fatalf("pid line: %+v %v", m, err)
	}
	m, err = readExecMsg(dec)
	if err != nil || m.Type != "error" || m.err().Error() != `nsenter: setns(/proc/1/ns/mnt): Operation "not" permitted` {
		t.Fatalf("error line: %+v %v", m, err)
	}
}

// An exec error keeps its kind through the socket: 127 and 126 survive.
func TestExecErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		errno unix.Errno
		kind  error
	}{
		{unix.ENOENT, ErrExecNotFound}, {unix.EACCES, ErrExecNotExecutable},
		{unix.ENOEXEC, ErrExecNotExecutable}, {unix.ENOTDIR, ErrExecNotFound},
	} {
		err := &namespaces.ExecError{Name: "x", Msg: tc.errno.Error(), Err: errnoKind(tc.errno)}
		b, _ := json.Marshal(errorMsg(err))
		var m execMsg
		if json.Unmarshal(b, &m) != nil || !errors.Is(m.err(), tc.kind) {
			t.Errorf("%v: %s does not decode as %v", tc.errno, b, tc.kind)
		}
	}
}

func TestNotRunningError(t *testing.T) {
	err := fmt.Errorf("exec: %w", &NotRunningError{ID: "abc"})
	if !errors.Is(err, ErrNotRunning) || err.Error() != "exec: container abc is not running" {
		t.Fatalf("%v", err)
	}
	if e := (&NotRunningError{ID: "abc", Status: Paused}); !strings.Contains(e.Error(), "is paused, unpause the container before exec") {
		t.Fatalf("%v", e)
	}
}

func TestValidateProcess(t *testing.T) {
	ok := &specs.Process{Args: []string{"sh"}, Cwd: "/"}
	if err := validateProcess(ok); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*specs.Process{
		"no args":      {Cwd: "/"},
		"relative cwd": {Args: []string{"sh"}, Cwd: "tmp"},
		"bad cap":      {Args: []string{"sh"}, Cwd: "/", Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_NOPE"}}},
		"bad rlimit":   {Args: []string{"sh"}, Cwd: "/", Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOPE"}}},
	} {
		if err := validateProcess(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
