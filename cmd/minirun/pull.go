package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/minirun/minirun/image"
)

func newPullCommand(g *globals) *cobra.Command {
	var o image.PullOptions
	var quiet bool
	c := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry into the local store",
		Example: `  sudo minirun pull alpine:3.20
  sudo minirun pull ghcr.io/org/app@sha256:...
  sudo minirun pull --platform linux/arm64 alpine`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
			defer stop()
			if !quiet {
				o.Progress = image.NewProgress(os.Stdout, term.IsTerminal(int(os.Stdout.Fd())))
			}
			if o.Mirror == "" {
				o.Mirror = os.Getenv("MINIRUN_REGISTRY_MIRROR")
			}
			store, err := g.engine().Images()
			if err != nil {
				return err
			}
			img, err := store.Pull(ctx, args[0], o)
			if err != nil {
				return err
			}
			if quiet {
				fmt.Println(img.Ref)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.Platform, "platform", "", "os/arch[/variant] to pull from a multi-platform image (default: this host's)")
	f.StringVar(&o.Mirror, "registry-mirror", "", "a mirror to try first for Docker Hub images (env MINIRUN_REGISTRY_MIRROR)")
	f.BoolVar(&o.Insecure, "insecure", false, "allow plain HTTP to the registry (always allowed for localhost)")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only the image reference")
	return c
}

func newLoginCommand(g *globals) *cobra.Command {
	var user, password string
	var passwordStdin bool
	c := &cobra.Command{
		Use:   "login [OPTIONS] [REGISTRY]",
		Short: "Log in to a registry (credentials go to the Docker config file, ~/.docker/config.json)",
		Example: `  echo "$TOKEN" | sudo minirun login -u me --password-stdin ghcr.io
  sudo minirun login registry.example.com`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			registry := ""
			if len(args) == 1 {
				registry = args[0]
			}
			if passwordStdin {
				b, err := readAllTrim(os.Stdin)
				if err != nil {
					return err
				}
				password = b
			}
			if user == "" || password == "" {
				if !term.IsTerminal(int(os.Stdin.Fd())) {
					return errorf("login: give -u USER and --password-stdin (or run it at a terminal to be asked)")
				}
				if user == "" {
					fmt.Fprint(os.Stderr, "Username: ")
					fmt.Scanln(&user)
				}
				if password == "" {
					fmt.Fprint(os.Stderr, "Password: ")
					b, err := term.ReadPassword(int(os.Stdin.Fd()))
					fmt.Fprintln(os.Stderr)
					if err != nil {
						return err
					}
					password = string(b)
				}
			}
			key, err := image.Login(cmd.Context(), registry, user, password)
			if err != nil {
				return err
			}
			fmt.Printf("Login Succeeded (%s, stored in %s)\n", key, image.DockerConfigPath())
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&user, "username", "u", "", "user name")
	f.StringVarP(&password, "password", "p", "", "password (prefer --password-stdin: a password on the command line shows in ps)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	return c
}

func newLogoutCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "logout [REGISTRY]",
		Short:   "Remove a registry's credentials from the Docker config file",
		Example: `  sudo minirun logout ghcr.io`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			registry := ""
			if len(args) == 1 {
				registry = args[0]
			}
			key, err := image.Logout(registry)
			if err != nil {
				return err
			}
			fmt.Printf("Removing login credentials for %s\n", key)
			return nil
		},
	}
}
