package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/ocicmd"
)

func newStateCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "state ID",
		Short:   "OCI: print the state of a container as JSON",
		Example: `  minirun state mycontainer`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return ocicmd.State(g.root, args[0], os.Stdout)
		},
	}
}
