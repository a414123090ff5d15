package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/cgroups"
)

// systemInfo is `minirun info`, with Docker's field names where Docker has
// the field (.Containers .Images .Driver .DockerRootDir .CgroupDriver
// .CgroupVersion .KernelVersion .OperatingSystem ...), and minirun's own.
type systemInfo struct {
	ServerVersion     string
	Containers        int
	ContainersRunning int
	ContainersPaused  int
	ContainersStopped int
	Images            int
	Networks          int // minirun: user networks and the default one, once made
	Volumes           int // minirun: named volumes
	Driver            string
	DockerRootDir     string // the data root: images, container layers, volumes
	StateRoot         string // minirun: the state root, one directory per container
	ConfigFile        string // minirun: the configuration file read ("" if none)
	CgroupDriver      string
	CgroupVersion     string
	CgroupMode        string // minirun: legacy, hybrid or unified
	SecurityOptions   []string
	KernelVersion     string
	OperatingSystem   string
	OSType            string
	Architecture      string
	NCPU              int
	MemTotal          int64
	Name              string
	Debug             bool
	RegistryMirrors   []string
	Warnings          []string
}

func gatherInfo(g *globals) systemInfo {
	in := systemInfo{ServerVersion: version, Driver: "overlay", DockerRootDir: g.dataRoot, StateRoot: g.root,
		ConfigFile: g.configFile, CgroupDriver: "cgroupfs", OSType: runtime.GOOS, NCPU: runtime.NumCPU(),
		Debug: g.debug, SecurityOptions: []string{}, RegistryMirrors: []string{}, Warnings: []string{}}
	in.ServerVersion, _ = buildVersion()
	warn := func(format string, a ...any) { in.Warnings = append(in.Warnings, fmt.Sprintf(format, a...)) }
	e := g.engine()
	if list, err := e.List(true); err != nil {
		warn("containers: %v", err)
	} else {
		in.Containers = len(list)
		for _, s := range list {
			switch s.State {
			case "running", "restarting":
				in.ContainersRunning++
			case "paused":
				in.ContainersPaused++
			default:
				in.ContainersStopped++
			}
		}
	}
	if store, err := e.Images(); err != nil {
		warn("images: %v", err)
	} else if imgs, err := store.List(); err != nil {
		warn("images: %v", err)
	} else {
		ids := map[string]bool{}
		for _, img := range imgs {
			ids[img.ID.String()] = true
		}
		in.Images = len(ids)
	}
	if nets, err := e.Networks(); err == nil {
		in.Networks = len(nets)
	}
	if vols, err := e.Volumes(); err == nil {
		in.Volumes = len(vols)
	}
	mode := cgroups.DetectMode()
	in.CgroupMode = cgroupModeName(mode)
	switch mode {
	case cgroups.Unified:
		in.CgroupVersion = "2"
	case cgroups.Legacy, cgroups.Hybrid:
		in.CgroupVersion = "1"
	default:
		warn("no cgroup filesystem at %s: containers run without resource limits", cgroups.Root)
	}
	if mode == cgroups.Hybrid {
		warn("hybrid cgroups: the v2 tree at /sys/fs/cgroup/unified carries no controllers; minirun uses v1")
	}
	if v := currentVersion(); v.Seccomp {
		in.SecurityOptions = append(in.SecurityOptions, "name=seccomp,profile=builtin")
	}
	in.SecurityOptions = append(in.SecurityOptions, "name=cgroupns")
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		in.KernelVersion = unix.ByteSliceToString(u.Release[:])
		in.Architecture = unix.ByteSliceToString(u.Machine[:])
		in.Name = unix.ByteSliceToString(u.Nodename[:])
	}
	in.OperatingSystem = osRelease()
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		in.MemTotal = int64(si.Totalram) * int64(si.Unit)
	}
	if m := os.Getenv("MINIRUN_REGISTRY_MIRROR"); m != "" {
		in.RegistryMirrors = append(in.RegistryMirrors, m)
	}
	return in
}

// osRelease is PRETTY_NAME of /etc/os-release.
func osRelease() string {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "unknown"
}

func newInfoCommand(g *globals) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "info [--format FORMAT]",
		Short: "Show system-wide information: cgroup mode, roots, kernel, features, counts",
		Long: `Show what minirun sees on this host: how many containers (running, paused,
stopped), images, networks and volumes it has, where it keeps them (data root,
state root), the configuration file it read, the cgroup layout, the kernel and
the security features. Problems it notices are listed under "WARNING:", on
stderr.

--format takes "json" or a Go template over Docker's field names where Docker
has the field (.Containers .ContainersRunning .Images .Driver .DockerRootDir
.CgroupDriver .CgroupVersion .KernelVersion .OperatingSystem .NCPU .MemTotal)
and minirun's own (.StateRoot .ConfigFile .CgroupMode .Networks .Volumes).`,
		Example: `  sudo minirun info
  sudo minirun info --format '{{.CgroupVersion}}'
  sudo minirun info --format json | jq .Warnings`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			in := gatherInfo(g)
			return renderOne(format, in, func(w io.Writer) error {
				cfg := in.ConfigFile
				if cfg == "" {
					cfg = "none"
				}
				fmt.Fprintf(w, "Server Version: %s\n", in.ServerVersion)
				fmt.Fprintf(w, "Containers: %d\n Running: %d\n Paused: %d\n Stopped: %d\n", in.Containers, in.ContainersRunning, in.ContainersPaused, in.ContainersStopped)
				fmt.Fprintf(w, "Images: %d\nNetworks: %d\nVolumes: %d\n", in.Images, in.Networks, in.Volumes)
				fmt.Fprintf(w, "Storage Driver: %s\nData Root: %s\nState Root: %s\nConfig File: %s\n", in.Driver, in.DockerRootDir, in.StateRoot, cfg)
				fmt.Fprintf(w, "Cgroup Driver: %s\nCgroup Version: %s\nCgroup Mode: %s\n", in.CgroupDriver, in.CgroupVersion, in.CgroupMode)
				fmt.Fprintln(w, "Security Options:")
				for _, o := range in.SecurityOptions {
					fmt.Fprintf(w, " %s\n", o)
				}
				fmt.Fprintf(w, "Kernel Version: %s\nOperating System: %s\nOSType: %s\nArchitecture: %s\n", in.KernelVersion, in.OperatingSystem, in.OSType, in.Architecture)
				fmt.Fprintf(w, "CPUs: %d\nTotal Memory: %s\nName: %s\nDebug Mode: %t\n", in.NCPU, humanSize(in.MemTotal), in.Name, in.Debug)
				if len(in.RegistryMirrors) > 0 {
					fmt.Fprintf(w, "Registry Mirrors:\n %s\n", strings.Join(in.RegistryMirrors, "\n "))
				}
				for _, warning := range in.Warnings {
					fmt.Fprintln(os.Stderr, colour(os.Stderr, yellow, "WARNING:"), warning)
				}
				return nil
			})
		},
	}
	addFormatFlag(c, &format, false)
	return c
}
