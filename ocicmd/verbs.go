package ocicmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/container"
)

// CreateFlags are create's and run's flags past --bundle.
type CreateFlags struct {
	PidFile       string // --pid-file
	ConsoleSocket string // --console-socket
	NoPivot       bool   // --no-pivot
}

// ExitError carries a container's exit code, from Run, to the exit of the
// process: no message, the code as it is.
type ExitError int

func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// BundleOrCwd is the bundle directory: --bundle, or the current directory
// as runc has it.
func BundleOrCwd(b string) string {
	if b == "" {
		return "."
	}
	return b
}

// DialConsole connects to the engine's console socket (--console-socket),
// where init sends the container's pty master.
// A socket(2) and a connect(2), without package net: the fast path
// (minirun-init) links as little as it can.
func DialConsole(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("connect to console socket %s: socket: %w", path, err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connect to console socket %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

func createOpts(f CreateFlags) (container.CreateOpts, func(), error) {
	opts := container.CreateOpts{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, PidFile: f.PidFile, NoPivot: f.NoPivot}
	if f.ConsoleSocket == "" {
		return opts, func() {}, nil
	}
	sock, err := DialConsole(f.ConsoleSocket)
	if err != nil {
		return opts, nil, err
	}
	opts.ConsoleSocket = sock
	return opts, func() { sock.Close() }, nil
}

// Create is `create --bundle DIR ID`: the container's init waits for Start.
func Create(root, id, bundle string, f CreateFlags) error {
	opts, done, err := createOpts(f)
	if err != nil {
		return err
	}
	defer done()
	_, err = (&container.Runtime{Root: root}).Create(id, BundleOrCwd(bundle), opts)
	return err
}

// Run is runc's `run --bundle DIR ID`: create, start and wait, then delete.
// The container's exit code comes back as an ExitError.
func Run(root, id, bundle string, f CreateFlags) error {
	opts, done, err := createOpts(f)
	if err != nil {
		return err
	}
	defer done()
	c, err := (&container.Runtime{Root: root}).Create(id, BundleOrCwd(bundle), opts)
	if err != nil {
		return err
	}
	if err := c.Start(); err != nil {
		_ = c.Delete(true)
		return err
	}
	code, werr := c.Wait()
	if err := c.Delete(true); err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	return ExitError(code)
}

// Start is `start ID`: the program of a created container runs.
func Start(root, id string) error {
	c, err := (&container.Runtime{Root: root}).Load(id)
	if err != nil {
		return err
	}
	return c.Start()
}

// State is `state ID`: the OCI state, as indented JSON.
func State(root, id string, w io.Writer) error {
	c, err := (&container.Runtime{Root: root}).Load(id)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c.State())
}

// Delete is `delete [--force] ID`; --force of an unknown ID succeeds, as
// with runc.
func Delete(root, id string, force bool) error {
	c, err := (&container.Runtime{Root: root}).Load(id)
	if err != nil {
		if force && errors.Is(err, container.ErrNotExist) {
			return nil
		}
		return err
	}
	return c.Delete(force)
}

// KillSignal reads runc's SIGNAL argument of kill for an OCI container: a
// signal as container.ParseSignal takes it, or 0, which runc and crun take
// too: kill(2) then only checks that init is there. (Docker refuses 0, and
// so does kill of a container of `minirun run`.)
func KillSignal(s string) (unix.Signal, error) {
	if s == "0" {
		return 0, nil
	}
	return container.ParseSignal(s)
}

// Kill is `kill [--all] ID SIGNAL`: the signal to init, or with all to
// every process of the container.
func Kill(root, id string, sig unix.Signal, all bool) error {
	c, err := (&container.Runtime{Root: root}).Load(id)
	if err != nil {
		return err
	}
	if all {
		return c.SignalAll(sig)
	}
	return c.Signal(sig)
}
