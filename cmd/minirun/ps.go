package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/container"
	"github.com/minirun/minirun/engine"
)

// psRow is one container of `ps`, with Docker's field names for --format
// (all strings, as Docker's are: what the table shows).
type psRow struct {
	ID         string `header:"CONTAINER ID"`
	Image      string
	Command    string
	CreatedAt  string
	RunningFor string `header:"CREATED"`
	Status     string
	State      string
	Ports      string
	Names      string
}

func newPsCommand(g *globals) *cobra.Command {
	var all, quiet, noTrunc bool
	var format string
	c := &cobra.Command{
		Use:   "ps [-a] [-q] [--format FORMAT] [ID]",
		Short: "List containers (running ones; -a: all); with an ID, runc's ps: the container's processes",
		Long: `List containers: ID, image, command, when created, status (derived from the
kernel: is the container's init alive), published ports and name.

--format takes "json" (one JSON object per container and line) or a Go
template over Docker's fields: .ID .Image .Command .CreatedAt .RunningFor
.Status .State .Ports .Names ("table TEMPLATE" adds the header line).

With a container ID (runc's form, used by containerd), list that container's
processes instead: --format json prints a JSON array of host PIDs.`,
		Example: `  sudo minirun ps
  sudo minirun ps -a --format '{{.Names}} {{.Status}}'
  sudo minirun ps -a --format 'table {{.ID}}\t{{.Names}}\t{{.State}}'
  sudo minirun ps -a --format json | jq -r .Names
  sudo minirun ps --format json mycontainer`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return ociPs(g, args[0], format)
			}
			list, err := g.engine().List(all)
			if err != nil {
				return err
			}
			if quiet {
				for _, s := range list {
					fmt.Println(engine.ShortID(s.ID))
				}
				return nil
			}
			rows := make([]psRow, len(list))
			for i, s := range list {
				id := s.ID
				if !noTrunc {
					id = engine.ShortID(id)
				}
				rows[i] = psRow{ID: id, Image: s.Image, Command: s.Command, CreatedAt: dockerTime(s.Created),
					RunningFor: engine.HumanDuration(time.Since(s.Created)) + " ago", Status: s.Status,
					State: s.State, Ports: s.Ports, Names: s.Names}
			}
			return render(format, rows, func(out io.Writer) error {
				w := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
				fmt.Fprintln(w, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES")
				for _, r := range rows {
					command := r.Command
					if !noTrunc && len(command) > 22 {
						command = command[:19] + "…\""
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Image, command, r.RunningFor, r.Status, r.Ports, r.Names)
				}
				return w.Flush()
			})
		},
	}
	f := c.Flags()
	f.BoolVarP(&all, "all", "a", false, "show all containers (also stopped ones)")
	f.BoolVarP(&quiet, "quiet", "q", false, "only show IDs")
	f.BoolVar(&noTrunc, "no-trunc", false, "do not truncate IDs and commands")
	addFormatFlag(c, &format, false)
	return c
}

// dockerTime is how Docker prints a time in --format output
// ("2024-05-01 10:00:00 +0200 CEST").
func dockerTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04:05 -0700 MST")
}

func newLogsCommand(g *globals) *cobra.Command {
	o := engine.LogsOptions{Stdout: os.Stdout, Stderr: os.Stderr}
	var tail string
	c := &cobra.Command{
		Use:   "logs [-f] [--tail N] [-t] CONTAINER",
		Short: "Print a detached container's output (its json-file log)",
		Example: `  sudo minirun logs web
  sudo minirun logs -f --tail 20 -t web`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Tail = -1
			if tail != "all" {
				n, err := parsePositive(tail)
				if err != nil {
					return usageErr(cmd, errorf("invalid --tail %q: want a number or all", tail))
				}
				o.Tail = n
			}
			return g.engine().Logs(args[0], o)
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.Follow, "follow", "f", false, "keep printing new output until the container stops")
	f.StringVarP(&tail, "tail", "n", "all", "only the last N lines")
	f.BoolVarP(&o.Timestamps, "timestamps", "t", false, "prefix each line with its RFC 3339 time")
	return c
}

func parsePositive(s string) (int, error) {
	var n int
	_, err := fmt.Sscanf(s, "%d", &n)
	if err != nil || n < 0 || fmt.Sprint(n) != s {
		return 0, errorf("not a number")
	}
	return n, nil
}

// forEach runs fn on every argument, prints the ones that worked (as
// Docker does) and returns the first error, printing the others.
func forEach(args []string, fn func(string) error) error {
	var first error
	for _, a := range args {
		if err := fn(a); err != nil {
			if first == nil {
				first = err
			} else {
				fmt.Fprintln(os.Stderr, "minirun:", err)
			}
			continue
		}
		fmt.Println(a)
	}
	return first
}

// eachCommand completes c as a command over one or more arguments
// (containers, networks, volumes): fn on each of them, as forEach does.
func eachCommand(c *cobra.Command, fn func(ref string) error) *cobra.Command {
	c.Args = cobra.MinimumNArgs(1)
	c.RunE = func(cmd *cobra.Command, args []string) error { return forEach(args, fn) }
	return c
}

