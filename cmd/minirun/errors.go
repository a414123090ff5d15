package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// usageErr adds the pointer to --help to a bad-flag error.
func usageErr(c *cobra.Command, err error) error {
	return fmt.Errorf("%w\nSee '%s --help'.", err, c.CommandPath())
}
