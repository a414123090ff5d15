package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The help: commands grouped in `minirun --help`, flags grouped in the
// help of the commands that have many (run, create), a pointer to the
// docs, and suggestions for mistyped commands and flags.

// commandGroups are the sections of `minirun --help`, in order, and the
// top-level commands in each. A command not listed here (one added later)
// is shown under "Additional Commands" until it is given a group.
var commandGroups = []struct {
	id, title string
	commands  []string
}{
	{"containers", "Containers:", []string{"run", "exec", "ps", "logs", "inspect", "top", "stats", "stop", "restart", "wait", "pause", "unpause", "rm"}},
	{"images", "Images:", []string{"images", "image", "pull", "import", "load", "save", "rmi", "login", "logout"}},
	{"resources", "Networks & volumes:", []string{"network", "volume"}},
	{"oci", "OCI runtime (runc-compatible):", []string{"create", "start", "state", "kill", "delete", "list", "spec", "resume", "update", "features"}},
	{"learn", "Learning (see how it works):", []string{"compare", "doctor"}},
	{"system", "System:", []string{"system", "info", "version", "completion", "help"}},
}

// flagGroups are the sections of a command's flags (by flag name); flags
// not listed are shown under "Other options".
var flagGroups = []struct {
	title string
	flags []string
}{
	{"Running", []string{"interactive", "tty", "detach", "rm", "name", "env", "workdir", "user", "hostname", "entrypoint",
		"init", "restart", "stop-signal", "stop-timeout", "log-opt", "pull", "platform", "rootfs", "read-only", "dry-run", "no-pivot"}},
	{"Storage", []string{"volume", "mount", "tmpfs"}},
	{"Network", []string{"network", "network-alias", "ip", "publish", "publish-all", "expose", "dns", "dns-search", "dns-option", "add-host"}},
	{"Security", []string{"privileged", "cap-add", "cap-drop", "security-opt", "ulimit", "userns"}},
	{"Resources (cgroups)", []string{"memory", "memory-reservation", "memory-swap", "memory-swappiness", "oom-kill-disable",
		"cpus", "cpu-shares", "cpu-quota", "cpu-period", "cpuset-cpus", "cpuset-mems", "pids-limit", "blkio-weight",
		"device-read-bps", "device-write-bps", "device-read-iops", "device-write-iops", "cgroup-parent"}},
	{"OCI mode (runc run)", []string{"bundle", "pid-file", "console-socket"}},
}

// groupFlagsMin is how many flags a command needs for its help to group them.
const groupFlagsMin = 20

// docsLine ends every help: where the concepts are explained.
const docsLine = "Docs: docs/CLI.md (formats, completion, configuration), docs/ARCHITECTURE.md (how a container comes to be)"

// setupHelp groups root's commands, installs the usage layout and the
// suggestions. It runs after every AddCommand.
func setupHelp(root *cobra.Command) {
	groupOf := map[string]string{}
	for _, grp := range commandGroups {
		root.AddGroup(&cobra.Group{ID: grp.id, Title: grp.title})
		for _, name := range grp.commands {
			groupOf[name] = grp.id
		}
	}
	for _, c := range root.Commands() {
		if id, ok := groupOf[c.Name()]; ok && c.GroupID == "" {
			c.GroupID = id
		}
	}
	root.SetHelpCommandGroupID("system")
	root.SetCompletionCommandGroupID("system")
	// cobra adds help and completion when it executes; adding them now
	// lets the golden tests, the man pages and the examples below see them.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Example = "  minirun help run\n  minirun run --help"
		case "completion":
			describeCompletion(c)
		}
	}
	root.SuggestionsMinimumDistance = 2
	root.AddCommand(newManCommand())
	walkCommands(root, func(c *cobra.Command) {
		if c != root && c.HasSubCommands() && !c.Runnable() {
			c.Args, c.RunE = cobra.ArbitraryArgs, unknownSubcommand
			c.SuggestionsMinimumDistance = 2
			c.Annotations = map[string]string{groupAnnotation: "true"}
			if !strings.Contains(c.Use, " ") {
				c.Use += " COMMAND" // the man page's synopsis
			}
			c.DisableFlagsInUseLine = true
		}
		if strings.Contains(c.Use, "[OPTIONS]") || strings.Contains(c.Use, "[-") {
			c.DisableFlagsInUseLine = true // "run [OPTIONS] IMAGE", not "... [flags]"
		}
	})
	root.SetUsageFunc(usage)
}

// groupAnnotation marks a command that only groups others (its usage line
// is "minirun network [command]", not a runnable "minirun network").
const groupAnnotation = "minirun.group"

// unknownSubcommand runs for a command group (network, volume, image,
// system): its help without arguments, as Docker does, and an error with
// the closest subcommands otherwise (cobra would print the help and exit 0).
func unknownSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return c.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return fmt.Errorf("%s\nSee '%s --help'.", msg, c.CommandPath())
}

