package main

import (
	"encoding/json"
	"os"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/probe"
)

// newProbeCommand is the in-container half of `minirun compare`: the
// static minirun binary, copied into the container's root filesystem, prints
// what the container sees as JSON (see probe/doc.go).
func newProbeCommand(*globals) *cobra.Command {
	c := &cobra.Command{
		Use:    "probe [-- COMMAND...]",
		Short:  "Print what this process sees of its container, as JSON (run inside a container by compare)",
		Hidden: true,
		Args:   cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(probe.Collect(args))
		},
	}
	c.Flags().SetInterspersed(false) // the command's flags are its own
	return c
}
