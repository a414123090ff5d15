package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/minirun/minirun/cgroups"
	"github.com/minirun/minirun/security/seccomp"
)

// versionInfo is `minirun version --format json`: Docker's client fields
// (.Version .GitCommit .GoVersion .Os .Arch) and the runtime's own.
type versionInfo struct {
	Version     string
	GitCommit   string
	GoVersion   string
	Os          string
	Arch        string
	SpecVersion string   // the OCI runtime-spec version config.json is written for
	Seccomp     bool     // seccomp filters can be compiled for this architecture
	CgroupModes []string // the cgroup layouts minirun drives
	CgroupMode  string   // this host's: legacy, hybrid or unified
}

// commit is the git commit `make build` sets with -ldflags.
var commit string

// buildVersion is the version and commit of this binary: what `make build`
// set with -ldflags, else what the Go toolchain recorded (go install
// module@version, or the VCS revision of a checkout build).
func buildVersion() (ver, rev string) {
	ver = version
	bi, ok := debug.ReadBuildInfo()
	if !ok || commit != "" {
		return ver, commit
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" && ver == "0.1.0-dev" {
		ver = v
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev != "" && modified {
		rev += "-dirty"
	}
	return ver, rev
}

// cgroupModeName is a short name for the host's cgroup layout.
func cgroupModeName(m cgroups.Mode) string {
	switch m {
	case cgroups.Legacy:
		return "legacy"
	case cgroups.Hybrid:
		return "hybrid"
	case cgroups.Unified:
		return "unified"
	}
	return "none"
}

func currentVersion() versionInfo {
	ver, commit := buildVersion()
	return versionInfo{
		Version: ver, GitCommit: commit, GoVersion: runtime.Version(), Os: runtime.GOOS, Arch: runtime.GOARCH,
		SpecVersion: specs.Version, Seccomp: *seccomp.Features().Enabled,
		CgroupModes: []string{"legacy", "hybrid", "unified"}, CgroupMode: cgroupModeName(cgroups.DetectMode()),
	}
}

func newVersionCommand(g *globals) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "version [--format FORMAT]",
		Short: "Show the version, commit, Go and runtime-spec versions, and features",
		Long: `Show minirun's version, the commit it was built from, the Go version, the OCI
runtime-spec version it writes, and its features: seccomp on this
architecture, the cgroup modes it supports and the one this host has.

"minirun --version" keeps runc's three-line form (version, spec, go) that
engines parse.`,
		Example: `  minirun version
  minirun version --format '{{.Version}}'
  minirun version --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := currentVersion()
			return renderOne(format, v, func(w io.Writer) error {
				commit := v.GitCommit
				if commit == "" {
					commit = "unknown"
				}
				_, err := fmt.Fprintf(w, "Version:       %s\nGit commit:    %s\nGo version:    %s\nOS/Arch:       %s/%s\n"+
					"Spec version:  %s\nSeccomp:       %t\nCgroup modes:  %s (this host: %s)\n",
					v.Version, commit, v.GoVersion, v.Os, v.Arch, v.SpecVersion, v.Seccomp,
					strings.Join(v.CgroupModes, ", "), v.CgroupMode)
				return err
			})
		},
	}
	addFormatFlag(c, &format, false)
	return c
}
