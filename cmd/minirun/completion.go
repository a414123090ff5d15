package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/engine"
	"github.com/minirun/minirun/image"
)

// Shell completion of the names a command takes: cobra's generated
// scripts (minirun completion bash|zsh|fish) call `minirun __complete ...`,
// which runs these with the command line's --root and --data-root.

type completeFunc = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)

// completeNames offers list()'s names that start with what is typed,
// each only once per command line.
func completeNames(list func() ([]string, error)) completeFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		names, err := list()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		given := map[string]bool{}
		for _, a := range args {
			given[a] = true
		}
		var out []string
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) && !given[n] {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// namesOf lists the names of what list returns ("" names are left out).
func namesOf[T any](list func() ([]T, error), name func(T) string) func() ([]string, error) {
	return func() ([]string, error) {
		items, err := list()
		if err != nil {
			return nil, err
		}
		var out []string
		for _, it := range items {
			if n := name(it); n != "" {
				out = append(out, n)
			}
		}
		return out, nil
	}
}

// completeContainerList completes container names (running ones only
// unless all).
func completeContainerList(g *globals, all bool) completeFunc {
	return completeNames(namesOf(func() ([]engine.Summary, error) { return g.engine().List(all) },
		func(s engine.Summary) string { return s.Names }))
}

func imageNames(g *globals) func() ([]string, error) {
	return namesOf(func() ([]image.Image, error) {
		store, err := g.engine().Images()
		if err != nil {
			return nil, err
		}
		return store.List()
	}, func(img image.Image) string {
		if img.Ref == "" {
			return ""
		}
		return image.FamiliarRef(img.Ref)
	})
}

func networkNames(g *globals) func() ([]string, error) {
	return namesOf(func() ([]engine.Network, error) { return g.engine().Networks() },
		func(n engine.Network) string { return n.Name })
}

func volumeNames(g *globals) func() ([]string, error) {
	return namesOf(func() ([]*engine.Volume, error) { return g.engine().Volumes() },
		func(v *engine.Volume) string { return v.Name })
}

// describeCompletion completes the help of cobra's `completion` command.
func describeCompletion(c *cobra.Command) {
	c.Long = `Print the shell completion script for bash, zsh, fish or powershell. It
completes commands, flags, and the names of containers, images, networks and
volumes (asked from minirun itself, with the --root and --data-root given on
the command line). "make install" installs the bash, zsh and fish scripts.`
	c.Example = `  source <(minirun completion bash)
  minirun completion bash > /etc/bash_completion.d/minirun
  minirun completion zsh > "${fpath[1]}/_minirun"
  minirun completion fish > ~/.config/fish/completions/minirun.fish`
	for _, s := range c.Commands() {
		s.Example = "  minirun completion " + s.Name() + " > minirun." + s.Name()
	}
}

// setupCompletion gives every command that takes names their completion,
// by command path (so that the commands' files stay about the commands).
func setupCompletion(root *cobra.Command, g *globals) {
	all := completeContainerList(g, true)
	running := completeContainerList(g, false)
	images := completeNames(imageNames(g))
	networks := completeNames(networkNames(g))
	volumes := completeNames(volumeNames(g))
	first := func(f completeFunc) completeFunc { // the first argument only; then files
		return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveDefault
			}
			return f(c, args, toComplete)
		}
	}
	then := func(a, b completeFunc) completeFunc { // a for the first argument, b for the second
		return func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			switch len(args) {
			case 0:
				return a(c, args, toComplete)
			case 1:
				return b(c, nil, toComplete)
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
	}
	byPath := map[string]completeFunc{
		"run":     first(images),
		"exec":    first(running),
		"inspect": all, "logs": first(all), "stop": running, "restart": all, "wait": all,
		"pause": running, "unpause": all, "top": first(running), "rm": all, "stats": running,
		"kill": first(running), "start": first(all), "state": first(all), "delete": first(all),
		"resume": first(all), "update": first(running), "ps": first(all),
		"rmi": images, "save": images, "image rm": images, "image inspect": images,
		"network rm": networks, "network inspect": networks,
		"network connect": then(networks, all), "network disconnect": then(networks, all),
		"volume rm": volumes, "volume inspect": volumes,
	}
	walkCommands(root, func(c *cobra.Command) {
		path := strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
		if f, ok := byPath[path]; ok && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = f
		}
	})
	if run, _, err := root.Find([]string{"run"}); err == nil && run.Flags().Lookup("network") != nil {
		_ = run.RegisterFlagCompletionFunc("network", func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			names, d := networks(c, nil, toComplete)
			for _, n := range []string{"none", "host"} {
				if strings.HasPrefix(n, toComplete) {
					names = append(names, n)
				}
			}
			return names, d
		})
	}
}

func walkCommands(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, s := range c.Commands() {
		walkCommands(s, fn)
	}
}
