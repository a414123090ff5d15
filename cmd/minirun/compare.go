package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/engine"
	"github.com/minirun/minirun/probe"
)

func newCompareCommand(g *globals) *cobra.Command {
	var o engine.CompareOptions
	var all, check bool
	var format string
	o.Run.Limits.MemorySwappiness = -1 // unset, as run's flag
	c := &cobra.Command{
		Use:   "compare [OPTIONS] [--] IMAGE [COMMAND] [ARG...]",
		Short: "Run one container under minirun and under runc, crun or Docker, and diff what it sees",
		Long: `compare prepares a container as "minirun run" would (image mounted, config.json
written, --network none by default: another runtime cannot join minirun's
bridges), copies a probe into it (this static binary, as /.minirun-probe) and
runs that same bundle under minirun and under another runtime. The probe reports
what the container sees: PIDs, user IDs and maps, capabilities, seccomp,
no_new_privs, mounts and their options, masked paths, cgroup limits, rlimits,
/dev, interfaces, routes, /etc files, environment. Fields that differ are
printed side by side; with --runtime runc each one is matched against the
committed allowlist, which says why it differs (docs/COMPARE.md).

A COMMAND, if given, is run by the probe after its report: its output and
exit code are compared too.`,
		Example: `  sudo minirun compare busybox
  sudo minirun compare --all busybox
  sudo minirun compare --runtime crun -u 1000 --cap-drop ALL busybox id
  sudo minirun compare --format json busybox | jq .
  sudo minirun compare --check busybox      # exit 1 on a difference the allowlist does not explain`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageErr(cmd, errorf("--format %q: want table or json", format))
			}
			o.Run.Image, o.Run.Args = args[0], args[1:]
			exe, err := os.Executable()
			if err != nil {
				return errorf("find the minirun binary to use as the probe: %w", err)
			}
			o.Probe = exe
			mine, other, err := g.engine().Compare(o)
			if err != nil {
				return err
			}
			diffs := probe.Diff(mine, other, all)
			var allow []probe.AllowEntry
			if o.Runtime == "runc" {
				if allow, err = probe.RuncAllowlist(); err != nil {
					return err
				}
			}
			unexplained := printComparison(diffs, allow, o.Runtime, format)
			if check && unexplained > 0 {
				return exitError(1)
			}
			return nil
		},
	}
	f := c.Flags()
	f.SetInterspersed(false) // flags after the image belong to the command
	f.StringVar(&o.Runtime, "runtime", "runc", "the other runtime: runc, crun (same bundle) or docker (docker run of the same image; needs a reachable daemon)")
	f.BoolVar(&all, "all", false, "print every field, the equal ones too")
	f.StringVar(&format, "format", "table", "table (side by side) or json")
	f.BoolVar(&check, "check", false, "exit 1 if a difference is not explained by the allowlist (runc only)")
	f.StringVarP(&o.Run.User, "user", "u", "", "user[:group] to run as")
	f.StringArrayVarP(&o.Run.Env, "env", "e", nil, "set an environment variable")
	f.StringVarP(&o.Run.Workdir, "workdir", "w", "", "working directory inside the container")
	f.StringVar(&o.Run.Hostname, "hostname", "", "container hostname")
	f.BoolVar(&o.Run.ReadOnly, "read-only", false, "mount the root filesystem read-only")
	f.BoolVar(&o.Run.Privileged, "privileged", false, "Docker's --privileged")
	f.StringArrayVar(&o.Run.CapAdd, "cap-add", nil, "add a capability")
	f.StringArrayVar(&o.Run.CapDrop, "cap-drop", nil, "drop a capability")
	f.StringArrayVar(&o.Run.SecurityOpts, "security-opt", nil, "seccomp=unconfined|PROFILE.json, no-new-privileges")
	f.StringArrayVar(&o.Run.Ulimits, "ulimit", nil, "resource limit NAME=SOFT[:HARD]")
	f.StringVar(&o.Run.Network, "network", "none", "none (only lo) or host; bridge networks cannot be joined by another runtime")
	f.StringVarP(&o.Run.Limits.Memory, "memory", "m", "", "memory limit (e.g. 64m)")
	f.Int64Var(&o.Run.Limits.PidsLimit, "pids-limit", 0, "maximum number of processes")
	f.StringVar(&o.Run.Limits.CPUs, "cpus", "", "number of CPUs (e.g. 0.5)")
	f.StringVar(&o.Run.Pull, "pull", "missing", "pull the image: always, missing or never")
	return c
}

// printComparison prints the differences (every field with --all) and
// returns how many differing fields the allowlist does not explain.
func printComparison(diffs []probe.Difference, allow []probe.AllowEntry, runtime, format string) int {
	type row struct {
		probe.Difference
		Reason string `json:"reason,omitempty"`
	}
	var rows []row
	unexplained, differing := 0, 0
	for _, d := range diffs {
		r := row{Difference: d}
		if d.A != d.B {
			differing++
			if e, ok := probe.Explain(allow, d); ok {
				r.Reason = e.Reason
			} else if allow != nil {
				unexplained++
				r.Reason = notInAllowlist
			}
		}
		rows = append(rows, r)
	}
	if format == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"runtime": runtime, "fields": rows, "differing": differing, "unexplained": unexplained})
		return unexplained
	}
	// Side by side, values cut at a readable width (--format json has
	// them whole); the reasons are numbered notes under the table.
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "FIELD\tMINIRUN\t%s\tWHY\n", strings.ToUpper(runtime))
	var notes []string
	noteOf := map[string]int{}
	for _, r := range rows {
		mark := "  " + r.Field
		if r.A != r.B {
			mark = "* " + r.Field
		}
		why := ""
		if r.Reason != "" {
			n, ok := noteOf[r.Reason]
			if !ok {
				notes = append(notes, r.Reason)
				n = len(notes)
				noteOf[r.Reason] = n
			}
			why = fmt.Sprintf("[%d]", n)
			if r.Reason == notInAllowlist {
				why = notInAllowlist
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", mark, cell(r.A), cell(r.B), why)
	}
	w.Flush()
	fmt.Printf("\n%d field(s) differ", differing)
	if allow != nil {
		fmt.Printf(", %d not explained by the allowlist (probe/allowlist-runc.json)", unexplained)
	}
	fmt.Println()
	for i, n := range notes {
		if n != notInAllowlist {
			fmt.Printf("\n[%d] %s\n", i+1, n)
		}
	}
	return unexplained
}

const notInAllowlist = "NOT IN THE ALLOWLIST"

// cell is a value on one line of the table, cut to a readable width.
func cell(v string) string {
	v = strings.NewReplacer("\n", "\\n", "\t", " ").Replace(v)
	if r := []rune(v); len(r) > 56 {
		return string(r[:55]) + "…"
	}
	return v
}
