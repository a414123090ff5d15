package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/spf13/cobra"

	"github.com/minirun/minirun/container"
	"github.com/minirun/minirun/rootfs"
	"github.com/minirun/minirun/security"
	"github.com/minirun/minirun/security/seccomp"
)

// loadOCI finds a container by an engine name/prefix or a plain OCI ID.
func loadOCI(g *globals, ref string) (*container.Container, error) {
	id := ref
	if m, err := g.engine().Find(ref); err == nil {
		id = m.ID
	}
	return (&container.Runtime{Root: g.root}).Load(id)
}

func newResumeCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "resume ID",
		Short:   "OCI: thaw a paused container (runc resume; Docker's unpause)",
		Example: `  minirun resume mycontainer`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return onOCI(g, (*container.Container).Resume)(args[0])
		},
	}
}

func newUpdateCommand(g *globals) *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "update --resources FILE|- ID",
		Short: "OCI: change a running container's resource limits (runc update)",
		Long: `Change a running container's cgroup limits. --resources is a JSON
LinuxResources object (the "linux.resources" of config.json), from a file or
stdin ("-"); containerd uses this form.`,
		Example: `  echo '{"pids":{"limit":50}}' | sudo minirun update --resources - mycontainer`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usageErr(cmd, errorf("give --resources FILE (or - for stdin)"))
			}
			var r io.Reader = os.Stdin
			if file != "-" {
				f, err := os.Open(file)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			var res specs.LinuxResources
			if err := json.NewDecoder(r).Decode(&res); err != nil {
				return errorf("--resources %s: not a JSON LinuxResources object: %v", file, err)
			}
			return onOCI(g, func(c *container.Container) error { return c.Update(&res) })(args[0])
		},
	}
	c.Flags().StringVarP(&file, "resources", "r", "", "JSON file with the new linux.resources, - for stdin")
	return c
}

func newFeaturesCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "features",
		Short:   "OCI: print what this runtime supports, as runtime-spec features JSON",
		Example: `  minirun features | jq .linux.namespaces`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			yes, no := true, false
			f := features.Features{
				OCIVersionMin: "1.0.0",
				OCIVersionMax: specs.Version,
				MountOptions:  rootfs.KnownOptions(),
				Linux: &features.Linux{
					Namespaces:   []string{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"},
					Capabilities: security.CapabilityNames(),
					Cgroup:       &features.Cgroup{V1: &yes, V2: &yes, Systemd: &no, SystemdUser: &no, Rdma: &no},
					Seccomp:      seccomp.Features(),
					Apparmor:     &features.Apparmor{Enabled: &no},
					Selinux:      &features.Selinux{Enabled: &no},
					IntelRdt:     &features.IntelRdt{Enabled: &no},
					MountExtensions: &features.MountExtensions{
						IDMap: &features.IDMap{Enabled: &no},
					},
				},
				Annotations: map[string]string{
					"io.github.minirun.version": version,
					"io.github.minirun.go":      runtime.Version(),
				},
			}
			if hooks := container.SupportedHooks(); hooks != nil {
				f.Hooks = hooks
			} else {
				f.Hooks = []string{}
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "    ")
			return enc.Encode(f)
		},
	}
}

// versionTemplate is runc's --version layout, which tools parse.
func versionTemplate() string {
	return fmt.Sprintf("minirun version {{.Version}}\nspec: %s\ngo: %s\n", specs.Version, strings.TrimPrefix(runtime.Version(), "go"))
}
