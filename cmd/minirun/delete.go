package main

import (
	"github.com/spf13/cobra"

	"github.com/minirun/minirun/ocicmd"
)

func newDeleteCommand(g *globals) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:     "delete [--force] ID",
		Short:   "OCI: delete a stopped container's state (--force kills it first)",
		Example: `  minirun delete --force mycontainer`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return ocicmd.Delete(g.root, args[0], force)
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "kill the container first if it is still running")
	return c
}
