package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/cgroups"
	"github.com/minirun/minirun/engine"
)

func newStatsCommand(g *globals) *cobra.Command {
	var noStream bool
	c := &cobra.Command{
		Use:   "stats [--no-stream] CONTAINER [CONTAINER...]",
		Short: "Show a live view of containers' memory, CPU, PIDs and I/O (from their cgroups)",
		Example: `  sudo minirun stats --no-stream web
  sudo minirun stats web db`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e := g.engine()
			prev := map[string]*cgroups.Stats{}
			last := time.Now()
			for {
				w := tabwriter.NewWriter(os.Stdout, 0, 8, 3, ' ', 0)
				fmt.Fprintln(w, "CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tBLOCK I/O\tPIDS\tOOM KILLS")
				now := time.Now()
				for _, ref := range args {
					m, st, err := e.Stats(ref)
					if err != nil {
						return err
					}
					cpu := "--"
					if p := prev[m.ID]; p != nil {
						cpu = fmt.Sprintf("%.2f%%", 100*float64(st.CPUUsage-p.CPUUsage)/float64(now.Sub(last)))
					}
					prev[m.ID] = st
					limit, pct := "unlimited", "--"
					if st.MemoryLimit > 0 {
						limit = bytesIEC(st.MemoryLimit)
						pct = fmt.Sprintf("%.2f%%", 100*float64(st.MemoryUsage)/float64(st.MemoryLimit))
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s / %s\t%s\t%s / %s\t%d\t%d\n", engine.ShortID(m.ID), m.Name, cpu,
						bytesIEC(st.MemoryUsage), limit, pct, humanSize(int64(st.IOReadBytes)), humanSize(int64(st.IOWriteBytes)), st.Pids, st.OOMKills)
				}
				last = now
				if noStream {
					return w.Flush()
				}
				fmt.Print("\033[2J\033[H")
				w.Flush()
				time.Sleep(time.Second)
			}
		},
	}
	c.Flags().BoolVar(&noStream, "no-stream", false, "print one snapshot and exit")
	return c
}

// bytesIEC prints bytes in binary units as docker stats does ("1.5MiB").
func bytesIEC(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.4g%s", f, units[i])
}
