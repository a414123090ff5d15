package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newRmCommand(g *globals) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:     "rm [-f] CONTAINER [CONTAINER...]",
		Short:   "Remove containers (by name, ID or unique ID prefix)",
		Example: `  sudo minirun rm web`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var firstErr error
			for _, ref := range args {
				if err := g.engine().Remove(ref, force); err != nil {
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				fmt.Println(ref)
			}
			return firstErr
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "kill a running container first")
	return c
}
