package main

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/minirun/minirun/engine"
)

func newNetworkCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "network",
		Short: "Manage bridge networks (create, ls, inspect, rm, connect, disconnect)",
		Long: `A network is a Linux bridge with a subnet: every container on it gets a veth
pair (one end on the bridge, the other its eth0), an address from the subnet,
a default route via the bridge, outbound NAT, and the names of the other
containers on the network in its /etc/hosts. Networks are isolated from each
other. The default network "bridge" (bridge minirun0) is made on first use.`,
		Example: `  sudo minirun network create backend --subnet 10.90.0.0/24
  sudo minirun run --rm --network backend busybox ip addr`,
	}
	c.AddCommand(newNetworkCreateCommand(g), newNetworkLsCommand(g), newNetworkInspectCommand(g),
		newNetworkRmCommand(g), newNetworkConnectCommand(g), newNetworkDisconnectCommand(g))
	return c
}

func newNetworkCreateCommand(g *globals) *cobra.Command {
	var o engine.NetworkCreateOptions
	var driver string
	c := &cobra.Command{
		Use:   "create [--subnet CIDR] [--gateway IP] NAME",
		Short: "Create a bridge network",
		Example: `  sudo minirun network create backend --subnet 10.90.0.0/24
  sudo minirun network create scratch            # a free /24 of 10.89.0.0/16`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if driver != "bridge" {
				return usageErr(cmd, errorf("unsupported --driver %q: minirun networks are bridges", driver))
			}
			n, err := g.engine().CreateNetwork(args[0], o)
			if err != nil {
				return err
			}
			fmt.Println(n.ID)
			return nil
		},
	}
	f := c.Flags()
	f.SetInterspersed(true)
	f.StringVar(&o.Subnet, "subnet", "", "IPv4 subnet in CIDR form (default: a free /24 of 10.89.0.0/16)")
	f.StringVar(&o.Gateway, "gateway", "", "the bridge's address (default: the subnet's first address)")
	f.StringVarP(&driver, "driver", "d", "bridge", "network driver (only bridge)")
	return c
}

// networkRow is one network of `network ls`: Docker's fields (.ID .Name
// .Driver .Scope .CreatedAt) and minirun's (.Subnet .Gateway .Bridge
// .Containers).
type networkRow struct {
	ID         string `header:"NETWORK ID"`
	Name       string
	Driver     string
	Scope      string
	CreatedAt  string
	Subnet     string
	Gateway    string
	Bridge     string
	Containers int
}

