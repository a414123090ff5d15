package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/image"
)

func newRmiCommand(g *globals) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:     "rmi [-f] IMAGE [IMAGE...]",
		Aliases: []string{"image-rm"},
		Short:   "Remove images (layers no other image uses are deleted from disk)",
		Example: `  sudo minirun rmi alpine:3.20`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e := g.engine()
			store, err := e.Images()
			if err != nil {
				return err
			}
			var firstErr error
			for _, ref := range args {
				rep, err := store.Remove(ref, force, e.ImagesInUse)
				if err != nil {
					fmt.Fprintf(os.Stderr, "minirun: %v\n", err)
					if firstErr == nil {
						firstErr = exitError(1)
					}
					continue
				}
				printRemoveReport(rep)
			}
			return firstErr
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "remove the tag even while a container uses the image")
	return c
}

func printRemoveReport(rep image.RemoveReport) {
	for _, u := range rep.Untagged {
		fmt.Println("Untagged:", u)
	}
	for _, d := range rep.Deleted {
		fmt.Println("Deleted:", d)
	}
}

func newImageCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "image",
		Short: "Manage images: ls, rm, prune, inspect",
		Example: `  minirun image ls
  sudo minirun image inspect -f '{{.Config.Env}}' busybox`,
	}
	ls := newImagesCommand(g)
	ls.Use, ls.Aliases = "ls [-q] [--format FORMAT]", []string{"list"}
	rm := newRmiCommand(g)
	rm.Use, rm.Aliases = "rm [-f] IMAGE [IMAGE...]", nil
	c.AddCommand(ls, rm, newImagePruneCommand(g), newImageInspectCommand(g))
	return c
}

func newImagePruneCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "prune",
		Short:   "Delete every blob and layer no image or container needs, and leftovers of crashed runs",
		Example: `  sudo minirun image prune`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e := g.engine()
			store, err := e.Images()
			if err != nil {
				return err
			}
			rep, err := store.Prune(e.ImagesInUse)
			if err != nil {
				return err
			}
			printRemoveReport(rep)
			fmt.Printf("Total reclaimed space: %s\n", humanSize(rep.FreedBytes))
			return nil
		},
	}
}

func newImageInspectCommand(g *globals) *cobra.Command {
	return inspectCommand(&cobra.Command{
		Use:   "inspect [-f FORMAT] IMAGE [IMAGE...]",
		Short: "Show an image's configuration and layers as JSON",
		Example: `  sudo minirun image inspect busybox
  sudo minirun image inspect -f '{{.Config.Cmd}}' busybox`,
	}, func(ref string) (*image.InspectInfo, error) {
		store, err := g.engine().Images()
		if err != nil {
			return nil, err
		}
		return store.Inspect(ref)
	})
}

func newLoadCommand(g *globals) *cobra.Command {
	var input, name string
	var quiet bool
	c := &cobra.Command{
		Use:   "load [-i FILE]",
		Short: "Load images from a `docker save` archive or an OCI layout tarball (stdin by default)",
		Example: `  sudo minirun load -i saved.tar
  docker save busybox | sudo minirun load`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r := os.Stdin
			if input != "" {
				f, err := os.Open(input)
				if err != nil {
					return errorf("load: %w", err)
				}
				defer f.Close()
				r = f
			}
			store, err := g.engine().Images()
			if err != nil {
				return err
			}
			imgs, err := store.LoadWithOptions(r, image.LoadOptions{Name: name})
			for _, img := range imgs {
				if quiet {
					continue
				}
				if img.Ref != "" {
					fmt.Println("Loaded image:", image.FamiliarRef(img.Ref))
				} else {
					fmt.Println("Loaded image ID:", img.ID)
				}
			}
			return err
		},
	}
	c.Flags().StringVarP(&input, "input", "i", "", "read from this archive instead of stdin")
	c.Flags().StringVar(&name, "name", "", "name for images the archive does not name (an OCI layout's bare tag)")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing")
	return c
}

func newSaveCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:     "save [-o FILE] IMAGE [IMAGE...]",
		Short:   "Save images as one archive that docker load and minirun load accept",
		Example: `  sudo minirun save -o busybox.tar busybox:latest`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := g.engine().Images()
			if err != nil {
				return err
			}
			w := os.Stdout
			if output == "" {
				if isTerminal(os.Stdout) {
					return errorf("save: refusing to write an archive to a terminal: give -o FILE or redirect")
				}
			} else {
				f, err := os.OpenFile(output+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
				if err != nil {
					return errorf("save: %w", err)
				}
				defer os.Remove(output + ".tmp")
				defer f.Close()
				w = f
			}
			if err := store.Save(w, args); err != nil {
				return err
			}
			if output != "" {
				if err := w.Close(); err != nil {
					return err
				}
				return os.Rename(output+".tmp", output)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of stdout")
	return c
}
