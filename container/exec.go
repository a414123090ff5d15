package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/cgroups"
	"github.com/minirun/minirun/cgroups/cgjoin"
	"github.com/minirun/minirun/namespaces"
	"github.com/minirun/minirun/namespaces/nsenter"
	"github.com/minirun/minirun/security"
	"github.com/minirun/minirun/security/seccomp"
	"github.com/minirun/minirun/timerslack"
	"github.com/minirun/minirun/trace"
)

// ExecOpts are the choices a caller of Exec makes beyond the process.
type ExecOpts struct {
	// Stdin, Stdout, Stderr become the process's fds 0-2 when it has no
	// terminal (nil: /dev/null).
	Stdin, Stdout, Stderr *os.File
	// ConsoleSocket receives the master of the process's new pty when
	// p.Terminal is true (an AF_UNIX socket, see SendFd).
	ConsoleSocket *os.File
}

// Process is a process started in a container by Exec. Its parent is the
// caller of Exec, so only that process can Wait for it.
type Process struct {
	Pid  int // as the host sees it
	proc *os.Process
}

// Wait waits for the process to exit and returns its exit code the way a
// shell reports it (128+N for signal N).
func (p *Process) Wait() (int, error) {
	st, err := p.proc.Wait()
	if err != nil {
		return -1, err
	}
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok {
		return -1, fmt.Errorf("process %d: unknown wait status", p.Pid)
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error { return p.proc.Signal(sig) }

// ErrNotRunning is what Exec returns (wrapped in a NotRunningError) for a
// container that is not running.
var ErrNotRunning = errors.New("container is not running")

// NotRunningError names the container, in Docker's words: "container <id>
// is not running" (or "is paused, unpause the container before exec").
type NotRunningError struct {
	ID     string
	Status specs.ContainerState // "" when the container is gone
}

func (e *NotRunningError) Error() string {
	if e.Status == Paused {
		return "container " + e.ID + " is paused, unpause the container before exec"
	}
	return "container " + e.ID + " is not running"
}

func (e *NotRunningError) Is(target error) bool { return target == ErrNotRunning }

// ErrNoCgo is Exec's answer in a binary built with CGO_ENABLED=0.
var ErrNoCgo = errors.New("exec is not available: this minirun was built without cgo (CGO_ENABLED=0), and exec needs the C part of " +
	"namespaces/nsenter, which joins the container's namespaces before the Go runtime starts; " +
	"rebuild with `make build` (CGO_ENABLED=1 and a C compiler)")

// CanExec tells whether this binary can Exec at all (ErrNoCgo if not).
func CanExec() error {
	if !nsenter.Enabled {
		return ErrNoCgo
	}
	return nil
}

// execInitArg is argv[1] of the process Exec starts: with nsenter.Env set,
// main() runs ExecInit.
const execInitArg = "exec-init"

// execConfig is what Exec sends to ExecInit over the sync socket.
type execConfig struct {
	Process   *specs.Process `json:"process"`
	ConsoleFd int            `json:"consoleFd"`
	// Seccomp is the container's filter, compiled here: an exec'd process
	// gets it too, as with runc.
	Seccomp *seccomp.Filter `json:"seccomp,omitempty"`
	// CgroupJoin: the tasks files the process wrote "0" to before its Go
	// runtime started, moving itself into the container's cgroup (v1;
	// see cgroups/cgjoin).
	CgroupJoin []string `json:"cgroupJoin,omitempty"`
}

// execMsg is a message to Exec: from nsenter.c ("pid", "error") and from
// ExecInit ("exec" right before execve(2), "error").
type execMsg struct {
	syncMsg
	Pid int `json:"pid,omitempty"`
}

// Exec starts p inside the running container: in all its namespaces
// (mount and user included: namespaces/nsenter does that, before the Go
// runtime of the new process starts), in its cgroup, with p's user,
// capabilities, rlimits and no_new_privs applied as the container's init
// applied its own. It returns once p's program has been execve'd, or with
// the reason it could not be (ErrExecNotFound, ErrExecNotExecutable wrap
// runc's wording for 127 and 126).
func (c *Container) Exec(p *specs.Process, o ExecOpts) (*Process, error) {
	if err := CanExec(); err != nil {
		return nil, err
	}
	if err := validateProcess(p); err != nil {
		return nil, err
	}
	if p.Terminal && o.ConsoleSocket == nil {
		return nil, errors.New("process.terminal is true but no console socket was given")
	}
	c.refresh()
	if c.state.Status != Running {
		return nil, &NotRunningError{ID: c.ID, Status: c.state.Status}
	}
	spec := c.spec
	if spec == nil {
		var err error
		if spec, err = LoadSpec(c.state.Bundle); err != nil {
			return nil, err
		}
	}
	flags, err := namespaceFlags(spec)
	if err != nil {
		return nil, err
	}
	req := nsenter.Request{Pid: int32(c.state.Pid), Flags: flags, StartTime: c.state.InitStartTime}

	parentSock, childSock, err := socketPair()
	if err != nil {
		return nil, err
	}
	defer parentSock.Close()
	prog, progEnv := initProgram()
	cmd := &exec.Cmd{
		Path: prog,
		Args: []string{"minirun", execInitArg},
		// fd 3 is the sync socket.
		Env:        helperEnv(nsenter.Env+"=3", progEnv),
		Stdin:      o.Stdin,
		Stdout:     o.Stdout,
		Stderr:     o.Stderr,
		ExtraFiles: []*os.File{childSock},
	}
	cfg := execConfig{Process: p, ConsoleFd: -1}
	if spec.Linux != nil && spec.Linux.Seccomp != nil {
		if cfg.Seccomp, err = seccomp.Compile(spec.Linux.Seccomp); err != nil {
			return nil, fmt.Errorf("exec: the container's linux.%w", err)
		}
	}
	if p.Terminal {
		cmd.ExtraFiles = append(cmd.ExtraFiles, o.ConsoleSocket)
		cfg.ConsoleFd = 4
	}
	// No cgroup.procs write and its RCU grace period: on cgroup v2 the
	// process is born in the container's cgroup (CLONE_INTO_CGROUP); on v1
	// it moves itself in, one thread, before its Go runtime starts
	// (cgroups/cgjoin).
	m := c.cgroup()
	if m != nil {
		f, ok, err := cgroups.CloneInto(m)
		if err != nil {
			childSock.Close()
			return nil, fmt.Errorf("exec: the container's cgroup: %w", err)
		}
		if ok {
			defer f.Close()
			cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(f.Fd())}
			m = nil
		}
	}
	if m != nil && cgjoin.Enabled {
		files, paths, ok, err := cgroups.SelfJoinFiles(m)
		if err != nil {
			childSock.Close()
			return nil, fmt.Errorf("exec: the container's cgroup: %w", err)
		}
		defer func() {
			for _, f := range files {
				f.Close()
			}
		}()
		if ok {
			passCgroupJoin(cmd, files)
			cfg.CgroupJoin, m = paths, nil
		}
	}
	// With --trace, the process writes its steps into one more pipe.
	tw, err := trace.ToChild(cmd)
	if err != nil {
		childSock.Close()
		return nil, err
	}
	defer tw.Close()
	sealed := sealExe(cmd)
	call := fmt.Sprintf(`execve(%q, ["minirun", "exec-init"])`, prog)
	if cmd.SysProcAttr != nil && cmd.SysProcAttr.UseCgroupFD {
		call = "clone3(CLONE_INTO_CGROUP, the container's cgroup) + " + call
	}
	end := trace.Step("container", "start exec-init (nsenter.c runs first)", call, "execve(2)")
	err = timerslack.Released(cmd.Start)
	end(err)
	sealed()
	childSock.Close()
	if tw != nil {
		tw.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("exec: start %s: %w", cmd.Path, err)
	}
	// The intermediate process is ours to reap; the grandchild too, if
	// something fails after it exists.
	var proc *os.Process
	fail := func(err error) (*Process, error) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if proc != nil {
			_ = proc.Kill()
			_, _ = proc.Wait()
		}
		return nil, err
	}
	if err := nsenter.WriteRequest(parentSock, req); err != nil {
		return fail(fmt.Errorf("exec: send the request to nsenter: %w", err))
	}
	// The container's cgroup, before "go": the process nsenter clones
	// inherits it, so nothing of p ever runs outside the limits (unless
	// it moves itself in, above).
	if m != nil {
		if err := m.Apply(cmd.Process.Pid); err != nil {
			return fail(fmt.Errorf("exec: join the container's cgroup: %w", err))
		}
	}
	if _, err := parentSock.Write([]byte{nsenter.Go}); err != nil {
		return fail(fmt.Errorf("exec: send go to nsenter: %w", err))
	}
	dec := json.NewDecoder(parentSock)
	msg, err := readExecMsg(dec)
	if err != nil {
		return fail(fmt.Errorf("exec: nsenter: %w", err))
	}
	if msg.Type == "error" {
		return fail(msg.err())
	}
	if msg.Type != "pid" || msg.Pid <= 0 {
		return fail(fmt.Errorf("exec: nsenter sent %q, want the new process's pid", msg.Type))
	}
	// os.FindProcess holds a pidfd: signals and the wait go to this very
	// process, whatever happens to the PID number.
	if proc, err = os.FindProcess(msg.Pid); err != nil {
		return fail(err)
	}
	traceJoined(c.state.Pid, msg.Pid, flags)
	if err := cmd.Wait(); err != nil {
		return fail(fmt.Errorf("exec: the intermediate process: %w", err))
	}
	if err := writeFrame(parentSock, &cfg); err != nil {
		return fail(fmt.Errorf("exec: send the process to the container: %w", err))
	}
	// "exec" comes right before execve(2); the end of the stream then
	// means it succeeded: the socket is close-on-exec in the process, and
	// the other copies are gone.
	msg, err = readExecMsg(dec)
	if err == nil && msg.Type == "exec" {
		if msg, err = readExecMsg(dec); err == io.EOF {
			return &Process{Pid: proc.Pid, proc: proc}, nil
		}
	}
	switch {
	case err == nil && msg.Type == "error":
		err = msg.err()
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		err = errors.New("exec: the process exited while it was being set up")
	case err == nil:
		err = fmt.Errorf("exec: unexpected message %q", msg.Type)
	}
	return fail(err)
}

