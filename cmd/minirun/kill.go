package main

import (
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/engine"
	"github.com/minirun/minirun/ocicmd"
)

func newKillCommand(g *globals) *cobra.Command {
	var all bool
	var sigFlag string
	c := &cobra.Command{
		Use:   "kill [-s SIGNAL] [--all] CONTAINER [SIGNAL]",
		Short: "Send a signal to a container's init (Docker's -s, or runc's positional SIGNAL; default SIGKILL/SIGTERM)",
		Long: `Send a signal to the container's init process. Docker style: kill [-s SIGNAL]
CONTAINER, default SIGKILL. OCI/runc style: kill ID [SIGNAL], default SIGTERM.
CONTAINER is a name, an ID or a unique ID prefix.`,
		Example: `  sudo minirun kill -s HUP web
  minirun kill mycontainer KILL        # runc's form`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			// runc's default is SIGTERM; Docker's (for containers of
			// `minirun run`) SIGKILL.
			sig := unix.SIGTERM
			id, engineContainer := args[0], false
			if m, err := g.engine().Find(id); err == nil {
				id, sig, engineContainer = m.ID, unix.SIGKILL, true
			}
			for _, s := range []string{sigFlag, args[len(args)-1]} {
				if s == "" || (len(args) == 1 && s == args[0]) {
					continue
				}
				parse := ocicmd.KillSignal // runc's, 0 included
				if engineContainer {
					parse = engine.ParseSignal // Docker's
				}
				v, err := parse(s)
				if err != nil {
					return err
				}
				sig = v
			}
			return ocicmd.Kill(g.root, id, sig, all)
		},
	}
	c.Flags().BoolVarP(&all, "all", "a", false, "send the signal to every process of the container (its cgroup)")
	c.Flags().StringVarP(&sigFlag, "signal", "s", "", "signal to send (Docker's form; default KILL)")
	return c
}
