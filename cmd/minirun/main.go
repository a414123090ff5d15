// Every minirun process starts a Go runtime, the container's init too (a
// re-exec of this binary): these settings spare each start work it does not
// need. containermaxprocs/updatemaxprocs: no reading of cgroup CPU limits to
// size GOMAXPROCS at start, and no goroutine re-reading them every second (a
// runtime sets up cgroups; it is not one of their tenants). decoratemappings:
// no prctl(PR_SET_VMA) naming each memory mapping. See docs/PERFORMANCE.md.

//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
//go:debug decoratemappings=0

// Command minirun is a container runtime built directly from Linux
// primitives: a Docker-like `run` and a runc-compatible OCI runtime in one
// binary. One file per command; the work happens in the packages.
package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/minirun/minirun/container"
	"github.com/minirun/minirun/engine"
	"github.com/minirun/minirun/namespaces"
	"github.com/minirun/minirun/ocicmd"
	"github.com/minirun/minirun/trace"
	// nsenter's C constructor gets `exec` into a container's namespaces
	// before the Go runtime starts (see its doc.go).
	_ "github.com/minirun/minirun/monitor"
	// frontdoor's C constructor hands the runc verbs engines call most to
	// minirun-init before the Go runtime starts (see its doc.go).
	_ "github.com/minirun/minirun/cmd/minirun/frontdoor"
	_ "github.com/minirun/minirun/namespaces/nsenter"
	// threadstart's C constructor spares each new thread an munmap(2).
	_ "github.com/minirun/minirun/threadstart"
	// timerslack's C constructor lets sysmon nap in the runc verbs and init.
	_ "github.com/minirun/minirun/timerslack"
)

func init() { container.MainThread() }

func main() {
	container.HelperMain() // init or exec's helper: never returns
	switch {
	case container.IsRemoveHelper():
		// Rootless mode: removes files of a container's subordinate IDs.
		os.Exit(container.RemoveHelperMain())
	case filepath.Base(os.Args[0]) == "minirun-init":
		// `run --init`: this binary, bind-mounted as /sbin/minirun-init, is PID 1.
		os.Exit(namespaces.Reap(os.Args[1:], os.Environ()))
	case filepath.Base(os.Args[0]) == engine.LaunchArgv0:
		// `run -d`: the monitor (C, monitor/monitor.c) starts the container through this.
		os.Exit(engine.LaunchMain(os.Args[1:]))
	case filepath.Base(os.Args[0]) == engine.ExitArgv0:
		// `run -d`: the monitor runs this when the container has exited.
		os.Exit(engine.MonitorExitMain(os.Args[1:]))
	}
	root := newRootCommand(hotCommand(os.Args[1:]))
	err := root.Execute()
	trace.Flush() // the children's last steps
	os.Exit(exitCode(err))
}

// exitCode follows Docker: 125 when minirun itself failed, 126 when the
// command cannot be executed, 127 when it is not found, and otherwise the
// container's own code (carried by exitError).
// The error goes to stderr and to the --log file: where containerd's shim
// looks.
func exitCode(err error) int { return ocicmd.Exit(err, engine.ExitCode) }

// exitError carries a container's exit code through cobra untouched.
type exitError = ocicmd.ExitError

// globals are the flags every command shares (runc's global flags).
type globals struct {
	root, dataRoot, log, logFormat string
	debug, systemdCgroup           bool
	configFile                     string // the configuration file read, "" if none
	logLevel                       string
	flags                          *pflag.FlagSet // the global flags, to tell set ones (config.go)
	resolved                       bool
	resolveErr                     error
}

func (g *globals) engine() *engine.Engine {
	_ = g.resolve() // completions run no PersistentPreRunE; an error shows there
	return engine.New(g.root, g.dataRoot)
}
