package engine

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/container"
	"github.com/minirun/minirun/oci"
)

// ExecOptions are `minirun exec`'s flags, already parsed.
type ExecOptions struct {
	Args        []string // the command and its arguments
	Env         []string // -e KEY=VALUE or KEY (taken from our environment), on top of the container's
	User        string   // -u user[:group], names from the container's /etc/passwd
	Workdir     string   // -w (default: the container's working directory)
	Interactive bool     // -i: our stdin goes to the process
	TTY         bool     // -t: a new pty of the container's
	Detach      bool     // -d: start it and return at once

	Stdin          *os.File
	Stdout, Stderr *os.File
}

func (o *ExecOptions) check() error {
	if len(o.Args) == 0 || o.Args[0] == "" {
		return errors.New("no command given")
	}
	var err error
	if o.Env, err = checkEnvWorkdir(o.Env, o.Workdir); err != nil {
		return err
	}
	if o.User != "" {
		u, g, hasG := strings.Cut(o.User, ":")
		if u == "" || (hasG && g == "") {
			return fmt.Errorf("invalid user %q: want user[:group] with names or numeric IDs", o.User)
		}
	}
	if o.Detach && o.TTY {
		// Docker's daemon would hold the pty master; minirun has no
		// daemon, and a pty whose master is closed hangs up its process.
		return errors.New("-d and -t together need someone to hold the terminal after minirun returns, and minirun has no daemon: use -d without -t")
	}
	return nil
}

// checkEnvWorkdir checks the -e and -w of run and exec: -e NAME takes
// NAME's value from our environment (and is dropped, as Docker does, when
// NAME is unset there), every variable must be valid, and the working
// directory absolute. It returns env completed.
func checkEnvWorkdir(env []string, workdir string) ([]string, error) {
	for i, kv := range env {
		if !strings.Contains(kv, "=") {
			v, ok := os.LookupEnv(kv)
			if !ok {
				continue // Docker drops -e NAME when NAME is unset
			}
			env[i] = kv + "=" + v
		}
		if err := oci.ValidateEnv(env[i]); err != nil {
			return env, err
		}
	}
	env = dropUnset(env)
	return env, oci.ValidateWorkdir(workdir)
}

// Exec is `minirun exec`: it runs a new process in a running container,
// in all its namespaces and its cgroup, with the container's capabilities,
// rlimits and no_new_privs, and returns the process's exit code (0 at once
// with Detach). ref is a container of `run` (name, ID, unique prefix) or
// the ID of one of the OCI verbs. A container that is not running is
// container.ErrNotRunning; an unknown one ErrNoSuchContainer.
func (e *Engine) Exec(ref string, o ExecOptions) (int, error) {
	if err := o.check(); err != nil {
		return 0, &UsageError{err}
	}
	if err := container.CanExec(); err != nil {
		return 0, err
	}
	// An ordinary user (rootless mode) may setns(2) into its own
	// containers: it owns their user namespace, so it has every
	// capability over the namespaces that one owns.
	// A container of `minirun run` (name, ID or prefix), else one of the
	// OCI verbs (`create`/`run --bundle`), by its exact ID, as kill does.
	id := ref
	m, findErr := e.Find(ref)
	if findErr == nil {
		id = m.ID
	} else if !errors.Is(findErr, ErrNoSuchContainer) {
		return 0, findErr
	}
	c, err := e.Runtime.Load(id)
	if err != nil {
		if findErr != nil {
			return 0, findErr // known to neither
		}
		if errors.Is(err, container.ErrNotExist) {
			return 0, &container.NotRunningError{ID: id} // stopped, no runtime state left
		}
		return 0, err
	}
	st := c.State()
	if st.Status != container.Running {
		return 0, &container.NotRunningError{ID: id, Status: st.Status}
	}
	spec, err := container.LoadSpec(st.Bundle)
	if err != nil {
		return 0, err
	}
	p, err := execProcess(spec, st.Rootfs, o)
	if err != nil {
		return 0, &UsageError{err}
	}
	return e.execIn(c, p, o)
}

// execProcess is the process to exec: the container's own (its
// capabilities, rlimits, no_new_privs, user, environment, working
// directory...) with Docker's exec flags on top: the command, -e added to
// the environment (and TERM=xterm with -t, as Docker adds), -u resolved in
// the container's /etc/passwd and /etc/group (under rootfs, its root on
// the host), -w.
func execProcess(spec *specs.Spec, rootfs string, o ExecOptions) (*specs.Process, error) {
	if spec.Process == nil {
		return nil, errors.New("the container's config.json has no process")
	}
	p := *spec.Process
	p.Terminal = o.TTY
	p.ConsoleSize = nil
	p.CommandLine = ""
	p.Args = append([]string(nil), o.Args...)
	env := append([]string(nil), p.Env...)
	if o.TTY && !hasEnv(env, "TERM") {
		env = append(env, "TERM=xterm")
	}
	p.Env = oci.MergeEnv(env, o.Env)
	if o.Workdir != "" {
		p.Cwd = o.Workdir
	}
	if o.User != "" {
		u, err := oci.ResolveUser(rootfs, o.User)
		if err != nil {
			return nil, err
		}
		u.Umask = p.User.Umask
		p.User = u
	}
	return &p, nil
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}

// execIn starts p in c, attaches our terminal or stdio, forwards
// signals, and waits.
func (e *Engine) execIn(c *container.Container, p *specs.Process, o ExecOptions) (int, error) {
	var opts container.ExecOpts
	if !o.Detach {
		opts.Stdout, opts.Stderr = o.Stdout, o.Stderr
		if o.Interactive {
			opts.Stdin = o.Stdin
		}
	}
	consoleHost, consolePeer, err := consoleSocket(o.TTY)
	if err != nil {
		return 0, err
	}
	defer consoleHost.Close()
	opts.ConsoleSocket = consolePeer
	// Signals that arrive while the process is being made are held and
	// delivered once it runs.
	sigs := make(chan os.Signal, 64)
	if !o.Detach {
		signal.Notify(sigs, forwarded...)
		defer signal.Stop(sigs)
	}
	proc, err := c.Exec(p, opts)
	if opts.ConsoleSocket != nil {
		opts.ConsoleSocket.Close()
	}
	if err != nil {
		return 0, err
	}
	if o.Detach {
		return 0, nil
	}
	outDone, release, err := e.relayConsole(consoleHost, RunOptions{Stdin: o.Stdin, Stdout: o.Stdout, Interactive: o.Interactive})
	if err != nil {
		_ = proc.Signal(unix.SIGKILL)
		_, _ = proc.Wait()
		return 0, err
	}
	defer release()
	return relaySignals(sigs, proc.Wait, outDone, func(s os.Signal, _ <-chan struct{}) {
		_ = proc.Signal(s.(syscall.Signal))
	})
}
