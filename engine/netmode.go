package engine

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minirun/minirun/container"
)

// netMode is what --network asked for, resolved.
type netMode struct {
	host       bool     // share the host's network namespace
	joinPath   string   // /proc/<pid>/ns/net of another container
	peerBundle string   // that container's bundle (its hosts and resolv.conf)
	hostname   string   // the default hostname this mode implies
	bridge     *netPlan // a bridge network: the container gets eth0 on it
	slirp      bool     // rootless: slirp4netns gives the namespace tap0
}

// networkMode resolves --network: none, host, container:NAME|ID, or the
// name of a bridge network ("" is the default network, "bridge").
func (e *Engine) networkMode(o *RunOptions) (netMode, error) {
	mode := o.Network
	if Rootless() {
		return rootlessNetworkMode(o)
	}
	switch {
	case mode == "none":
		return netMode{}, nil
	case mode == "host":
		h, _ := os.Hostname()
		return netMode{host: true, hostname: h}, nil
	case strings.HasPrefix(mode, "container:"):
		ref := strings.TrimPrefix(mode, "container:")
		m, err := e.Find(ref)
		if err != nil {
			return netMode{}, fmt.Errorf("--network %s: %w", mode, err)
		}
		c, err := e.Runtime.Load(m.ID)
		if err != nil || c.State().Status != container.Running {
			return netMode{}, fmt.Errorf("--network %s: container %s is not running: start it first", mode, ref)
		}
		hn, _ := os.ReadFile(e.bundleDir(m.ID) + "/hostname")
		return netMode{
			joinPath:   "/proc/" + strconv.Itoa(c.Pid()) + "/ns/net",
			peerBundle: e.bundleDir(m.ID),
			hostname:   strings.TrimSpace(string(hn)),
		}, nil
	}
	if mode == "" {
		mode = DefaultNetwork
	}
	n, err := e.network(mode)
	if err != nil {
		return netMode{}, err
	}
	if o.IP != "" {
		a, err := netip.ParseAddr(o.IP)
		if err != nil || !n.prefix().Contains(a) {
			return netMode{}, &UsageError{fmt.Errorf("--ip %s is not an address of network %s (%s)", o.IP, n.Name, n.Subnet)}
		}
	}
	return netMode{bridge: &netPlan{networks: []*Network{n}, aliases: o.NetworkAliases, ip: o.IP}}, nil
}

// apply edits the spec's network namespace: none and bridge keep the new
// one (bridge gets its veth once the namespace exists), host drops it,
// container: joins the other container's.
func (n netMode) apply(s *specs.Spec) {
	var out []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			if n.host {
				continue
			}
			if n.joinPath != "" {
				ns.Path = n.joinPath
			}
		}
		out = append(out, ns)
	}
	s.Linux.Namespaces = out
	if !n.host && n.joinPath == "" {
		ownNetworkSysctls(s)
	}
}

// ownNetworkSysctls are Docker's (20.10+) settings for a container with a
// network namespace of its own — they are per namespace, so they change
// nothing on the host: any user may bind ports below 1024
// (ip_unprivileged_port_start, man 7 ip) and use ICMP echo sockets, ping
// without CAP_NET_RAW (ping_group_range, man 7 icmp); and IPv6 is off,
// as on a Docker network without IPv6 (minirun's networks are IPv4 only;
// default.disable_ipv6 also covers eth0, which comes after init has
// written these). Values the spec already has are kept.
func ownNetworkSysctls(s *specs.Spec) {
	groups := "0 2147483647"
	if len(s.Linux.GIDMappings) > 0 {
		// In a user namespace only mapped groups are valid.
		var n uint32
		for _, m := range s.Linux.GIDMappings {
			if m.ContainerID == 0 {
				n = m.Size
			}
		}
		if n == 0 {
			groups = ""
		} else {
			groups = "0 " + strconv.FormatUint(uint64(n-1), 10)
		}
	}
	if s.Linux.Sysctl == nil {
		s.Linux.Sysctl = map[string]string{}
	}
	for k, v := range map[string]string{
		"net.ipv4.ip_unprivileged_port_start": "0",
		"net.ipv4.ping_group_range":           groups,
		"net.ipv6.conf.all.disable_ipv6":      "1",
		"net.ipv6.conf.default.disable_ipv6":  "1",
	} {
		if _, set := s.Linux.Sysctl[k]; !set && v != "" {
			s.Linux.Sysctl[k] = v
		}
	}
}
