package main

import (
	"github.com/spf13/cobra"

	"github.com/minirun/minirun/config"
)

var version = "0.1.0-dev"

func newRootCommand() *cobra.Command {
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
			return openRuntimeLog(g)
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
	root.AddCommand(
		newRunCommand(g),
		newExecCommand(g),
		newImportCommand(g),
		newImagesCommand(g),
		newRmCommand(g),
		newCreateCommand(g),
		newStartCommand(g),
		newStateCommand(g),
		newKillCommand(g),
		newDeleteCommand(g),
		newListCommand(g),
		newSpecCommand(g),
		newStatsCommand(g),
		newPullCommand(g),
		newLoginCommand(g),
		newLogoutCommand(g),
		newRmiCommand(g),
		newImageCommand(g),
		newLoadCommand(g),
		newSaveCommand(g),
		newNetworkCommand(g),
		newVolumeCommand(g),
		newSystemCommand(g),
		newPsCommand(g),
		newLogsCommand(g),
		newStopCommand(g),
		newRestartCommand(g),
		newWaitCommand(g),
		newPauseCommand(g),
		newUnpauseCommand(g),
		newInspectCommand(g),
		newTopCommand(g),
		newResumeCommand(g),
		newUpdateCommand(g),
		newFeaturesCommand(g),
		newProbeCommand(g),
		newCompareCommand(g),
		newVersionCommand(g),
		newInfoCommand(g),
		newDoctorCommand(g),
	)
	setupHelp(root)
	setupCompletion(root, g)
	return root
}