// usage is cobra's usage layout, with grouped flags and the docs line.
func usage(c *cobra.Command) error {
	w := c.OutOrStderr()
	fmt.Fprint(w, "Usage:")
	if c.Runnable() && c.Annotations[groupAnnotation] == "" {
		fmt.Fprintf(w, "\n  %s", c.UseLine())
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(w, "\n  %s [command]", c.CommandPath())
	}
	if len(c.Aliases) > 0 {
		fmt.Fprintf(w, "\n\nAliases:\n  %s", c.NameAndAliases())
	}
	if c.HasExample() {
		fmt.Fprintf(w, "\n\nExamples:\n%s", c.Example)
	}
	if c.HasAvailableSubCommands() {
		listCommands(w, c)
	}
	if c.HasAvailableLocalFlags() {
		writeFlags(w, c.LocalFlags())
	}
	if c.HasAvailableInheritedFlags() {
		fmt.Fprintf(w, "\n\nGlobal Flags:\n%s", strings.TrimRight(c.InheritedFlags().FlagUsages(), " \n"))
	}
	if c.HasAvailableSubCommands() {
		fmt.Fprintf(w, "\n\nUse \"%s [command] --help\" for more information about a command.", c.CommandPath())
	}
	fmt.Fprintf(w, "\n\n%s\n", docsLine)
	return nil
}

func listCommands(w io.Writer, c *cobra.Command) {
	shown := func(s *cobra.Command) bool { return s.IsAvailableCommand() || s.Name() == "help" }
	line := func(s *cobra.Command) { fmt.Fprintf(w, "\n  %-*s %s", s.NamePadding(), s.Name(), s.Short) }
	if len(c.Groups()) == 0 {
		fmt.Fprint(w, "\n\nAvailable Commands:")
		for _, s := range c.Commands() {
			if shown(s) {
				line(s)
			}
		}
		return
	}
	for _, grp := range c.Groups() {
		fmt.Fprintf(w, "\n\n%s", grp.Title)
		for _, s := range c.Commands() {
			if s.GroupID == grp.ID && shown(s) {
				line(s)
			}
		}
	}
	if !c.AllChildCommandsHaveGroup() {
		fmt.Fprint(w, "\n\nAdditional Commands:")
		for _, s := range c.Commands() {
			if s.GroupID == "" && shown(s) {
				line(s)
			}
		}
	}
}

// writeFlags prints a command's flags, in sections when it has many.
func writeFlags(w io.Writer, fs *pflag.FlagSet) {
	n := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			n++
		}
	})
	if n < groupFlagsMin {
		fmt.Fprintf(w, "\n\nFlags:\n%s", strings.TrimRight(fs.FlagUsages(), " \n"))
		return
	}
	sectionOf := map[string]int{}
	for i, grp := range flagGroups {
		for _, name := range grp.flags {
			sectionOf[name] = i
		}
	}
	sections := make([]*pflag.FlagSet, len(flagGroups)+1)
	for i := range sections {
		sections[i] = pflag.NewFlagSet("", pflag.ContinueOnError)
		sections[i].SortFlags = fs.SortFlags
	}
	fs.VisitAll(func(f *pflag.Flag) {
		i, ok := sectionOf[f.Name]
		if !ok {
			i = len(flagGroups)
		}
		sections[i].AddFlag(f)
	})
	for i, s := range sections {
		if !s.HasAvailableFlags() {
			continue
		}
		title := "Other options"
		if i < len(flagGroups) {
			title = flagGroups[i].title
		}
		fmt.Fprintf(w, "\n\n%s:\n%s", title, strings.TrimRight(s.FlagUsages(), " \n"))
	}
}

// suggestFlag finds the flag of c closest to the unknown one in err
// ("unknown flag: --netwrk"), for "Did you mean --network?".
func suggestFlag(c *cobra.Command, err error) string {
	msg := err.Error()
	var name string
	switch {
	case strings.HasPrefix(msg, "unknown flag: --"):
		name = strings.TrimPrefix(msg, "unknown flag: --")
	case strings.HasPrefix(msg, "unknown shorthand flag: "):
		return "" // one letter: any suggestion would be a guess
	default:
		return ""
	}
	name, _, _ = strings.Cut(name, "=")
	type cand struct {
		name string
		d    int
	}
	var cands []cand
	visit := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := levenshtein(name, f.Name)
		if d <= 2 || (len(name) >= 3 && strings.HasPrefix(f.Name, name)) {
			cands = append(cands, cand{f.Name, d})
		}
	}
	c.Flags().VisitAll(visit)
	c.InheritedFlags().VisitAll(visit)
	if len(cands) == 0 {
		return ""
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].d != cands[j].d {
			return cands[i].d < cands[j].d
		}
		return cands[i].name < cands[j].name
	})
	return "--" + cands[0].name
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
