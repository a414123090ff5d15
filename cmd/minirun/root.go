package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/config"
	"github.com/minirun/minirun/ocicmd"
)

var version = "0.1.0-dev"

// newRootCommand builds the command tree. With only set to the name of a
// top-level command it builds the root and that command alone: what main
// does for an engine's create/start/state/kill/delete and for run, which
// then need not build 40 commands and their flags (~0.3 ms in every such
// process; see hotCommand). Help and errors of that command are the same.
func newRootCommand(only string) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "minirun",
		Short: "A container runtime built from Linux primitives, to learn from and to use",
		Long: `minirun runs containers the way Docker and runc do, from plain Linux primitives:
namespaces, overlayfs, pivot_root, capabilities. It has a Docker-style "run" and
the runc-compatible OCI verbs (create, start, state, kill, delete) over one lifecycle.

  sudo minirun run busybox sh          an interactive shell in a busybox container
  sudo minirun run --dry-run busybox   the OCI config.json that would run

See docs/ARCHITECTURE.md for how a container comes to be.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		// runc opens --log before the command runs; engines read it.
		// The configuration file and MINIRUN_* under the flags (config.go).
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if err := g.resolve(); err != nil {
				return err
			}
			if err := enableTrace(); err != nil {
				return err
			}
			return ocicmd.OpenLog(g.log, g.logFormat)
		},
	}
	pf := root.PersistentFlags()
	g.flags = pf
	def := config.Defaults()
	pf.StringVar(&g.root, "root", def.StateRoot, "state root: one directory per container (env MINIRUN_ROOT, config state_root)")
	pf.StringVar(&g.dataRoot, "data-root", def.DataRoot, "data root: images and container layers (env MINIRUN_DATA_ROOT, config data_root)")
	pf.StringVar(&g.log, "log", "", "write runtime errors to this file (runc compatibility)")
	pf.StringVar(&g.logFormat, "log-format", "text", "log format: text or json (runc compatibility)")
	pf.BoolVar(&g.debug, "debug", false, "print debug information (env MINIRUN_LOG_LEVEL=debug, config log_level)")
	pf.BoolVar(&g.systemdCgroup, "systemd-cgroup", false, "accepted for runc compatibility; minirun manages cgroupfs directly")
	addTraceFlags(pf)
	root.SetVersionTemplate(versionTemplate())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageErr(c, err) })
	for _, c := range commandTable {
		if only == "" || c.name == only {
			root.AddCommand(c.new(g))
		}
	}
	setupHelp(root)
	setupCompletion(root, g)
	return root
}

// commandTable is every top-level command, in help order: its name and its
// constructor (TestCommandTableNames checks that they agree).
var commandTable = []struct {
	name string
	new  func(*globals) *cobra.Command
}{
	{"run", newRunCommand},
	{"exec", newExecCommand},
	{"import", newImportCommand},
	{"images", newImagesCommand},
	{"rm", newRmCommand},
	{"create", newCreateCommand},
	{"start", newStartCommand},
	{"state", newStateCommand},
	{"kill", newKillCommand},
	{"delete", newDeleteCommand},
	{"list", newListCommand},
	{"spec", newSpecCommand},
	{"stats", newStatsCommand},
	{"pull", newPullCommand},
	{"login", newLoginCommand},
	{"logout", newLogoutCommand},
	{"rmi", newRmiCommand},
	{"image", newImageCommand},
	{"load", newLoadCommand},
	{"save", newSaveCommand},
	{"network", newNetworkCommand},
	{"volume", newVolumeCommand},
	{"system", newSystemCommand},
	{"ps", newPsCommand},
	{"logs", newLogsCommand},
	{"stop", newStopCommand},
	{"restart", newRestartCommand},
	{"wait", newWaitCommand},
	{"pause", newPauseCommand},
	{"unpause", newUnpauseCommand},
	{"inspect", newInspectCommand},
	{"top", newTopCommand},
	{"resume", newResumeCommand},
	{"update", newUpdateCommand},
	{"features", newFeaturesCommand},
	{"probe", newProbeCommand},
	{"compare", newCompareCommand},
	{"version", newVersionCommand},
	{"info", newInfoCommand},
	{"doctor", newDoctorCommand},
}

// hotCommand is the top-level command args name, when it can be told
// without building the tree: the first argument after the global flags
// (--root DIR, --data-root DIR, --log FILE, --log-format F and
// --trace-format F take a value; --debug, --systemd-cgroup and --trace do
// not) that names a command of commandTable. Otherwise "": main builds
// every command (help, completion, an alias, a typo to suggest for).
func hotCommand(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--root" || a == "--data-root" || a == "--log" || a == "--log-format" || a == "--trace-format":
			i++
		case a == "--debug" || a == "--systemd-cgroup" || a == "--trace" ||
			strings.HasPrefix(a, "--root=") || strings.HasPrefix(a, "--data-root=") || strings.HasPrefix(a, "--log=") ||
			strings.HasPrefix(a, "--log-format=") || strings.HasPrefix(a, "--trace-format=") ||
			strings.HasPrefix(a, "--debug=") || strings.HasPrefix(a, "--systemd-cgroup=") || strings.HasPrefix(a, "--trace="):
		case strings.HasPrefix(a, "-"):
			return "" // --help, --version, a flag of a command, a typo
		default:
			for _, c := range commandTable {
				if c.name == a {
					return a
				}
			}
			return ""
		}
	}
	return ""
}
