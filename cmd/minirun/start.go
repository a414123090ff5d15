package main

import (
	"github.com/spf13/cobra"

	"github.com/minirun/minirun/ocicmd"
)

func newStartCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "start ID",
		Short:   "OCI: start a created container (run its process)",
		Example: `  minirun start mycontainer`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return ocicmd.Start(g.root, args[0])
		},
	}
}
