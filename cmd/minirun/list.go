package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/container"
)

// listRow is one container of `list`: runc's JSON (a list of these).
type listRow struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func newListCommand(g *globals) *cobra.Command {
	var quiet bool
	var format string
	c := &cobra.Command{
		Use:   "list [-q] [-f table|json|TEMPLATE]",
		Short: "OCI: list the containers of the state root",
		Long: `List the containers of the state root, as runc list does: a table, their IDs
(-q), a JSON array (-f json: runc's objects, ociVersion, id, pid, status,
bundle, rootfs, created, owner), or a Go template per container over .ID .Pid
.Status .Bundle .Rootfs .Created .Owner.`,
		Example: `  minirun list
  minirun list -q
  minirun list -f json | jq '.[].status'
  minirun list -f '{{.ID}} {{.Pid}}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, err := (&container.Runtime{Root: g.root}).List()
			if err != nil {
				return err
			}
			rows := []listRow{}
			for _, c := range cs {
				s := c.State()
				rows = append(rows, listRow{OCIVersion: s.Version, ID: s.ID, Pid: s.Pid, Status: string(s.Status), Bundle: s.Bundle,
					Rootfs: s.Rootfs, Created: s.Created, Owner: s.Owner, Annotations: s.Annotations})
			}
			switch {
			case quiet:
				for _, r := range rows {
					fmt.Println(r.ID)
				}
				return nil
			case format == "json": // runc's: one array
				return json.NewEncoder(os.Stdout).Encode(rows)
			}
			return render(format, rows, func(out io.Writer) error {
				w := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED")
				for _, r := range rows {
					fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\n", r.ID, r.Pid, r.Status, r.Bundle, r.Created.Format("2006-01-02T15:04:05Z"))
				}
				return w.Flush()
			})
		},
	}
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "only print container IDs")
	addFormatFlag(c, &format, true)
	return c
}
