package container

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/namespaces"
	"github.com/minirun/minirun/security/seccomp"
)

// initEnv marks the re-executed process as a container init.
const initEnv = "_MINIRUN_INIT"

// initConfig is what the parent tells init over the sync socket.
type initConfig struct {
	Spec *specs.Spec `json:"spec"`
	// Seccomp is the spec's linux.seccomp compiled, which Spec then lacks:
	// init installs it as it is (see finalize).
	Seccomp   *seccomp.Filter `json:"seccomp,omitempty"`
	Rootfs    string          `json:"rootfs"`
	NoPivot   bool            `json:"noPivot"`
	FifoFd    int             `json:"fifoFd"`
	ConsoleFd int             `json:"consoleFd"`
	// Hooks: init asks the runtime side to run prestart and createRuntime
	// hooks ("hooks" message) before it pivots, and waits for the answer.
	Hooks bool `json:"hooks"`
	// ID and Bundle go into the state hooks see.
	ID     string `json:"id"`
	Bundle string `json:"bundle"`
	Pid    int    `json:"pid"` // init's PID on the host
	// CgroupJoin: the tasks files init's C constructor wrote "0" to,
	// moving itself into its cgroup (cgroup v1; see cgroups/cgjoin).
	CgroupJoin []string `json:"cgroupJoin,omitempty"`
}

// passCgroupJoin gives cmd the tasks files (cgroups.SelfJoinFiles) as extra
// descriptors and names them in _MINIRUN_CGROUP_JOIN, for the constructor
// of cgroups/cgjoin to write "0" to before the Go runtime starts.
func passCgroupJoin(cmd *exec.Cmd, files []*os.File) {
	fds := make([]string, len(files))
	for i, f := range files {
		fds[i] = strconv.Itoa(3 + len(cmd.ExtraFiles))
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	}
	cmd.Env = append(cmd.Env, "_MINIRUN_CGROUP_JOIN="+strings.Join(fds, ","))
}

// syncMsg is what init answers: "ready" or "error".
type syncMsg struct {
	Type  string `json:"type"`
	Error string `json:"error,omitempty"`
	// Kind classifies exec errors: "notfound" or "noexec".
	Kind string `json:"kind,omitempty"`
}

// ErrExecNotFound and ErrExecNotExecutable wrap init's report that the
// program cannot be run (exit codes 127 and 126 in Docker).
var (
	ErrExecNotFound      = namespaces.ErrNotFound
	ErrExecNotExecutable = namespaces.ErrNotExecutable
)

// ExitCode is Docker's exit code for an error of starting a container: 127
// when its program is not found, 126 when it cannot be executed, 125 (the
// runtime failed) otherwise.
func ExitCode(err error) int {
	switch {
	case errors.Is(err, ErrExecNotFound):
		return 127
	case errors.Is(err, ErrExecNotExecutable):
		return 126
	}
	return 125
}

type initError struct {
	msg  string
	kind error
}

func (e *initError) Error() string { return e.msg }
func (e *initError) Unwrap() error { return e.kind }

func (m syncMsg) err() error {
	e := &initError{msg: m.Error}
	switch m.Kind {
	case "notfound":
		e.kind = ErrExecNotFound
	case "noexec":
		e.kind = ErrExecNotExecutable
	}
	return e
}

func errorMsg(err error) syncMsg {
	m := syncMsg{Type: "error", Error: err.Error()}
	switch {
	case errors.Is(err, namespaces.ErrNotFound):
		m.Kind = "notfound"
	case errors.Is(err, namespaces.ErrNotExecutable):
		m.Kind = "noexec"
	}
	return m
}

// socketPair returns the two ends of an AF_UNIX stream socket pair.
func socketPair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "sync-parent"), os.NewFile(uintptr(fds[1]), "sync-child"), nil
}

// SendFd passes an open file descriptor over an AF_UNIX socket: one
// sendmsg(2) with a non-empty payload (the name) and exactly one SCM_RIGHTS
// control message, as the OCI console-socket protocol wants.
// See man 7 unix ("Ancillary messages"), man 3 cmsg.
func SendFd(sock *os.File, name string, fd int) error {
	rights := unix.UnixRights(fd)
	if err := unix.Sendmsg(int(sock.Fd()), []byte(name), rights, nil, 0); err != nil {
		return fmt.Errorf("sendmsg(SCM_RIGHTS) on the console socket: %w", err)
	}
	return nil
}

// RecvFd receives one descriptor sent with SendFd.
func RecvFd(sock *os.File) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("recvmsg on the console socket: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("console socket: expected one control message, got %d (%v)", len(msgs), err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("console socket: expected one file descriptor, got %d (%v)", len(fds), err)
	}
	return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
}
