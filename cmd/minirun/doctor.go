package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/doctor"
	"github.com/minirun/minirun/engine"
)

func newDoctorCommand(g *globals) *cobra.Command {
	var format string
	var verbose bool
	c := &cobra.Command{
		Use:   "doctor [--format json] [-v]",
		Short: "Check that this host has what containers need, and say how to fix what is missing",
		Long: `Check the kernel features minirun needs (namespaces, overlayfs, cgroups, veth
and bridges, nftables, seccomp, user namespaces) and the classic traps of
container tutorials: pivot_root's "invalid argument" on a shared / or an
initramfs, cgroup v1 tutorials on v2 hosts and the reverse, WSL2's hybrid
cgroups, no internet in containers because a firewall's FORWARD policy is
DROP, a binary built without cgo that cannot exec.

Each check says what it read (a file and its value, or a system call and its
errno), why it matters and the exact commands that fix it. Probes never change
the host: namespaces are made by a child that exits at once, the bridge, veth
pair and nftables table live in a throwaway network namespace, the overlay
test mount in a throwaway mount namespace.

Run as root it checks minirun as root; as an ordinary user it explains what
rootless mode will and will not have, and skips the root-only probes.

Exit status: 0 when no check fails (warnings do not count), 1 when one fails,
125 when doctor itself could not run. See docs/DOCTOR.md for every check.`,
		Example: `  sudo minirun doctor
  minirun doctor                      # as a user: rootless mode
  sudo minirun doctor --format json | jq '.checks[] | select(.status != "ok")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "" && format != "text" && format != "json" {
				return usageErr(cmd, errorf("unsupported --format %q: want text or json", format))
			}
			h := doctor.RealHost()
			uidFile, gidFile := engine.SubIDFiles()
			rs := doctor.Run(h, doctor.Options{
				DataRoot:   g.dataRoot,
				Bridge:     engine.DefaultBridge(),
				SubIDUser:  engine.SubIDUser,
				SubUIDFile: uidFile,
				SubGIDFile: gidFile,
			})
			if format == "json" {
				if err := printDoctorJSON(os.Stdout, rs, h.UID != 0); err != nil {
					return err
				}
			} else {
				color := useColour(os.Stdout)
				printDoctor(os.Stdout, rs, h.UID != 0, verbose, color)
			}
			if doctor.Failed(rs) {
				return exitError(1)
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "text", "text or json")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "also show the evidence, reason and fix of the checks that passed")
	return c
}

// doctorReport is the JSON form: every check, and the counts.
type doctorReport struct {
	Rootless bool            `json:"rootless"`
	Failed   bool            `json:"failed"`
	Summary  map[string]int  `json:"summary"`
	Checks   []doctor.Result `json:"checks"`
}

func doctorCounts(rs []doctor.Result) map[string]int {
	n := map[string]int{"ok": 0, "warn": 0, "fail": 0, "skip": 0}
	for _, r := range rs {
		n[string(r.Status)]++
	}
	return n
}

func printDoctorJSON(w io.Writer, rs []doctor.Result, rootless bool) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doctorReport{Rootless: rootless, Failed: doctor.Failed(rs), Summary: doctorCounts(rs), Checks: rs})
}

var doctorMarks = map[doctor.Status]struct{ mark, color string }{
	doctor.OK:   {"✔", "\x1b[32m"},
	doctor.Warn: {"!", "\x1b[33m"},
	doctor.Fail: {"✘", "\x1b[31m"},
	doctor.Skip: {"-", "\x1b[2m"},
}

func printDoctor(w io.Writer, rs []doctor.Result, rootless, verbose, color bool) {
	paint := func(s doctor.Status, text string) string {
		if !color {
			return text
		}
		return doctorMarks[s].color + text + "\x1b[0m"
	}
	if rootless {
		fmt.Fprintln(w, doctor.RootlessNote)
		fmt.Fprintln(w)
	}
	group := ""
	for _, r := range rs {
		if r.Group != group {
			if group != "" {
				fmt.Fprintln(w)
			}
			group = r.Group
			heading := strings.ToUpper(group[:1]) + group[1:]
			if color {
				heading = "\x1b[1m" + heading + "\x1b[0m"
			}
			fmt.Fprintln(w, heading)
		}
		fmt.Fprintf(w, "  %s %s: %s\n", paint(r.Status, doctorMarks[r.Status].mark), r.Title, r.Message)
		if r.Status == doctor.OK || r.Status == doctor.Skip {
			if !verbose {
				continue
			}
		}
		for _, e := range r.Evidence {
			fmt.Fprintf(w, "      read: %s\n", e)
		}
		if r.Why != "" && (verbose || r.Status == doctor.Warn || r.Status == doctor.Fail) {
			fmt.Fprintf(w, "      why:  %s\n", wrap(r.Why, 72, "            "))
		}
		for i, f := range r.Fix {
			label := "      fix:  "
			if i > 0 {
				label = "            "
			}
			fmt.Fprintf(w, "%s%s\n", label, f)
		}
	}
	n := doctorCounts(rs)
	fmt.Fprintf(w, "\n%d ok, %d warnings, %d failed, %d skipped", n["ok"], n["warn"], n["fail"], n["skip"])
	if n["fail"] > 0 {
		fmt.Fprintln(w, paint(doctor.Fail, ": minirun cannot work fully on this host until the failures are fixed."))
	} else {
		fmt.Fprintln(w, ": nothing stops minirun here (warnings explain traps and missing extras).")
	}
}

// wrap breaks text into lines of at most width characters, the ones after
// the first prefixed with indent.
func wrap(text string, width int, indent string) string {
	var b strings.Builder
	line := 0
	for i, word := range strings.Fields(text) {
		if i > 0 {
			if line+1+len(word) > width {
				b.WriteString("\n" + indent)
				line = 0
			} else {
				b.WriteByte(' ')
				line++
			}
		}
		b.WriteString(word)
		line += len(word)
	}
	return b.String()
}
