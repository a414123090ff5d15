package main

import (
	"github.com/spf13/cobra"

	"github.com/minirun/minirun/container"
)

func newStartCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "start ID",
		Short:   "OCI: start a created container (run its process)",
		Example: `  minirun start mycontainer`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := (&container.Runtime{Root: g.root}).Load(args[0])
			if err != nil {
				return err
			}
			return c.Start()
		},
	}
}