// timeoutCommand is eachCommand with stop's -t SECONDS: fn gets the
// seconds, or -1 without -t (the container's --stop-timeout, else 10).
func timeoutCommand(c *cobra.Command, fn func(ref string, timeout int) error) *cobra.Command {
	var timeout int
	c.Flags().IntVarP(&timeout, "time", "t", 10, "seconds to wait before SIGKILL")
	return eachCommand(c, func(ref string) error {
		if !c.Flags().Changed("time") {
			return fn(ref, -1)
		}
		return fn(ref, timeout)
	})
}

// onOCI is fn on the container that ref names (see loadOCI).
func onOCI(g *globals, fn func(*container.Container) error) func(ref string) error {
	return func(ref string) error {
		c, err := loadOCI(g, ref)
		if err != nil {
			return err
		}
		return fn(c)
	}
}

func newStopCommand(g *globals) *cobra.Command {
	return timeoutCommand(&cobra.Command{
		Use:   "stop [-t SECONDS] CONTAINER [CONTAINER...]",
		Short: "Stop containers: their stop signal, then SIGKILL after the timeout",
		Long: `Stop containers: send each its stop signal (--stop-signal, the image's
STOPSIGNAL, or SIGTERM), wait up to -t seconds (default: the container's
--stop-timeout, else 10), then SIGKILL every process left. The restart
policy does not bring a stopped container back.`,
		Example: `  sudo minirun stop web
  sudo minirun stop -t 2 web db`,
	}, func(ref string, timeout int) error { return g.engine().Stop(ref, timeout) })
}

func newRestartCommand(g *globals) *cobra.Command {
	return timeoutCommand(&cobra.Command{
		Use:     "restart [-t SECONDS] CONTAINER [CONTAINER...]",
		Short:   "Stop containers and start them again (detached)",
		Example: `  sudo minirun restart web`,
	}, func(ref string, timeout int) error { return g.engine().Restart(ref, timeout) })
}

func newWaitCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "wait CONTAINER [CONTAINER...]",
		Short:   "Block until containers stop, then print their exit codes",
		Example: `  sudo minirun wait db`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var first error
			for _, ref := range args {
				code, err := g.engine().Wait(ref)
				if err != nil {
					if first == nil {
						first = err
					}
					continue
				}
				fmt.Println(code)
			}
			return first
		},
	}
}

func newPauseCommand(g *globals) *cobra.Command {
	return eachCommand(&cobra.Command{
		Use:     "pause CONTAINER [CONTAINER...]",
		Short:   "Freeze every process of containers (cgroup freezer)",
		Example: `  sudo minirun pause web`,
	}, onOCI(g, (*container.Container).Pause))
}

func newUnpauseCommand(g *globals) *cobra.Command {
	return eachCommand(&cobra.Command{
		Use:     "unpause CONTAINER [CONTAINER...]",
		Short:   "Thaw paused containers",
		Example: `  sudo minirun unpause web`,
	}, onOCI(g, (*container.Container).Resume))
}

func newInspectCommand(g *globals) *cobra.Command {
	return inspectCommand(&cobra.Command{
		Use:   "inspect [-f FORMAT] CONTAINER [CONTAINER...]",
		Short: "Show containers as JSON: state, config, mounts, network, exit code, OOMKilled",
		Long: `Show containers as a JSON array (Docker's field names: .Id, .State.Pid,
.State.Status, .NetworkSettings...), or, with -f, a Go template per container
run on those JSON fields.`,
		Example: `  sudo minirun inspect web
  sudo minirun inspect -f '{{.State.Pid}}' web
  sudo minirun inspect -f '{{json .State}}' web | jq .`,
	}, func(ref string) (*engine.Inspect, error) { return g.engine().InspectContainer(ref) })
}

func newTopCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "top CONTAINER",
		Short:   "List the processes of a running container",
		Example: `  sudo minirun top web`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			procs, err := g.engine().Top(args[0])
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 0, 3, ' ', 0)
			fmt.Fprintln(w, "UID\tPID\tPPID\tSTAT\tTIME\tCMD")
			for _, p := range procs {
				t := p.CPU.Round(time.Second)
				fmt.Fprintf(w, "%d\t%d\t%d\t%s\t%02d:%02d:%02d\t%s\n", p.UID, p.PID, p.PPID, p.State,
					int(t.Hours()), int(t.Minutes())%60, int(t.Seconds())%60, strings.TrimSpace(p.Cmd))
			}
			return w.Flush()
		},
	}
}

// ociPs is runc's `ps`: the PIDs of the container's cgroup.
func ociPs(g *globals, ref, format string) error {
	c, err := loadOCI(g, ref)
	if err != nil {
		return err
	}
	pids, err := c.Pids()
	if err != nil {
		return err
	}
	if pids == nil {
		pids = []int{}
	}
	if format == "json" {
		return json.NewEncoder(os.Stdout).Encode(pids)
	}
	fmt.Println("PID\tCMD")
	for _, pid := range pids {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		fmt.Printf("%d\t%s\n", pid, strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " ")))
	}
	return nil
}
