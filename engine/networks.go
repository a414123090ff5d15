package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/atomicfile"
	"github.com/minirun/minirun/network"
)

// Network is one minirun network: a Linux bridge, its subnet and
// gateway, kept in <data>/networks/<name>.json. The bridge and the
// firewall rules are kernel state and are (re)made from this file.
type Network struct {
	Name    string    `json:"Name"`
	ID      string    `json:"Id"`
	Driver  string    `json:"Driver"` // always "bridge"
	Bridge  string    `json:"Bridge"` // the Linux bridge, e.g. minirun0
	Subnet  string    `json:"Subnet"`
	Gateway string    `json:"Gateway"` // the bridge's address
	Created time.Time `json:"Created"`
}

// DefaultNetwork is the network `run` uses without --network: Docker's
// "bridge", on the bridge minirun0.
const DefaultNetwork = "bridge"

// DefaultBridge is the default network's bridge (MINIRUN_DEFAULT_BRIDGE
// overrides it, so that tests never touch a user's minirun0).
func DefaultBridge() string {
	if b := os.Getenv("MINIRUN_DEFAULT_BRIDGE"); b != "" {
		return b
	}
	return "minirun0"
}

// defaultSubnets are tried in order for the default network, the first
// that overlaps no route of the host wins. They avoid 192.168.0.0/16 and
// 10.0.0.0/16, 10.1.0.0/16 and 172.16.0.0/12 (home routers, office LANs,
// VPNs and Docker); MINIRUN_DEFAULT_SUBNET sets one explicitly.
var defaultSubnets = []string{"10.88.0.0/16", "10.87.0.0/16", "10.86.0.0/16", "10.85.0.0/16"}

// userSubnetPool is where `network create` without --subnet takes a /24.
const userSubnetPool = "10.89.0.0/16"

// firewall is minirun's nftables table; MINIRUN_NFT_TABLE renames it (for
// tests, next to a user's real table).
func (e *Engine) firewall() network.Firewall {
	t := os.Getenv("MINIRUN_NFT_TABLE")
	if t == "" {
		t = "minirun"
	}
	return network.Firewall{Table: t, LockPath: filepath.Join(e.netDir(), "firewall.lock")}
}

func (e *Engine) netDir() string { return filepath.Join(e.DataRoot, "networks") }

func (e *Engine) ipam(n *Network) (*network.IPAM, error) {
	return network.OpenIPAM(filepath.Join(e.netDir(), "ipam"), n.Name, netip.MustParsePrefix(n.Subnet))
}

func (n *Network) rules() network.NetworkRules {
	return network.NetworkRules{Name: n.Name, Bridge: n.Bridge, Subnet: netip.MustParsePrefix(n.Subnet)}
}

func (n *Network) prefix() netip.Prefix { return netip.MustParsePrefix(n.Subnet) }

