package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/image"
)

// imageRow is one image of `images`, with Docker's field names.
type imageRow struct {
	ID           string `header:"IMAGE ID"`
	Repository   string
	Tag          string
	Digest       string
	CreatedAt    string
	CreatedSince string `header:"CREATED"`
	Size         string
}

func newImagesCommand(g *globals) *cobra.Command {
	var quiet bool
	var format string
	c := &cobra.Command{
		Use:   "images [-q] [--format FORMAT]",
		Short: "List the images in the local store",
		Long: `List the images in the local store, one line per tag.

--format takes "json" (one JSON object per line) or a Go template over
Docker's fields: .ID .Repository .Tag .Digest .CreatedAt .CreatedSince .Size.`,
		Example: `  minirun images
  minirun images --format '{{.Repository}}:{{.Tag}}'
  minirun images --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := g.engine().Images()
			if err != nil {
				return err
			}
			imgs, err := store.List()
			if err != nil {
				return err
			}
			if quiet {
				for _, img := range imgs {
					fmt.Println(shortDigest(img.ID.Encoded()))
				}
				return nil
			}
			rows := make([]imageRow, len(imgs))
			for i, img := range imgs {
				repo, tag := splitRef(image.FamiliarRef(img.Ref))
				rows[i] = imageRow{ID: shortDigest(img.ID.Encoded()), Repository: repo, Tag: tag, Digest: img.Manifest.String(),
					CreatedAt: dockerTime(img.Created), CreatedSince: ago(img.Created), Size: humanSize(img.Size)}
			}
			return render(format, rows, func(out io.Writer) error {
				w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
				fmt.Fprintln(w, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
				for _, r := range rows {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size)
				}
				return w.Flush()
			})
		},
	}
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	addFormatFlag(c, &format, false)
	return c
}

func shortDigest(hex string) string {
	if len(hex) > 12 {
		return hex[:12]
	}
	return hex
}

// splitRef splits "busybox:latest" into "busybox", "latest" (a digest
// reference has tag "<none>").
func splitRef(ref string) (string, string) {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		return ref[:i], "<none>"
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:]
	}
	return ref, "<none>"
}

// ago prints a time the way docker does: "3 minutes ago".
func ago(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "Less than a minute ago"
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d.Hours()), "hour") + " ago"
	case d < 14*24*time.Hour:
		return plural(int(d.Hours()/24), "day") + " ago"
	case d < 60*24*time.Hour:
		return plural(int(d.Hours()/24/7), "week") + " ago"
	case d < 2*365*24*time.Hour:
		return plural(int(d.Hours()/24/30), "month") + " ago"
	}
	return plural(int(d.Hours()/24/365), "year") + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		if unit == "hour" {
			return "About an hour"
		}
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// humanSize prints bytes in decimal units, as docker does ("4.26MB").
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}
