package main

import (
	"fmt"
	"os"

	"github.com/minirun/minirun/config"
)

// resolve lays the configuration under the flags, once: flag >
// MINIRUN_* environment variable > configuration file > default
// (package config). The engine reads the default subnet and the registry
// mirror from the environment (and hands it to its monitors), so the
// file's values reach it there.
func (g *globals) resolve() error {
	if g.resolved {
		return g.resolveErr
	}
	g.resolved = true
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		g.resolveErr = err
		return err
	}
	if g.flags == nil || !g.flags.Changed("root") {
		g.root = cfg.StateRoot
	}
	if g.flags == nil || !g.flags.Changed("data-root") {
		g.dataRoot = cfg.DataRoot
	}
	g.logLevel = cfg.LogLevel
	if g.flags == nil || !g.flags.Changed("debug") {
		g.debug = cfg.LogLevel == "debug"
	}
	if g.debug {
		g.logLevel = "debug"
	}
	for env, v := range map[string]string{"MINIRUN_DEFAULT_SUBNET": cfg.DefaultSubnet, "MINIRUN_REGISTRY_MIRROR": cfg.RegistryMirror} {
		if v != "" && os.Getenv(env) == "" {
			os.Setenv(env, v)
		}
	}
	g.configFile = cfg.Path
	g.debugf("configuration: file %q, state root %s, data root %s, default subnet %q, registry mirror %q, log level %s",
		cfg.Path, g.root, g.dataRoot, cfg.DefaultSubnet, cfg.RegistryMirror, g.logLevel)
	return nil
}

// debugf prints a debug line on stderr with --debug (or log_level debug).
func (g *globals) debugf(format string, a ...any) {
	if g.debug {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{colour(os.Stderr, "2", "DEBU")}, a...)...)
	}
}
