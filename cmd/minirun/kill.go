package main

import (
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/container"
)

func newKillCommand(g *globals) *cobra.Command {
	var all bool
	c := &cobra.Command{
		Use:     "kill ID [SIGNAL]",
		Short:   "OCI: send a signal (default SIGTERM) to the container's init",
		Example: `  minirun kill mycontainer KILL`,
		Args:    cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			sig := unix.SIGTERM
			if len(args) == 2 {
				s, err := parseSignal(args[1])
				if err != nil {
					return err
				}
				sig = s
			}
			c, err := (&container.Runtime{Root: g.root}).Load(args[0])
			if err != nil {
				return err
			}
			if all {
				return c.SignalAll(sig)
			}
			return c.Signal(sig)
		},
	}
	c.Flags().BoolVarP(&all, "all", "a", false, "send the signal to every process of the container (its cgroup)")
	return c
}

// parseSignal accepts "KILL", "SIGKILL" or "9".
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, errorf("invalid signal %q (see man 7 signal)", s)
}
