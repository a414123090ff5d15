package main

import (
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/container"
)

func newCreateCommand(g *globals) *cobra.Command {
	var bundle, pidFile, consoleSocket string
	var noPivot bool
	c := &cobra.Command{
		Use:   "create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] ID",
		Short: "OCI: create a container from a bundle; it waits for `start`",
		Example: `  minirun create --bundle /path/to/bundle mycontainer
  minirun start mycontainer`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := container.CreateOpts{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, PidFile: pidFile, NoPivot: noPivot}
			if consoleSocket != "" {
				f, err := dialConsole(consoleSocket)
				if err != nil {
					return err
				}
				defer f.Close()
				opts.ConsoleSocket = f
			}
			_, err := (&container.Runtime{Root: g.root}).Create(args[0], bundleOrCwd(bundle), opts)
			return err
		},
	}
	ociCreateFlags(c, &bundle, &pidFile, &consoleSocket, &noPivot)
	return c
}

func ociCreateFlags(c *cobra.Command, bundle, pidFile, consoleSocket *string, noPivot *bool) {
	f := c.Flags()
	f.StringVarP(bundle, "bundle", "b", "", "path to the bundle (default: the current directory)")
	f.StringVar(pidFile, "pid-file", "", "write the container's PID to this file")
	f.StringVar(consoleSocket, "console-socket", "", "AF_UNIX socket that receives the pty master")
	f.BoolVar(noPivot, "no-pivot", false, "chroot into a moved mount instead of pivot_root (initramfs hosts)")
	// containerd's shim passes it when a runtime's options say
	// NoNewKeyring = true. minirun never gives a container a session
	// keyring of its own (runc does, unless this flag is given): it
	// always behaves as runc does with the flag.
	f.Bool("no-new-keyring", false, "accepted for runc compatibility: the container keeps the caller's session keyring (minirun never makes a new one)")
}

func bundleOrCwd(b string) string {
	if b == "" {
		return "."
	}
	return b
}

// dialConsole connects to the engine's console socket.
func dialConsole(path string) (*os.File, error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, errorf("connect to console socket %s: %w", path, err)
	}
	defer conn.Close()
	return conn.(*net.UnixConn).File()
}

// ociRun is runc's `run`: create, start and wait, then delete.
func ociRun(g *globals, bundle, pidFile, consoleSocket string, noPivot bool, args []string) error {
	if len(args) != 1 {
		return errorf("run --bundle takes exactly one container ID")
	}
	opts := container.CreateOpts{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, PidFile: pidFile, NoPivot: noPivot}
	if consoleSocket != "" {
		f, err := dialConsole(consoleSocket)
		if err != nil {
			return err
		}
		defer f.Close()
		opts.ConsoleSocket = f
	}
	c, err := (&container.Runtime{Root: g.root}).Create(args[0], bundleOrCwd(bundle), opts)
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
	return exitError(code)
}
