package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/image"
)

// Shell completion of the names a command takes: cobra's generated
// scripts (minirun completion bash|zsh|fish) call `minirun __complete ...`,
// which runs these with the command line's --root and --data-root.

type completeFunc = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)

// completeNames offers list()'s names that start with what is typed;
// each only once per command line, and only for the first argument when
// the command takes one (max 1).
func completeNames(list func() ([]string, error), max int) completeFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if max > 0 && len(args) >= max {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
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

// containerNames lists the containers' names (running ones only unless all).
func containerNames(g *globals, all bool) func() ([]string, error) {
	return func() ([]string, error) {
		list, err := g.engine().List(all)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, s := range list {
			out = append(out, s.Names)
		}
		return out, nil
	}
}

// completeContainers completes one container name as the first argument.
func completeContainers(g *globals, all bool) completeFunc {
	return completeNames(containerNames(g, all), 1)
}

// completeContainerList completes any number of container names.
func completeContainerList(g *globals, all bool) completeFunc {
	return completeNames(containerNames(g, all), 0)
}

func imageNames(g *globals) func() ([]string, error) {
	return func() ([]string, error) {
		store, err := g.engine().Images()
		if err != nil {
			return nil, err
		}
		imgs, err := store.List()
		if err != nil {
			return nil, err
		}
		var out []string
		for _, img := range imgs {
			if img.Ref != "" {
				out = append(out, image.FamiliarRef(img.Ref))
			}
		}
		return out, nil
	}
}

func networkNames(g *globals) func() ([]string, error) {
	return func() ([]string, error) {
		nets, err := g.engine().Networks()
		if err != nil {
			return nil, err
		}
		var out []string
		for _, n := range nets {
			out = append(out, n.Name)
		}
		return out, nil
	}
}

func volumeNames(g *globals) func() ([]string, error) {
	return func() ([]string, error) {
		vols, err := g.engine().Volumes()
		if err != nil {
			return nil, err
		}
		var out []string
		for _, v := range vols {
			out = append(out, v.Name)
		}
		return out, nil
	}
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
