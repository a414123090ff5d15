package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// usageErr adds the pointer to --help to a bad-flag error, and the
// closest flag to an unknown one.
func usageErr(c *cobra.Command, err error) error {
	if s := suggestFlag(c, err); s != "" {
		return fmt.Errorf("%w\nDid you mean %s?\nSee '%s --help'.", err, s, c.CommandPath())
	}
	return fmt.Errorf("%w\nSee '%s --help'.", err, c.CommandPath())
}
