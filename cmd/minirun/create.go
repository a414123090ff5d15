package main

import (
	"github.com/spf13/cobra"

	"github.com/minirun/minirun/ocicmd"
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
			return ocicmd.Create(g.root, args[0], bundle, ocicmd.CreateFlags{PidFile: pidFile, ConsoleSocket: consoleSocket, NoPivot: noPivot})
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

// ociRun is runc's `run`: create, start and wait, then delete.
func ociRun(g *globals, bundle, pidFile, consoleSocket string, noPivot bool, args []string) error {
	if len(args) != 1 {
		return errorf("run --bundle takes exactly one container ID")
	}
	return ocicmd.Run(g.root, args[0], bundle, ocicmd.CreateFlags{PidFile: pidFile, ConsoleSocket: consoleSocket, NoPivot: noPivot})
}
