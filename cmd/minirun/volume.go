package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/engine"
)

func newVolumeCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "volume",
		Short: "Manage named volumes (create, ls, inspect, rm, prune)",
		Long: `A named volume is a directory of the host, <data root>/volumes/NAME/_data,
that containers mount with -v NAME:/path or --mount type=volume,src=NAME,dst=/path.
It lives outside the containers' overlays, so its data outlives them and can be
shared between them. "run" creates a volume on first use; an empty volume is
first filled with what the image has at the path it is mounted on.`,
		Example: `  sudo minirun volume create data
  sudo minirun run --rm -v data:/data busybox sh -c 'echo hello > /data/greeting'
  sudo minirun run --rm -v data:/data:ro busybox cat /data/greeting
  sudo minirun volume rm data`,
	}
	c.AddCommand(newVolumeCreateCommand(g), newVolumeLsCommand(g), newVolumeInspectCommand(g),
		newVolumeRmCommand(g), newVolumePruneCommand(g))
	return c
}

func newVolumeCreateCommand(g *globals) *cobra.Command {
	var driver string
	var labels []string
	c := &cobra.Command{
		Use:   "create [--label KEY=VALUE] [NAME]",
		Short: "Create a volume (a random name without NAME) and print its name",
		Long: `Create a named volume and print its name. Without NAME the volume gets a random
64-hex name. Creating a volume that exists already is no error (as in Docker).
Names: [a-zA-Z0-9][a-zA-Z0-9_.-]+, at least two characters.`,
		Example: `  sudo minirun volume create data
  sudo minirun volume create --label project=web webdata
  sudo minirun volume create                      # prints the random name`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if driver != "local" {
				return usageErr(cmd, errorf("unsupported --driver %q: minirun has the local driver only", driver))
			}
			lm := map[string]string{}
			for _, l := range labels {
				k, v, _ := strings.Cut(l, "=")
				if k == "" {
					return usageErr(cmd, errorf("invalid --label %q: want KEY=VALUE", l))
				}
				lm[k] = v
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			v, err := g.engine().CreateVolume(name, lm)
			if err != nil {
				return err
			}
			fmt.Println(v.Name)
			return nil
		},
	}
	c.Flags().StringVarP(&driver, "driver", "d", "local", "volume driver (only local: a directory below the data root), e.g. -d local")
	c.Flags().StringArrayVar(&labels, "label", nil, "set a label on the volume, e.g. --label project=web (repeatable)")
	return c
}

// volumeRow is one volume of `volume ls`, with Docker's field names.
type volumeRow struct {
	Driver     string
	Name       string `header:"VOLUME NAME"`
	Scope      string
	Mountpoint string
	Labels     string
	CreatedAt  string
}

func newVolumeLsCommand(g *globals) *cobra.Command {
	var quiet bool
	var format string
	c := &cobra.Command{
		Use:     "ls [-q] [--format FORMAT]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Example: `  sudo minirun volume ls
  sudo minirun volume ls -q
  sudo minirun volume ls --format '{{.Name}} {{.Mountpoint}}'
  sudo minirun volume ls --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			vols, err := g.engine().Volumes()
			if err != nil {
				return err
			}
			if quiet {
				for _, v := range vols {
					fmt.Println(v.Name)
				}
				return nil
			}
			rows := make([]volumeRow, len(vols))
			for i, v := range vols {
				var labels []string
				for k, val := range v.Labels {
					labels = append(labels, k+"="+val)
				}
				sort.Strings(labels)
				rows[i] = volumeRow{Driver: v.Driver, Name: v.Name, Scope: v.Scope, Mountpoint: v.Mountpoint,
					Labels: strings.Join(labels, ","), CreatedAt: v.CreatedAt}
			}
			return render(format, rows, func(out io.Writer) error {
				w := tabwriter.NewWriter(out, 0, 0, 4, ' ', 0)
				fmt.Fprintln(w, "DRIVER\tVOLUME NAME")
				for _, r := range rows {
					fmt.Fprintf(w, "%s\t%s\n", r.Driver, r.Name)
				}
				return w.Flush()
			})
		},
	}
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "only print volume names, e.g. for: minirun volume rm $(minirun volume ls -q)")
	addFormatFlag(c, &format, false)
	return c
}

func newVolumeInspectCommand(g *globals) *cobra.Command {
	return inspectCommand(&cobra.Command{
		Use:   "inspect [-f FORMAT] VOLUME [VOLUME...]",
		Short: "Show volumes as JSON (name, driver, mount point, creation time, labels, scope)",
		Example: `  sudo minirun volume inspect data
  sudo minirun volume inspect -f '{{.Mountpoint}}' data`,
	}, func(ref string) (*engine.Volume, error) { return g.engine().InspectVolume(ref) })
}

func newVolumeRmCommand(g *globals) *cobra.Command {
	var force bool
	c := eachCommand(&cobra.Command{
		Use:     "rm [-f] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove volumes and their data (refused while a container uses them)",
		Long: `Remove named volumes and everything in them. A volume that a container uses,
running or stopped, is refused ("volume is in use"): remove the container first
(minirun rm). Anonymous volumes go with their container.`,
		Example: `  sudo minirun volume rm data
  sudo minirun volume rm -f maybe-there`,
	}, func(name string) error { return g.engine().RemoveVolume(name, force) })
	c.Flags().BoolVarP(&force, "force", "f", false, "no error for a volume that does not exist, e.g. volume rm -f data (a volume in use is still refused)")
	return c
}

func newVolumePruneCommand(g *globals) *cobra.Command {
	var force, all bool
	c := &cobra.Command{
		Use:   "prune [-f]",
		Short: "Remove every volume no container uses",
		Long: `Remove every named volume that no container, running or stopped, uses, and
print their names and the space their files took.

minirun keeps anonymous volumes inside their containers (they go with them), so
its store holds named volumes only: prune removes those, as "docker volume
prune --all" does (and "docker volume prune" did before Docker 23).`,
		Example: `  sudo minirun volume prune
  sudo minirun volume prune -f`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !force {
				fmt.Fprint(os.Stderr, "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ")
				var answer string
				_, _ = fmt.Scanln(&answer)
				if answer != "y" && answer != "Y" && answer != "yes" {
					return nil
				}
			}
			removed, size, err := g.engine().PruneVolumes()
			printList("Deleted Volumes:", removed)
			fmt.Printf("Total reclaimed space: %s\n", humanSize(size))
			return err
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "do not ask for confirmation, e.g. volume prune -f")
	c.Flags().BoolVarP(&all, "all", "a", false, "accepted for Docker compatibility: prune always considers every unused volume, e.g. volume prune -a")
	return c
}
