package main

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/affinity"
	"github.com/minirun/minirun/config"
	"github.com/minirun/minirun/container"
	"github.com/minirun/minirun/ocicmd"
	"github.com/minirun/minirun/timerslack"
	"github.com/minirun/minirun/trace"
)

// The fast path of the runc verbs. Container engines run minirun for
// create, start, state, kill and delete (and runc-style `run --bundle`)
// hundreds of times; each of those starts a Go program, and minirun's is
// large (the whole command line, images, registry, TLS, networks): about
// 3.4 ms of CPU and 10 MiB before it does anything here. So minirun hands
// such a command line over, before its Go runtime starts: a C constructor
// (cmd/minirun/frontdoor) executes this program, which is package container
// and package ocicmd linked alone, with _MINIRUN_FRONT naming minirun. This
// file parses the command line as minirun does, runs the verb through the
// same functions (ocicmd), and for anything it does not know hands the
// command line back to minirun untouched (_MINIRUN_FULL set, so that the
// constructor lets minirun run it): --help, a flag it does not parse, a
// wrong number of arguments, a container of `minirun run` (kill's Docker
// semantics), --debug or tracing, rootless mode, a configuration error.
// minirun then gives its own answer, so both paths answer alike.

const (
	frontEnv = "_MINIRUN_FRONT" // set by frontdoor.c: the minirun that handed over
	fullEnv  = "_MINIRUN_FULL"  // for frontdoor.c: let minirun run this one itself
	// procsEnv: frontdoor.c set GOMAXPROCS=1 for this process alone.
	procsEnv = "_MINIRUN_FRONT_PROCS"
)

// front runs a command line minirun handed over, and exits; in any other
// process it returns at once.
func front() {
	minirun, ok := os.LookupEnv(frontEnv)
	if !ok {
		return
	}
	os.Unsetenv(frontEnv)
	if os.Getenv(procsEnv) == "1" {
		// The runtime has read it; no child (hooks, minirun when handed
		// back, the container) is to inherit it.
		os.Unsetenv("GOMAXPROCS")
		os.Unsetenv(procsEnv)
	}
	if s, ok := os.LookupEnv(affinity.Env); ok {
		// frontdoor.c pinned this process to one CPU; what it starts
		// but init gets the set it had before.
		os.Unsetenv(affinity.Env)
		if set, err := affinity.Decode(s); err == nil {
			affinity.SetRelease(set)
		} else {
			affinity.ReleaseToAll() // what it had is lost: every CPU
		}
	}
	// timerslack.c raised this process's timer slack; what it starts gets
	// the caller's back.
	timerslack.TakeEnv()
	stamp := os.Getenv(container.StampEnv)
	os.Unsetenv(container.StampEnv)
	if stamp == container.BuildStamp {
		if code, ok := frontMain(os.Args[1:]); ok {
			os.Exit(code)
		}
	}
	// Back to minirun, with the same arguments. argv[0] is minirun's path:
	// minirun reads some names there (minirun-init, its reaper).
	err := container.Released(func() error {
		return unix.Exec(minirun, append([]string{minirun}, os.Args[1:]...), append(os.Environ(), fullEnv+"=1"))
	})
	os.Exit(ocicmd.Fail(err, 125))
}

// globalFlag reports how runc's global flag a is taken: with a value
// (--root DIR), alone (--systemd-cgroup), or not at all (false).
func globalFlag(a string) (name string, value, known bool) {
	name, _, _ = strings.Cut(a, "=")
	switch name {
	case "--root", "--data-root", "--log", "--log-format":
		return name, true, true
	case "--systemd-cgroup":
		return name, false, a == name
	}
	return name, false, false
}

