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
}
