package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/minirun/minirun/trace"
)

// traceFlags are --trace and --trace-format, global so that run, exec,
// create, start and delete (and every other command) accept them. An
// engine driving the OCI verbs never passes them: nothing changes for it.
var traceFlags struct {
	on     bool
	format string
}

func addTraceFlags(pf *pflag.FlagSet) {
	env, envJSON := trace.FromEnv()
	format := "text"
	if envJSON {
		format = "json"
	}
	pf.BoolVar(&traceFlags.on, "trace", env, "print each Linux primitive as it happens, with its call, man page and timing, to stderr (env "+trace.Env+"=1)")
	pf.StringVar(&traceFlags.format, "trace-format", format, "trace format: text or json, one object per line (env "+trace.FormatEnv+")")
}

// enableTrace switches tracing on before the command runs.
func enableTrace() error {
	if traceFlags.format != "text" && traceFlags.format != "json" {
		return fmt.Errorf("--trace-format %q: use text or json", traceFlags.format)
	}
	if traceFlags.on {
		trace.Enable(os.Stderr, traceFlags.format == "json", traceFlags.format == "text" && trace.ColorFor(os.Stderr))
	}
	return nil
}