// lockFile takes an exclusive flock(2) on path (created if missing) and
// returns the function that drops it.
func lockFile(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// validNetworkName: the same characters as container names, and none of
// the words --network gives a meaning to.
func validNetworkName(name string) error {
	if !validName(name) || len(name) > 64 {
		return fmt.Errorf("invalid network name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-], at most 64 characters", name)
	}
	if name == "host" || name == "none" || name == "default" {
		return fmt.Errorf("network name %q is reserved (--network %s has its own meaning)", name, name)
	}
	return nil
}

// NetworkCreateOptions are `network create`'s flags.
type NetworkCreateOptions struct {
	Subnet  string // CIDR; "" picks a free /24 of 10.89.0.0/16
	Gateway string // "" is the subnet's first address
}

// CreateNetwork is `minirun network create`: it records the network and
// brings up its bridge and firewall rules.
func (e *Engine) CreateNetwork(name string, o NetworkCreateOptions) (*Network, error) {
	if Rootless() {
		return nil, &UsageError{errRootlessBridge}
	}
	if err := validNetworkName(name); err != nil {
		return nil, &UsageError{err}
	}
	unlock, err := lockFile(filepath.Join(e.netDir(), "networks.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := e.readNetwork(name); err == nil {
		return nil, &UsageError{fmt.Errorf("network with name %s already exists", name)}
	}
	id := newID()
	n := &Network{Name: name, ID: id, Driver: "bridge", Bridge: "mr-" + id[:12], Created: time.Now().UTC()}
	if err := e.pickSubnet(n, o.Subnet, o.Gateway, []string{userSubnetPool}, 24); err != nil {
		return nil, err
	}
	if err := e.writeNetwork(n); err != nil {
		return nil, err
	}
	if err := e.bringUp(n); err != nil {
		_ = e.tearDown(n)
		_ = os.Remove(e.networkPath(name))
		return nil, err
	}
	return n, nil
}

// network returns a network by name or ID (prefix), creating the default
// network on first use, and makes sure its bridge and rules exist (they
// are kernel state and vanish on reboot).
func (e *Engine) network(ref string) (*Network, error) {
	n, err := e.findNetwork(ref)
	if errors.Is(err, errNoSuchNetwork) && ref == DefaultNetwork {
		n, err = e.createDefaultNetwork()
	}
	if err != nil {
		return nil, err
	}
	if err := e.bringUp(n); err != nil {
		return nil, err
	}
	return n, nil
}

func (e *Engine) createDefaultNetwork() (*Network, error) {
	unlock, err := lockFile(filepath.Join(e.netDir(), "networks.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if n, err := e.readNetwork(DefaultNetwork); err == nil {
		return n, nil // another process made it meanwhile
	}
	n := &Network{Name: DefaultNetwork, ID: newID(), Driver: "bridge", Bridge: DefaultBridge(), Created: time.Now().UTC()}
	want := defaultSubnets
	if s := os.Getenv("MINIRUN_DEFAULT_SUBNET"); s != "" {
		want = []string{s}
	}
	if err := e.pickSubnet(n, "", "", want, 0); err != nil {
		return nil, err
	}
	return n, e.writeNetwork(n)
}

// pickSubnet sets n's subnet and gateway: the one asked for (which must
// not overlap a host route or another network), or the first free block
// of the candidates (a /24 of a larger pool for user networks).
func (e *Engine) pickSubnet(n *Network, subnet, gateway string, candidates []string, blockBits int) error {
	routes, err := hostRoutes()
	if err != nil {
		return err
	}
	nets, err := e.Networks()
	if err != nil {
		return err
	}
	overlap := func(p netip.Prefix) string {
		for _, o := range nets {
			if o.prefix().Overlaps(p) {
				return fmt.Sprintf("network %s (%s)", o.Name, o.Subnet)
			}
		}
		for _, r := range routes {
			if r.prefix.Overlaps(p) {
				return fmt.Sprintf("the host route %s dev %s", r.prefix, r.dev)
			}
		}
		return ""
	}
	if subnet != "" {
		p, err := netip.ParsePrefix(subnet)
		if err != nil || !p.Addr().Is4() {
			return &UsageError{fmt.Errorf("invalid --subnet %q: want an IPv4 CIDR such as 10.90.0.0/24", subnet)}
		}
		if p != p.Masked() {
			return &UsageError{fmt.Errorf("invalid --subnet %q: host bits are set; did you mean %s?", subnet, p.Masked())}
		}
		if p.Bits() > 30 || p.Bits() < 8 {
			return &UsageError{fmt.Errorf("invalid --subnet %q: the prefix length must be between /8 and /30", subnet)}
		}
		if what := overlap(p); what != "" {
			return &UsageError{fmt.Errorf("subnet %s overlaps %s: choose another --subnet", p, what)}
		}
		n.Subnet = p.String()
	} else {
		for _, c := range candidates {
			pool := netip.MustParsePrefix(c)
			size := pool.Bits()
			if blockBits > size {
				size = blockBits
			}
			for a := pool.Addr(); pool.Contains(a); {
				p := netip.PrefixFrom(a, size)
				if overlap(p) == "" {
					n.Subnet = p.String()
					break
				}
				next, ok := nextBlock(p)
				if !ok {
					break
				}
				a = next
			}
			if n.Subnet != "" {
				break
			}
		}
		if n.Subnet == "" {
			return fmt.Errorf("no free subnet for network %s among %s: every block overlaps a host route or another network; give --subnet", n.Name, strings.Join(candidates, ", "))
		}
	}
	p := netip.MustParsePrefix(n.Subnet)
	gw := p.Addr().Next()
	if gateway != "" {
		g, err := netip.ParseAddr(gateway)
		if err != nil || !p.Contains(g) || g == p.Addr() {
			return &UsageError{fmt.Errorf("invalid --gateway %q: want an address inside %s", gateway, p)}
		}
		gw = g
	}
	n.Gateway = gw.String()
	return nil
}

// nextBlock is the block of the same size right after p.
func nextBlock(p netip.Prefix) (netip.Addr, bool) {
	b := p.Addr().As4()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	step := uint32(1) << (32 - p.Bits())
	if n+step < n {
		return netip.Addr{}, false
	}
	n += step
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

type hostRoute struct {
	prefix netip.Prefix
	dev    string
}

// hostRoutes lists the host's IPv4 routes except the default route and
// the routes of minirun's own bridges (those are checked as networks).
func hostRoutes() ([]hostRoute, error) {
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list the host's routes: %w", err)
	}
	var out []hostRoute
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		if ones == 0 {
			continue
		}
		a, ok := netip.AddrFromSlice(r.Dst.IP.To4())
		if !ok {
			continue
		}
		dev := ""
		if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
			dev = l.Attrs().Name
		}
		out = append(out, hostRoute{prefix: netip.PrefixFrom(a, ones).Masked(), dev: dev})
	}
	return out, nil
}

func (e *Engine) networkPath(name string) string {
	return filepath.Join(e.netDir(), name+".json")
}

var errNoSuchNetwork = errors.New("no such network")

func (e *Engine) readNetwork(name string) (*Network, error) {
	b, err := os.ReadFile(e.networkPath(name))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%w: %s", errNoSuchNetwork, name)
		}
		return nil, err
	}
	var n Network
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("network %s: %s is corrupt (%v): remove the file and create the network again", name, e.networkPath(name), err)
	}
	if _, err := netip.ParsePrefix(n.Subnet); err != nil {
		return nil, fmt.Errorf("network %s: %s has a bad subnet %q", name, e.networkPath(name), n.Subnet)
	}
	return &n, nil
}

