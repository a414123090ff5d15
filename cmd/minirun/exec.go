package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/container"
	"github.com/minirun/minirun/engine"
	"github.com/minirun/minirun/ocicmd"
)

func newExecCommand(g *globals) *cobra.Command {
	var o engine.ExecOptions
	var processFile, pidFile, consoleSocket string
	c := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Long: `Execute a command in a running container: in all its namespaces (mount, PID,
network, UTS, IPC, cgroup, user), in its cgroup, with its capabilities,
rlimits, no_new_privs, user, environment and working directory, unless -u,
-e or -w say otherwise. CONTAINER is a name, an ID or a unique ID prefix.

The exit code is the command's; 126 if it cannot be executed, 127 if it is
not found; 1 if the container is unknown or not running, as Docker does.
namespaces/nsenter explains how a process gets into a mount namespace,
which a Go program cannot do by itself.`,
		Example: `  sudo minirun exec web cat /etc/hostname
  sudo minirun exec -it web sh
  sudo minirun exec -u 1000 -w /tmp -e DEBUG=1 web sh -c 'id; pwd; echo $DEBUG'
  echo hello | sudo minirun exec -i web cat
  sudo minirun exec -d web sh -c 'sleep 60'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if processFile != "" {
				return ociExec(g, args, processFile, pidFile, consoleSocket, o.Detach)
			}
			if len(args) < 2 {
				return usageErr(cmd, errorf(`"minirun exec" requires at least 2 arguments: a container and a command`))
			}
			o.Args = args[1:]
			o.Stdin, o.Stdout, o.Stderr = os.Stdin, os.Stdout, os.Stderr
			if o.Interactive && o.TTY && !isTerminal(os.Stdin) {
				fmt.Fprintln(os.Stderr, "minirun: the input device is not a TTY")
				return exitError(1)
			}
			code, err := g.engine().Exec(args[0], o)
			// An unknown or stopped container: Docker's daemon answers
			// "No such container: X" or "container <id> is not running",
			// and docker exec exits 1.
			if errors.Is(err, engine.ErrNoSuchContainer) || errors.Is(err, container.ErrNotRunning) {
				fmt.Fprintf(os.Stderr, "minirun: %v\n", err)
				return exitError(1)
			}
			if err != nil {
				return err
			}
			return exitError(code)
		},
	}
	f := c.Flags()
	f.SetInterspersed(false) // flags after the container belong to the command
	f.BoolVarP(&o.Interactive, "interactive", "i", false, "keep stdin open and connected to the process")
	f.BoolVarP(&o.TTY, "tty", "t", false, "allocate a pseudo-terminal inside the container")
	f.BoolVarP(&o.Detach, "detach", "d", false, "start the command and return at once, printing nothing")
	f.StringArrayVarP(&o.Env, "env", "e", nil, "set an environment variable (KEY=VALUE, or KEY to copy it from here)")
	f.StringVarP(&o.User, "user", "u", "", "user[:group] to run as, names from the container's /etc/passwd or numeric IDs")
	f.StringVarP(&o.Workdir, "workdir", "w", "", "working directory inside the container (absolute; default: the container's)")
	// runc's form, used by containerd and podman.
	f.StringVarP(&processFile, "process", "p", "", "OCI: the process to run, as the JSON of config.json's \"process\" (runc exec --process)")
	f.StringVar(&pidFile, "pid-file", "", "OCI: write the process's PID here (no trailing newline)")
	f.StringVar(&consoleSocket, "console-socket", "", "OCI: send the pty master to this AF_UNIX socket (process.terminal)")
	f.StringVar(&o.Workdir, "cwd", "", "OCI: alias of --workdir")
	return c
}

// ociExec is runc's `exec --process FILE [--detach] [--pid-file P]
// [--console-socket S] ID`: the process exactly as the engine wrote it.
// With --detach minirun returns once it runs; the process is then the
// child of whoever reaps orphans for the caller (containerd's shim is a
// subreaper).
func ociExec(g *globals, args []string, processFile, pidFile, consoleSocket string, detach bool) error {
	if len(args) != 1 {
		return errorf("exec --process takes exactly one container ID")
	}
	b, err := os.ReadFile(processFile)
	if err != nil {
		return err
	}
	var p specs.Process
	if err := json.Unmarshal(b, &p); err != nil {
		return errorf("--process %s: not a JSON OCI process: %v", processFile, err)
	}
	c, err := loadOCI(g, args[0])
	if err != nil {
		return err
	}
	opts := container.ExecOpts{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if p.Terminal {
		if consoleSocket == "" {
			return errorf("process.terminal is true but no --console-socket was given")
		}
		f, err := ocicmd.DialConsole(consoleSocket)
		if err != nil {
			return err
		}
		defer f.Close()
		opts.ConsoleSocket = f
	}
	proc, err := c.Exec(&p, opts)
	if err != nil {
		return err
	}
	if pidFile != "" {
		if err := writePidFileNoNewline(pidFile, proc.Pid); err != nil {
			_ = proc.Signal(unix.SIGKILL)
			return err
		}
	}
	if detach {
		return nil
	}
	code, err := proc.Wait()
	if err != nil {
		return err
	}
	return exitError(code)
}

// writePidFileNoNewline writes the PID as containerd wants it: decimal,
// no newline, atomically (a rename).
func writePidFileNoNewline(path string, pid int) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