func readExecMsg(dec *json.Decoder) (execMsg, error) {
	var m execMsg
	err := dec.Decode(&m)
	return m, err
}

// namespaceFlags are the CLONE_NEW* flags of the spec's namespaces: those
// exec joins.
func namespaceFlags(spec *specs.Spec) (uint32, error) {
	if spec.Linux == nil {
		return 0, errors.New("config.json: the linux section is required on Linux")
	}
	var f uintptr
	for _, ns := range spec.Linux.Namespaces {
		flag, err := namespaces.CloneFlag(namespaces.Type(ns.Type))
		if err != nil {
			return 0, err
		}
		f |= flag
	}
	return uint32(f), nil
}

// validateProcess checks what Validate checks of the init's process.
func validateProcess(p *specs.Process) error {
	if p == nil || len(p.Args) == 0 {
		return errors.New("exec: no command given")
	}
	if !filepath.IsAbs(p.Cwd) {
		return fmt.Errorf("exec: the working directory %q is not an absolute path", p.Cwd)
	}
	if c := p.Capabilities; c != nil {
		for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
			if _, err := security.CapSetOf(set); err != nil {
				return fmt.Errorf("exec: %w", err)
			}
		}
	}
	for _, rl := range p.Rlimits {
		if _, err := security.RlimitNumber(rl.Type); err != nil {
			return fmt.Errorf("exec: %w", err)
		}
	}
	return nil
}

// IsExecInit tells main() that this process is the Go half of Exec: the
// process nsenter.c cloned inside the container's namespaces.
func IsExecInit() bool {
	return len(os.Args) > 1 && os.Args[1] == execInitArg && os.Getenv(nsenter.Env) != ""
}

// errnoKind classifies a failed execve(2) as Docker does: 126 for a file
// that cannot be executed, 127 for one that is not there.
func errnoKind(err error) error {
	switch {
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.ENOEXEC), errors.Is(err, unix.EPERM),
		errors.Is(err, unix.EISDIR), errors.Is(err, unix.ETXTBSY):
		return namespaces.ErrNotExecutable
	}
	return namespaces.ErrNotFound
}
