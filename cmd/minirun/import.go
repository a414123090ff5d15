package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
)

func newImportCommand(g *globals) *cobra.Command {
	var changes []string
	c := &cobra.Command{
		Use:   "import [OPTIONS] FILE|- [REPOSITORY[:TAG]]",
		Short: "Import a root filesystem tarball as an image (like docker import)",
		Example: `  sudo minirun import rootfs.tar myimage:1.0
  tar -C ./rootfs -c . | sudo minirun import -c 'CMD ["sh"]' - busybox:latest`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var cfg ocispec.ImageConfig
			for _, ch := range changes {
				if err := applyChange(&cfg, ch); err != nil {
					return err
				}
			}
			ref := ""
			if len(args) == 2 {
				ref = args[1]
			}
			var r io.Reader = os.Stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return errorf("import: %w", err)
				}
				defer f.Close()
				r = f
			}
			store, err := g.engine().Images()
			if err != nil {
				return err
			}
			img, err := store.Import(r, ref, cfg)
			if err != nil {
				return err
			}
			fmt.Println(img.ID)
			return nil
		},
	}
	c.Flags().StringArrayVarP(&changes, "change", "c", nil, `apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER`)
	return c
}

// applyChange understands the Dockerfile instructions docker import takes.
func applyChange(cfg *ocispec.ImageConfig, change string) error {
	instr, rest, _ := strings.Cut(strings.TrimSpace(change), " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToUpper(instr) {
	case "CMD":
		cfg.Cmd = parseCommand(rest)
	case "ENTRYPOINT":
		cfg.Entrypoint = parseCommand(rest)
	case "ENV":
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			k, v, ok = strings.Cut(rest, " ")
		}
		if !ok || k == "" {
			return errorf("--change %q: ENV wants KEY=VALUE", change)
		}
		cfg.Env = append(cfg.Env, k+"="+strings.TrimSpace(v))
	case "WORKDIR":
		cfg.WorkingDir = rest
	case "USER":
		cfg.User = rest
	default:
		return errorf("--change %q: minirun import understands CMD, ENTRYPOINT, ENV, WORKDIR and USER", change)
	}
	return nil
}

// parseCommand takes the exec form ["a","b"] or the shell form a b
// (which becomes /bin/sh -c "a b", as in a Dockerfile).
func parseCommand(s string) []string {
	var arr []string
	if strings.HasPrefix(s, "[") && json.Unmarshal([]byte(s), &arr) == nil {
		return arr
	}
	return []string{"/bin/sh", "-c", s}
}
