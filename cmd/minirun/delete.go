package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/container"
)

func newDeleteCommand(g *globals) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:     "delete [--force] ID",
		Short:   "OCI: delete a stopped container's state (--force kills it first)",
		Example: `  minirun delete --force mycontainer`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := (&container.Runtime{Root: g.root}).Load(args[0])
			if err != nil {
				if force && errors.Is(err, container.ErrNotExist) {
					return nil // runc: delete --force of an unknown ID succeeds
				}
				return err
			}
			return c.Delete(force)
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "kill the container first if it is still running")
	return c
}
