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
	set    *pflag.FlagSet
}

func addTraceFlags(pf *pflag.FlagSet) {
	traceFlags.set = pf
	pf.BoolVar(&traceFlags.on, "trace", false, "print each Linux primitive as it happens, with its call, man page and timing, to stderr (env "+trace.Env+"=1)")
	pf.StringVar(&traceFlags.format, "trace-format", "text", "trace format: text or json, one object per line (env "+trace.FormatEnv+"=json)")
}

// enableTrace switches tracing on before the command runs: the flags, or
// else MINIRUN_TRACE and MINIRUN_TRACE_FORMAT.
func enableTrace() error {
	env, envJSON := trace.FromEnv()
	on := traceFlags.on || (env && !traceFlags.set.Changed("trace"))
	format := traceFlags.format
	if envJSON && !traceFlags.set.Changed("trace-format") {
		format = "json"
	}
	if format != "text" && format != "json" {
		return fmt.Errorf("--trace-format %q: use text or json", format)
	}
	if on {
		trace.Enable(os.Stderr, format == "json", format == "text" && trace.ColorFor(os.Stderr))
	}
	return nil
}
