package engine

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/minirun/minirun/network"
)

// PortSpec is one published port, as `-p` gives it: host address and port
// (0 = let minirun pick a free one), container port and protocol.
type PortSpec struct {
	HostIP        string `json:"hostIP,omitempty"` // "" = every address of the host
	HostPort      uint16 `json:"hostPort"`
	ContainerPort uint16 `json:"containerPort"`
	Proto         string `json:"proto"` // tcp or udp
}

// String is Docker's PORTS column form, 0.0.0.0:8080->80/tcp.
func (p PortSpec) String() string {
	ip := p.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	return fmt.Sprintf("%s:%d->%d/%s", ip, p.HostPort, p.ContainerPort, p.Proto)
}

// ParsePublish parses one -p value, Docker's syntax:
//
//	[[HOST_IP:][HOST_PORT]:]CONTAINER_PORT[/PROTO]
//
// where either port may be a range (8080-8082), both ranges of the same
// length. HOST_PORT empty or absent means "pick a free port".
func ParsePublish(s string) ([]PortSpec, error) {
	bad := func(why string) error {
		return fmt.Errorf("invalid -p %q: %s (want [[HOST_IP:][HOST_PORT]:]CONTAINER_PORT[/tcp|udp], e.g. 8080:80 or 127.0.0.1:8080:80/udp)", s, why)
	}
	rest, proto, hasProto := strings.Cut(s, "/")
	if !hasProto {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" {
		if proto == "sctp" {
			return nil, bad("sctp is not supported, only tcp and udp")
		}
		return nil, bad(fmt.Sprintf("unknown protocol %q", proto))
	}
	if strings.HasPrefix(rest, "[") {
		return nil, bad("IPv6 host addresses are not supported (networks are IPv4)")
	}
	var hostIP, hostPorts, ctrPorts string
	parts := strings.Split(rest, ":")
	switch len(parts) {
	case 1:
		ctrPorts = parts[0]
	case 2:
		hostPorts, ctrPorts = parts[0], parts[1]
	case 3:
		hostIP, hostPorts, ctrPorts = parts[0], parts[1], parts[2]
	default:
		return nil, bad("too many ':'")
	}
	if hostIP != "" {
		a, err := netip.ParseAddr(hostIP)
		if err != nil || !a.Is4() {
			return nil, bad(fmt.Sprintf("host address %q is not an IPv4 address", hostIP))
		}
		if a.IsUnspecified() {
			hostIP = ""
		} else {
			hostIP = a.String()
		}
	}
	cLo, cHi, err := parsePortRange(ctrPorts)
	if err != nil {
		return nil, bad("container port: " + err.Error())
	}
	var hLo, hHi uint16
	if hostPorts != "" {
		if hLo, hHi, err = parsePortRange(hostPorts); err != nil {
			return nil, bad("host port: " + err.Error())
		}
		if hHi-hLo != cHi-cLo {
			return nil, bad("the host and container port ranges differ in length")
		}
	}
	var out []PortSpec
	for i := 0; i <= int(cHi-cLo); i++ {
		p := PortSpec{HostIP: hostIP, ContainerPort: cLo + uint16(i), Proto: proto}
		if hostPorts != "" {
			p.HostPort = hLo + uint16(i)
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePortRange(s string) (lo, hi uint16, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = parsePort(a); err != nil {
		return 0, 0, err
	}
	hi = lo
	if isRange {
		if hi, err = parsePort(b); err != nil {
			return 0, 0, err
		}
		if hi < lo {
			return 0, 0, fmt.Errorf("range %s runs backwards", s)
		}
	}
	return lo, hi, nil
}

func parsePort(s string) (uint16, error) {
	if s == "" {
		return 0, errors.New("missing port number")
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a port number (1-65535)", s)
	}
	return uint16(n), nil
}

// ParseExposed parses an image's ExposedPorts key or --expose value:
// 80, 80/tcp, 53/udp, 8000-8002.
func ParseExposed(s string) ([]PortSpec, error) {
	port, proto, ok := strings.Cut(s, "/")
	if !ok {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return nil, fmt.Errorf("invalid exposed port %q: protocol must be tcp or udp", s)
	}
	lo, hi, err := parsePortRange(port)
	if err != nil {
		return nil, fmt.Errorf("invalid exposed port %q: %v", s, err)
	}
	var out []PortSpec
	for p := int(lo); p <= int(hi); p++ {
		out = append(out, PortSpec{ContainerPort: uint16(p), Proto: proto})
	}
	return out, nil
}

// checkHostPorts makes sure every host port can be had: no other
// container publishes it (that is the firewall's table, the single
// source of truth) and no program on the host listens on it. Ports given
// as 0 get a free port picked by the kernel (bind to port 0, like Docker's
// ephemeral range). It returns the ports with every HostPort filled in.
func checkHostPorts(ports []PortSpec, published map[string][]network.PortRule) ([]PortSpec, error) {
	out := make([]PortSpec, len(ports))
	copy(out, ports)
	taken := func(p PortSpec) string {
		for owner, rules := range published {
			for _, r := range rules {
				if r.Proto == p.Proto && r.HostPort == p.HostPort &&
					(!r.HostIP.IsValid() || p.HostIP == "" || r.HostIP.String() == p.HostIP) {
					return fmt.Sprintf("port %d/%s is already published by container %s", p.HostPort, p.Proto, ShortID(owner))
				}
			}
		}
		return ""
	}
	seen := map[string]bool{}
	for i := range out {
		p := &out[i]
		if p.HostPort != 0 {
			key := fmt.Sprintf("%d/%s", p.HostPort, p.Proto)
			if seen[key] {
				return nil, fmt.Errorf("port %s is published twice in this command", key)
			}
			seen[key] = true
			if why := taken(*p); why != "" {
				return nil, errors.New(why + ": choose another host port, or stop that container")
			}
			if err := probePort(p.HostIP, p.HostPort, p.Proto); err != nil {
				return nil, err
			}
			continue
		}
		for try := 0; ; try++ {
			port, err := freePort(p.HostIP, p.Proto)
			if err != nil {
				return nil, err
			}
			key := fmt.Sprintf("%d/%s", port, p.Proto)
			q := *p
			q.HostPort = port
			if !seen[key] && taken(q) == "" {
				seen[key] = true
				p.HostPort = port
				break
			}
			if try > 100 {
				return nil, fmt.Errorf("found no free host port for %d/%s", p.ContainerPort, p.Proto)
			}
		}
	}
	return out, nil
}

// probePort binds the host port for a moment: if a program on the host
// already listens there (or the address is not one of the host's), the
// container could never get that traffic, so `run` refuses as Docker
// does.
func probePort(hostIP string, port uint16, proto string) error {
	addr := net.JoinHostPort(hostIP, strconv.Itoa(int(port)))
	if hostIP == "" {
		addr = ":" + strconv.Itoa(int(port))
	}
	var err error
	if proto == "udp" {
		var c net.PacketConn
		if c, err = net.ListenPacket("udp4", addr); err == nil {
			c.Close()
		}
	} else {
		var l net.Listener
		if l, err = net.Listen("tcp4", addr); err == nil {
			l.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("cannot publish %s/%s: %w: another program on the host uses this port, or the address is not one of the host's", addr, proto, unwrapSyscall(err))
	}
	return nil
}

// freePort asks the kernel for a free port (bind to port 0).
func freePort(hostIP, proto string) (uint16, error) {
	addr := net.JoinHostPort(hostIP, "0")
	if proto == "udp" {
		c, err := net.ListenPacket("udp4", addr)
		if err != nil {
			return 0, fmt.Errorf("pick a free %s port on %q: %w", proto, hostIP, err)
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return 0, fmt.Errorf("pick a free %s port on %q: %w", proto, hostIP, err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

func unwrapSyscall(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// portRules turns published ports into the firewall's DNAT rules towards
// the container's address.
func portRules(ports []PortSpec, ctrIP netip.Addr) []network.PortRule {
	var out []network.PortRule
	for _, p := range ports {
		r := network.PortRule{Proto: p.Proto, HostPort: p.HostPort, ContainerIP: ctrIP, ContainerPort: p.ContainerPort}
		if p.HostIP != "" {
			r.HostIP = netip.MustParseAddr(p.HostIP)
		}
		out = append(out, r)
	}
	return out
}

// sortPorts orders ports for display.
func sortPorts(ps []PortSpec) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].ContainerPort != ps[j].ContainerPort {
			return ps[i].ContainerPort < ps[j].ContainerPort
		}
		return ps[i].Proto < ps[j].Proto
	})
}

// checkNetwork validates the network flags before anything is created.
func (o *RunOptions) checkNetwork() error {
	if strings.HasPrefix(o.Network, "container:") && strings.TrimPrefix(o.Network, "container:") == "" {
		return fmt.Errorf("invalid --network %q: want container:NAME", o.Network)
	}
	bridge := o.Network != "none" && o.Network != "host" && !strings.HasPrefix(o.Network, "container:")
	if !bridge && (len(o.NetworkAliases) > 0 || o.IP != "") {
		return fmt.Errorf("--network-alias and --ip need a bridge network, not --network %s", o.Network)
	}
	o.ports = nil
	for _, s := range o.Publish {
		ps, err := ParsePublish(s)
		if err != nil {
			return err
		}
		o.ports = append(o.ports, ps...)
	}
	for _, s := range o.Expose {
		if _, err := ParseExposed(s); err != nil {
			return err
		}
	}
	for _, a := range o.NetworkAliases {
		if !validName(a) {
			return fmt.Errorf("invalid --network-alias %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", a)
		}
	}
	for _, d := range o.DNS.Servers {
		if _, err := netip.ParseAddr(d); err != nil {
			return fmt.Errorf("invalid --dns %q: not an IP address", d)
		}
	}
	for _, h := range o.AddHosts {
		if _, err := parseAddHost(h, "192.0.2.1"); err != nil {
			return err
		}
	}
	return nil
}

// extraHosts resolves --add-host against the network (host-gateway).
func (o *RunOptions) extraHosts(net netMode) ([]string, error) {
	gw := ""
	if net.bridge != nil {
		gw = net.bridge.networks[0].Gateway
	}
	var out []string
	for _, h := range o.AddHosts {
		l, err := parseAddHost(h, gw)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// publishedPorts is -p, plus with -P every port the image exposes (and
// --expose adds) on a host port picked at start.
func (o *RunOptions) publishedPorts(img ocispec.ImageConfig) ([]PortSpec, error) {
	out := append([]PortSpec(nil), o.ports...)
	if !o.PublishAll {
		return out, nil
	}
	var exposed []string
	for k := range img.ExposedPorts {
		exposed = append(exposed, k)
	}
	exposed = append(exposed, o.Expose...)
	have := map[string]bool{}
	for _, p := range out {
		have[fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)] = true
	}
	for _, s := range exposed {
		ps, err := ParseExposed(s)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			key := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
			if !have[key] {
				have[key] = true
				out = append(out, p)
			}
		}
	}
	sortPorts(out)
	return out, nil
}