// frontMain runs args when it is a command line this fast path knows:
// [GLOBAL FLAGS] VERB [VERB FLAGS AND ARGUMENTS]. ok false: it ran nothing.
func frontMain(args []string) (code int, ok bool) {
	if os.Geteuid() != 0 {
		return 0, false // rootless mode: minirun's own path
	}
	if on, _ := trace.FromEnv(); on {
		return 0, false
	}
	flags := map[string]string{}
	i := 0
	// take reads the value of a flag, given as --name=value or --name value.
	take := func(a string) (string, bool) {
		if _, v, ok := strings.Cut(a, "="); ok {
			return v, true
		}
		if i+1 < len(args) {
			i++
			return args[i], true
		}
		return "", false
	}
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		name, value, known := globalFlag(args[i])
		if !known {
			return 0, false
		}
		v := ""
		if value {
			var ok bool
			if v, ok = take(args[i]); !ok {
				return 0, false
			}
		}
		flags[name] = v
	}
	if i == len(args) {
		return 0, false
	}
	verb := args[i]
	var pos []string
	for i++; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		name, _, hasValue := strings.Cut(a, "=")
		switch {
		case verbTakesValue(verb, name):
			v, ok := take(a)
			if !ok {
				return 0, false
			}
			flags[name] = v
		case verbTakesBool(verb, name) && !hasValue:
			flags[name] = "true"
		default:
			return 0, false // --help, a typo, a flag only minirun parses
		}
	}
	if f := flags["--log-format"]; f != "" && f != "text" && f != "json" {
		return 0, false
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil || cfg.LogLevel == "debug" {
		return 0, false
	}
	root, set := flags["--root"]
	if !set {
		root = cfg.StateRoot
	}
	dataRoot, set := flags["--data-root"]
	if !set {
		dataRoot = cfg.DataRoot
	}
	format := flags["--log-format"]
	if format == "" {
		format = "text"
	}
	run := func(err error) (int, bool) { return ocicmd.Exit(err, container.ExitCode), true }
	if err := ocicmd.OpenLog(flags["--log"], format); err != nil {
		return 0, false
	}
	create := ocicmd.CreateFlags{PidFile: flags["--pid-file"], ConsoleSocket: flags["--console-socket"], NoPivot: flags["--no-pivot"] != ""}
	bundle := firstSet(flags, "--bundle", "-b")
	switch {
	case len(pos) == 1 && verb == "create":
		return run(ocicmd.Create(root, pos[0], bundle, create))
	case len(pos) == 1 && verb == "run" && (flags["--bundle"] != "" || flags["-b"] != ""):
		return run(ocicmd.Run(root, pos[0], bundle, create))
	case len(pos) == 1 && verb == "start":
		return run(ocicmd.Start(root, pos[0]))
	case len(pos) == 1 && verb == "state":
		return run(ocicmd.State(root, pos[0], os.Stdout))
	case len(pos) == 1 && verb == "delete":
		return run(ocicmd.Delete(root, pos[0], firstSet(flags, "--force", "-f") != ""))
	case (len(pos) == 1 || len(pos) == 2) && verb == "kill":
		// A container of `minirun run` is killed with Docker's semantics
		// (SIGKILL by default, no signal 0): minirun's own kill.
		if engineContainer(dataRoot, pos[0]) {
			return 0, false
		}
		sig := unix.SIGTERM
		if len(pos) == 2 {
			var err error
			if sig, err = ocicmd.KillSignal(pos[1]); err != nil {
				return 0, false
			}
		}
		return run(ocicmd.Kill(root, pos[0], sig, firstSet(flags, "--all", "-a") != ""))
	}
	return 0, false
}

// The flags of the verbs this fast path runs, as minirun's command line
// defines them (cmd/minirun: create.go, run.go, delete.go, kill.go).
func verbTakesValue(verb, name string) bool {
	switch name {
	case "--bundle", "-b", "--pid-file", "--console-socket":
		return verb == "create" || verb == "run"
	}
	return false
}

func verbTakesBool(verb, name string) bool {
	switch name {
	case "--no-pivot", "--no-new-keyring":
		return verb == "create" || verb == "run"
	case "--force", "-f":
		return verb == "delete"
	case "--all", "-a":
		return verb == "kill"
	}
	return false
}

func firstSet(flags map[string]string, names ...string) string {
	for _, n := range names {
		if v := flags[n]; v != "" {
			return v
		}
	}
	return ""
}

// engineContainer reports whether ref may name a container of `minirun
// run` (an ID, an ID prefix of 3 or more characters, or a name), as
// engine.Find would find it, from the names of the data root's
// directories alone; when it cannot tell, it says yes.
func engineContainer(dataRoot, ref string) bool {
	if _, err := os.Lstat(filepath.Join(dataRoot, "names", ref)); err == nil || !os.IsNotExist(err) {
		return true
	}
	entries, err := os.ReadDir(filepath.Join(dataRoot, "containers"))
	if err != nil {
		return !os.IsNotExist(err)
	}
	for _, e := range entries {
		if e.Name() == ref || (len(ref) >= 3 && strings.HasPrefix(e.Name(), ref)) {
			return true
		}
	}
	return false
}