func (e *Engine) writeNetwork(n *Network) error {
	b, _ := json.MarshalIndent(n, "", "  ")
	if err := os.MkdirAll(e.netDir(), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(e.networkPath(n.Name), b, 0o600)
}

// Networks lists the networks, by name.
func (e *Engine) Networks() ([]Network, error) {
	ents, err := os.ReadDir(e.netDir())
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []Network
	for _, ent := range ents {
		name, ok := strings.CutSuffix(ent.Name(), ".json")
		if !ok || ent.IsDir() {
			continue
		}
		if n, err := e.readNetwork(name); err == nil {
			out = append(out, *n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// findNetwork resolves a name, a full ID or a unique ID prefix.
func (e *Engine) findNetwork(ref string) (*Network, error) {
	if n, err := e.readNetwork(ref); err == nil || !errors.Is(err, errNoSuchNetwork) {
		return n, err
	}
	nets, err := e.Networks()
	if err != nil {
		return nil, err
	}
	var hits []Network
	for _, n := range nets {
		if len(ref) >= 3 && strings.HasPrefix(n.ID, ref) {
			hits = append(hits, n)
		}
	}
	if len(hits) == 1 {
		return &hits[0], nil
	}
	if len(hits) > 1 {
		return nil, fmt.Errorf("network ID prefix %q is ambiguous: give more characters", ref)
	}
	return nil, fmt.Errorf("%w: %s (minirun network ls lists them; minirun network create %s makes it)", errNoSuchNetwork, ref, ref)
}

// bringUp makes the network's kernel state: the bridge with the gateway
// address, and the network's rules in minirun's nftables table (which
// also turns on ip_forward). Both steps are idempotent.
func (e *Engine) bringUp(n *Network) error {
	p := n.prefix()
	gw := &net.IPNet{IP: net.ParseIP(n.Gateway).To4(), Mask: net.CIDRMask(p.Bits(), 32)}
	if _, err := network.EnsureBridge(n.Bridge, gw); err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	if err := e.firewall().AddNetwork(n.rules()); err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	return nil
}

// tearDown removes the network's kernel state: its firewall rules (the
// whole table with the last network) and its bridge.
func (e *Engine) tearDown(n *Network) error {
	return errors.Join(e.firewall().RemoveNetwork(n.rules()), network.DeleteBridge(n.Bridge))
}

// RemoveNetwork is `minirun network rm`. A network with containers on it
// is refused; the default network may be removed (it comes back on the
// next run that needs it).
func (e *Engine) RemoveNetwork(ref string) error {
	if ref == "host" || ref == "none" {
		return &UsageError{fmt.Errorf("%s is a pre-defined network and cannot be removed", ref)}
	}
	n, err := e.findNetwork(ref)
	if err != nil {
		return err
	}
	unlockN, err := lockFile(filepath.Join(e.netDir(), "networks.lock"))
	if err != nil {
		return err
	}
	defer unlockN()
	var users []string
	err = e.withEndpoints(func(t *endpointTable) (bool, error) {
		changed := e.reconcileEndpoints(t)
		for id, c := range t.Containers {
			if c.endpoint(n.Name) != nil {
				users = append(users, firstNonEmpty(c.Name, ShortID(id)))
			}
		}
		return changed, nil
	})
	if err != nil {
		return err
	}
	if len(users) > 0 {
		sort.Strings(users)
		return fmt.Errorf("network %s has active endpoints (%s): stop or disconnect those containers first", n.Name, strings.Join(users, ", "))
	}
	// No container uses the network: a veth still on its bridge belongs
	// to a namespace the kernel has not finished tearing down (it does
	// that in the background). Delete it now, so that the bridge leaves
	// nothing behind.
	for _, name := range network.Ports([]string{n.Bridge}) {
		if strings.HasPrefix(name, "mr") {
			_ = network.Detach(name)
		}
	}
	if err := e.tearDown(n); err != nil {
		return err
	}
	ipamDir := filepath.Join(e.netDir(), "ipam")
	_ = os.Remove(filepath.Join(ipamDir, n.Name+".json"))
	_ = os.Remove(filepath.Join(ipamDir, n.Name+".lock"))
	return os.Remove(e.networkPath(n.Name))
}