func newNetworkLsCommand(g *globals) *cobra.Command {
	var quiet bool
	var format string
	c := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List networks",
		Example: `  sudo minirun network ls
  sudo minirun network ls --format '{{.Name}} {{.Subnet}}'
  sudo minirun network ls --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e := g.engine()
			nets, err := e.Networks()
			if err != nil {
				return err
			}
			users, err := e.NetworkUsers()
			if err != nil {
				return err
			}
			if quiet {
				for _, n := range nets {
					fmt.Println(engine.ShortID(n.ID))
				}
				return nil
			}
			rows := make([]networkRow, len(nets))
			for i, n := range nets {
				rows[i] = networkRow{ID: engine.ShortID(n.ID), Name: n.Name, Driver: n.Driver, Scope: "local",
					CreatedAt: dockerTime(n.Created), Subnet: n.Subnet, Gateway: n.Gateway, Bridge: n.Bridge, Containers: users[n.Name]}
			}
			return render(format, rows, func(out io.Writer) error {
				w := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
				fmt.Fprintln(w, "NETWORK ID\tNAME\tDRIVER\tSUBNET\tGATEWAY\tBRIDGE\tCONTAINERS")
				for _, r := range rows {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.ID, r.Name, r.Driver, r.Subnet, r.Gateway, r.Bridge, r.Containers)
				}
				fmt.Fprintln(w, "-\thost\thost\t-\t-\t-\t-")
				fmt.Fprintln(w, "-\tnone\tnull\t-\t-\t-\t-")
				return w.Flush()
			})
		},
	}
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show network IDs")
	addFormatFlag(c, &format, false)
	return c
}

func newNetworkInspectCommand(g *globals) *cobra.Command {
	return inspectCommand(&cobra.Command{
		Use:   "inspect [-f FORMAT] NETWORK [NETWORK...]",
		Short: "Show a network and its containers as JSON",
		Example: `  sudo minirun network inspect bridge
  sudo minirun network inspect -f '{{.Subnet}}' bridge`,
	}, func(ref string) (*engine.NetworkInspect, error) { return g.engine().InspectNetwork(ref) })
}

func newNetworkRmCommand(g *globals) *cobra.Command {
	return eachCommand(&cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove networks: their bridge, addresses and firewall rules",
		Example: `  sudo minirun network rm backend`,
	}, func(ref string) error { return g.engine().RemoveNetwork(ref) })
}

func newNetworkConnectCommand(g *globals) *cobra.Command {
	var aliases []string
	var ip string
	c := &cobra.Command{
		Use:     "connect [--alias NAME] [--ip IP] NETWORK CONTAINER",
		Short:   "Connect a running container to one more network (a new ethN)",
		Example: `  sudo minirun network connect backend web`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.engine().Connect(args[0], args[1], aliases, ip)
		},
	}
	c.Flags().StringArrayVar(&aliases, "alias", nil, "another name for the container on this network")
	c.Flags().StringVar(&ip, "ip", "", "a fixed IPv4 address on the network")
	return c
}

func newNetworkDisconnectCommand(g *globals) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:     "disconnect NETWORK CONTAINER",
		Short:   "Disconnect a container from a network",
		Example: `  sudo minirun network disconnect backend web`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.engine().Disconnect(args[0], args[1])
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "accepted for Docker compatibility")
	return c
}

// dfRow is one line of `system df`, with Docker's fields (strings, as the
// table shows them).
type dfRow struct {
	Type        string
	TotalCount  string `header:"TOTAL"`
	Active      string
	Size        string
	Reclaimable string
}

func newSystemCommand(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "system",
		Short: "Manage minirun as a whole",
		Example: `  sudo minirun system df
  sudo minirun system prune -f`,
	}
	var force bool
	prune := &cobra.Command{
		Use:   "prune [-f]",
		Short: "Remove stopped containers and unused networks, and repair leftovers of crashed runs",
		Long: `Remove every stopped container and every user network no container uses, and
repair what a killed minirun left behind: veths, addresses and /etc/hosts
entries of containers that are gone, and their published-port rules.`,
		Example: `  sudo minirun system prune -f`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !force {
				fmt.Fprint(os.Stderr, "WARNING! This will remove all stopped containers and all networks not used by a container.\nAre you sure you want to continue? [y/N] ")
				var answer string
				_, _ = fmt.Scanln(&answer)
				if answer != "y" && answer != "Y" && answer != "yes" {
					return nil
				}
			}
			rep, err := g.engine().SystemPrune()
			if rep != nil {
				printList("Deleted Containers:", rep.Containers)
				printList("Deleted Networks:", rep.Networks)
				printList("Repaired:", rep.Repaired)
			}
			return err
		},
	}
	prune.Flags().BoolVarP(&force, "force", "f", false, "do not ask for confirmation")
	var format string
	df := &cobra.Command{
		Use:   "df",
		Short: "Show disk usage: images, containers' writable layers, volumes",
		Example: `  sudo minirun system df
  sudo minirun system df --format '{{.Type}} {{.Size}}'
  sudo minirun system df --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rows, err := g.engine().DiskUsage()
			if err != nil {
				return err
			}
			out := make([]dfRow, len(rows))
			for i, r := range rows {
				pct := 0
				if r.Size > 0 {
					pct = int(r.Reclaimable * 100 / r.Size)
				}
				out[i] = dfRow{Type: r.Type, TotalCount: fmt.Sprint(r.Total), Active: fmt.Sprint(r.Active), Size: humanSize(r.Size),
					Reclaimable: fmt.Sprintf("%s (%d%%)", humanSize(r.Reclaimable), pct)}
			}
			return render(format, out, func(o io.Writer) error {
				w := tabwriter.NewWriter(o, 0, 0, 3, ' ', 0)
				fmt.Fprintln(w, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
				for _, r := range out {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable)
				}
				return w.Flush()
			})
		},
	}
	addFormatFlag(df, &format, false)
	c.AddCommand(prune, df)
	return c
}

func printList(title string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Println(title)
	for _, i := range items {
		fmt.Println(i)
	}
	fmt.Println()
}
