package main

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/engine"
	"github.com/minirun/minirun/oci"
	"github.com/minirun/minirun/ocicmd"
)

func newSpecCommand(g *globals) *cobra.Command {
	var bundle string
	var rootless bool
	c := &cobra.Command{
		Use:   "spec [--bundle DIR]",
		Short: "OCI: write a starter config.json (Docker's defaults, running sh on a terminal)",
		Example: `  mkdir -p b/rootfs && scripts/busybox-rootfs.sh | tar -x -C b/rootfs
  cd b && minirun spec`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s := oci.Default()
			s.Process.Args = []string{"sh"}
			s.Process.Terminal = true
			s.Process.Env = append(s.Process.Env, "TERM=xterm")
			s.Hostname = "minirun"
			if rootless {
				if err := engine.RootlessSpec(s); err != nil {
					return err
				}
			}
			path := filepath.Join(ocicmd.BundleOrCwd(bundle), "config.json")
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return errorf("write %s: %w (remove it first to get a new one)", path, err)
			}
			defer f.Close()
			enc := json.NewEncoder(f)
			enc.SetIndent("", "  ")
			return enc.Encode(s)
		},
	}
	c.Flags().BoolVar(&rootless, "rootless", false, "for an ordinary user: a user namespace mapping root inside to you (docs/ROOTLESS.md)")
	c.Flags().StringVarP(&bundle, "bundle", "b", "", "directory to write config.json into (default: the current directory)")
	return c
}
