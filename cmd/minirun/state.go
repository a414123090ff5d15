package main

import (
	"encoding/json"
	"os"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/container"
)

func newStateCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "state ID",
		Short:   "OCI: print the state of a container as JSON",
		Example: `  minirun state mycontainer`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := (&container.Runtime{Root: g.root}).Load(args[0])
			if err != nil {
				return err
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(c.State())
		},
	}
}
