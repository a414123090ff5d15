package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// manDate is the date in the man pages' headers: fixed, so that the
// pages are the same wherever and whenever they are generated (the golden
// files, `make install`).
var manDate = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// writeManPages writes one man page per command (minirun.1,
// minirun-run.1, minirun-network-create.1...) into dir, from the same
// command definitions as --help and the completion scripts.
func writeManPages(root *cobra.Command, dir string) error {
	root.DisableAutoGenTag = true
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return doc.GenManTree(root, &doc.GenManHeader{Title: "MINIRUN", Section: "1", Source: "minirun", Manual: "minirun manual", Date: &manDate}, dir)
}

// newManCommand is the hidden `minirun __man DIR` that `make man` and
// `make install` run.
func newManCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "__man DIR",
		Short:  "Write the man pages into DIR (make man, make install)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeManPages(cmd.Root(), args[0])
		},
	}
}
