package network

// This file gives containers the two things a bridge alone does not:
// a way out to the rest of the world (outbound NAT) and a way in from it
// (published ports, `-p 8080:80`). Both are packet rewriting done by the
// kernel's netfilter, configured here through nftables.
//
// Why NAT at all. A container's address (10.88.0.5) is private to this
// host: the router in front of the host has never heard of 10.88.0.0/16,
// so a reply to 10.88.0.5 would never come back. The host therefore
// rewrites the source address of a container's outgoing packets to its own
// address ("masquerade": source NAT to whatever address the outgoing
// interface has). Conntrack, the kernel's connection tracker, remembers
// every rewrite and undoes it on the replies, so only the first packet of
// a connection ever walks through the NAT rules; the rest follow the
// conntrack entry. The way in is the mirror image: a packet for the host's
// port 8080 gets its destination rewritten to 10.88.0.5:80 ("DNAT",
// destination NAT) before the kernel decides where to route it, so it is
// forwarded to the container instead of delivered to a host process.
//
// Why nftables, and why our own table. nftables is the current netfilter
// front end (iptables is its predecessor; `iptables-nft` is iptables'
// syntax on top of nftables). Every program may create its own tables;
// chains in different tables that hook into the same place all run, in
// order of priority. So minirun keeps everything in one table of its own,
// "ip minirun" (family ip: IPv4 only), and never touches anyone else's
// rules: `nft delete table ip minirun` removes all of it. minirun speaks
// to the kernel directly over netlink (github.com/google/nftables); no
// nft or iptables binary is needed. `nft list table ip minirun` shows the
// result in nft's own syntax:
//
//	table ip minirun {
//	  set bridges { type ifname; elements = { "minirun0", ... } }
//	  chain prerouting  { type nat hook prerouting priority dstnat; policy accept;
//	                      fib daddr type local jump ports }
//	  chain output      { type nat hook output priority -100; policy accept;
//	                      fib daddr type local jump ports }
//	  chain ports       { ip daddr 127.0.0.1 tcp dport 8080 dnat to 10.88.0.5:80 comment "minirun container <id> tcp 127.0.0.1:8080->10.88.0.5:80"
//	                      udp dport 5353 dnat to 10.88.0.5:53 comment "minirun container <id> udp 0.0.0.0:5353->10.88.0.5:53" }
//	  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
//	                      ip saddr 10.88.0.0/16 oifname != "minirun0" masquerade          comment "minirun network bridge minirun0 10.88.0.0/16 outbound"
//	                      oifname "minirun0" ip saddr 127.0.0.0/8 masquerade               comment "minirun network bridge ... localhost"
//	                      oifname "minirun0" ip saddr 10.88.0.0/16 ct status dnat masquerade comment "minirun network bridge ... hairpin" }
//	  chain forward     { type filter hook forward priority filter; policy accept;
//	                      iifname "minirun0" oifname != "minirun0" oifname @bridges drop   comment "minirun network bridge ... isolate" }
//	}
//
// Chain by chain, in the order a packet meets them:
//
// prerouting (type nat, hook prerouting, priority dstnat = -100) sees every
// packet that arrives on any interface, before the routing decision: the
// place to change a destination. "fib daddr type local" asks the routing
// table (the FIB) whether the destination address is one of the host's
// own addresses; only then do we look at published ports ("jump ports").
// A container talking to port 80 of some web server elsewhere must not be
// redirected just because some container published port 80.
//
// output (type nat, hook output, priority -100: dstnat again, which nft
// prints as a number for this hook) is the same for packets the host
// itself sends: `curl 127.0.0.1:8080` on the host never passes prerouting,
// since it does not arrive on an interface.
//
// ports (a regular chain: no hook, only reached by the two jumps) holds one
// rule per published port: "[ip daddr HOSTIP] tcp dport 8080 dnat to
// 10.88.0.5:80". Without "ip daddr" the port is published on every local
// address (Docker's -p 8080:80, shown as 0.0.0.0:8080). Each rule carries
// a comment naming its container; the comment is all minirun needs to know
// which container owns which rule (Published parses it back), so there is
// no state file that could disagree with the kernel.
//
// postrouting (type nat, hook postrouting, priority srcnat = 100) sees every
// packet about to leave through an interface, after routing: the place to
// change a source. Three rules per network:
//
//   - "ip saddr SUBNET oifname != BRIDGE masquerade": outbound NAT. A packet
//     from a container that leaves through anything but its own bridge (the
//     uplink, typically) gets the outgoing interface's address as source.
//     Packets between containers on the same bridge keep their addresses.
//   - "oifname BRIDGE ip saddr 127.0.0.0/8 masquerade": a published port
//     reached from the host as 127.0.0.1:8080. The output chain rewrote the
//     destination to 10.88.0.5:80 but the source is still 127.0.0.1, and
//     the container would answer 127.0.0.1, i.e. itself. Masquerading to
//     the bridge's address (the gateway) makes it answer the host. Routing
//     a packet with a 127.x source out of a real interface is normally
//     forbidden (a "martian": the kernel refuses to re-route the packet
//     after the DNAT, and the connection attempt just times out); the
//     sysctl route_localnet=1 on the bridge, set by AddNetwork, allows it.
//   - "oifname BRIDGE ip saddr SUBNET ct status dnat masquerade": hairpin
//     NAT. Container A connects to the host's address:8080, which is DNATed
//     to container B on the same bridge (or to A itself). Without this rule
//     B would see A's own address as source and answer A directly over the
//     bridge, switched from port to port without passing the host's IP
//     stack, so conntrack never undoes the DNAT on the answer: A gets a
//     reply from B's address to a connection it opened to the host's
//     address, and resets it. (With the br_netfilter module loaded and
//     bridge-nf-call-iptables=1, bridged packets do pass netfilter and
//     conntrack fixes the answer up, so the connection works even without
//     this rule, but B then sees A's address; with it, B sees the gateway,
//     whatever the host's modules.) "ct status dnat" (conntrack says: this
//     connection's destination was rewritten) limits the rule to such
//     connections; direct A-to-B traffic keeps its source.
//
// forward (type filter, hook forward, priority filter = 0, policy accept)
// sees packets the host routes from one interface to another. One rule per
// network: "iifname BRIDGE oifname != BRIDGE oifname @bridges drop" —
// from this network's bridge to any other minirun bridge (the set
// "bridges" lists them all) is dropped: networks are isolated from each
// other, like Docker's. Everything else, the way out to the world
// included, is accepted by this chain. (Another firewall on the host, e.g.
// a forward chain with policy drop, can still drop it: an accept in one
// table does not override a drop in another.)
//
// Two sysctls go with the rules. net.ipv4.ip_forward=1 turns the host into
// a router: without it the kernel drops every packet that is not for the
// host itself, and no container gets out. net.ipv4.conf.BRIDGE.route_localnet=1
// is the localhost case above.
//
// Idempotency and concurrency. Every rule minirun adds carries a comment
// starting with "minirun " (stored as nftables "userdata", the same TLV
// format the nft tool writes, so `nft list` shows it as comment "...").
// AddNetwork looks for its rules by comment before adding them, so calling
// it twice changes nothing. Several minirun processes may run at once, so
// the look-then-add steps (AddNetwork, RemoveNetwork, the conflict check of
// Publish, Unpublish, Reconcile) run under an flock(2) on Firewall.LockPath,
// the same technique as IPAM (see ipam.go). Each change is sent to the
// kernel as one netlink batch, which nftables applies as one transaction:
// all of it or nothing, never half a set of rules.
//
// See man 8 nft, https://wiki.nftables.org, man 7 netlink, and
// Documentation/networking/ip-sysctl.rst (ip_forward, route_localnet).

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/trace"
)

// Firewall is minirun's own nftables table (family ip, IPv4), talked to over
// netlink with github.com/google/nftables — no nft/iptables binary is needed.
type Firewall struct {
	Table    string // nftables table name, e.g. "minirun"
	LockPath string // a file used with flock(2) to serialise Publish conflict checks and table setup across processes; created if missing; its directory exists
}

// NetworkRules describes one minirun network for AddNetwork and
// RemoveNetwork.
type NetworkRules struct {
	Name   string       // network name (e.g. "bridge", "backend"); appears in rule comments
	Bridge string       // the Linux bridge, e.g. "minirun0"
	Subnet netip.Prefix // IPv4 subnet of the network, e.g. 10.88.0.0/16
}

// PortRule is one published port: HostIP:HostPort on the host is forwarded
// to ContainerIP:ContainerPort.
type PortRule struct {
	Proto         string     // "tcp" or "udp"
	HostIP        netip.Addr // zero value (invalid) = every local address of the host
	HostPort      uint16
	ContainerIP   netip.Addr
	ContainerPort uint16
}

// Names of the objects in the table.
const (
	chainPrerouting  = "prerouting"
	chainOutput      = "output"
	chainPorts       = "ports"
	chainPostrouting = "postrouting"
	chainForward     = "forward"
	setBridges       = "bridges"
)

// Rule comments. Every rule minirun adds has one; they are how minirun
// recognises its rules when it reads them back.
//
//	minirun published ports                               (the two jumps)
//	minirun network <name> <bridge> <subnet> <purpose>    (per network)
//	minirun container <owner> <proto> <hostip>:<port>-><containerip>:<port>
const (
	commentPrefix     = "minirun "
	jumpComment       = "minirun published ports"
	netCommentPrefix  = "minirun network "
	portCommentPrefix = "minirun container "
)

// The purposes of a network's rules, last word of their comments.
const (
	purposeOutbound  = "outbound"  // postrouting: masquerade traffic leaving the bridge
	purposeLocalhost = "localhost" // postrouting: 127.0.0.1 -> published port
	purposeHairpin   = "hairpin"   // postrouting: container -> host:port -> container
	purposeIsolate   = "isolate"   // forward: no traffic to other minirun networks
)

// maxOwnerLen and maxNetNameLen keep comments short: nft accepts comments
// of at most 128 bytes on its command line and the kernel limits a rule's
// userdata to 256 bytes. A full container ID has 64 characters.
const (
	maxOwnerLen   = 64
	maxNetNameLen = 64
)

// ipsDstNAT is IPS_DST_NAT from linux/netfilter/nf_conntrack_common.h: the
// conntrack status bit "this connection's destination was rewritten".
const ipsDstNAT = 1 << 5

// AddNetwork sets up NAT and isolation for the network n: it creates the
// table, its chains and the set "bridges" if missing, adds n.Bridge to the
// set and n's rules (see the top of this file), and enables forwarding
// (net.ipv4.ip_forward=1 and net.ipv4.conf.<bridge>.route_localnet=1).
// The bridge must exist already. AddNetwork is idempotent: rules that are
// there are left alone; rules of a network of the same name that differ
// (another bridge or subnet) are replaced. Safe to call from several
// processes at once.
func (f Firewall) AddNetwork(n NetworkRules) error {
	if err := f.check(); err != nil {
		return err
	}
	n, err := checkNetworkRules(n)
	if err != nil {
		return err
	}
	// The bridge's sysctl directory only exists while the bridge does.
	conf := filepath.Join("/proc/sys/net/ipv4/conf", n.Bridge)
	if _, err := os.Stat(conf); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("network %s: bridge %s does not exist (no %s): create the bridge before AddNetwork", n.Name, n.Bridge, conf)
		}
		return fmt.Errorf("network %s: bridge %s: %w", n.Name, n.Bridge, err)
	}
	if err := writeSysctl("/proc/sys/net/ipv4/ip_forward", "1"); err != nil {
		return fmt.Errorf("network %s: enable IPv4 forwarding: %w", n.Name, err)
	}
	if err := writeSysctl(filepath.Join(conf, "route_localnet"), "1"); err != nil {
		return fmt.Errorf("network %s: allow routing 127.0.0.0/8 out of %s: %w", n.Name, n.Bridge, err)
	}

	return f.withState(func(c *nftables.Conn, st *fwState) error {
		if err := f.queueBase(c, st); err != nil {
			return err
		}

		// Keep each wanted rule that is there exactly once; drop
		// anything else this network has (a duplicate, or a rule for an
		// old bridge or subnet of the same network name).
		want := f.networkRules(n)
		found := make([]bool, len(want))
		var kept []netRule
		for _, nr := range st.netRules {
			if nr.name != n.Name {
				kept = append(kept, nr)
				continue
			}
			match := -1
			for i, w := range want {
				if !found[i] && w.Chain.Name == nr.rule.Chain.Name && ruleComment(w.UserData) == nr.comment {
					match = i
					break
				}
			}
			if match < 0 {
				if err := c.DelRule(nr.rule); err != nil {
					return fmt.Errorf("nftables: delete rule %d from table ip %s chain %s: %w", nr.rule.Handle, f.Table, nr.rule.Chain.Name, err)
				}
				continue
			}
			found[match] = true
			kept = append(kept, nr)
		}
		for i, w := range want {
			if !found[i] {
				c.AddRule(w)
			}
		}
		kept = append(kept, netRule{name: n.Name, bridge: n.Bridge})
		if err := f.queueBridgeSync(c, st, kept); err != nil {
			return err
		}
		if err := flushTraced(c, "add the network's firewall rules", f.Table, want, found); err != nil {
			return fmt.Errorf("nftables: set up table ip %s for network %s (bridge %s, subnet %s): %w", f.Table, n.Name, n.Bridge, n.Subnet, err)
		}
		return nil
	})
}

// RemoveNetwork deletes the rules of the network n.Name and removes its
// bridge from the set "bridges". When no network is left, it deletes the
// whole table, so that nothing of minirun remains in the ruleset. A missing
// table or missing rules are not an error. The sysctls are left as they
// are: other programs may rely on forwarding, and route_localnet goes away
// with the bridge.
func (f Firewall) RemoveNetwork(n NetworkRules) error {
	if err := f.check(); err != nil {
		return err
	}
	if err := checkNetworkName(n.Name); err != nil {
		return err
	}
	return f.withState(func(c *nftables.Conn, st *fwState) error {
		if !st.tableExists {
			return nil
		}
		var kept []netRule
		for _, nr := range st.netRules {
			if nr.name == n.Name {
				if err := c.DelRule(nr.rule); err != nil {
					return fmt.Errorf("nftables: delete rule %d from table ip %s chain %s: %w", nr.rule.Handle, f.Table, nr.rule.Chain.Name, err)
				}
				continue
			}
			kept = append(kept, nr)
		}
		if len(kept) == 0 {
			// The last network: the whole table goes, published ports
			// included (with no network there is no container to reach).
			return f.deleteTable(c)
		}
		if err := f.queueBridgeSync(c, st, kept); err != nil {
			return err
		}
		if err := flushStep(c, "remove the network's firewall rules", func() string {
			return fmt.Sprintf("nft batch: delete the rules of network %s from table ip %s", n.Name, f.Table)
		}); err != nil {
			return fmt.Errorf("nftables: remove network %s from table ip %s: %w", n.Name, f.Table, err)
		}
		return nil
	})
}

// Publish adds the published ports of owner (a container ID) to the chain
// ports, all in one transaction: either every port is published or none.
// A port that overlaps one published already (same protocol and host port,
// and the same host IP or either of them on every address) is refused, as
// is an overlap within ports. AddNetwork must have set up the table.
func (f Firewall) Publish(owner string, ports []PortRule) error {
	if err := f.check(); err != nil {
		return err
	}
	if err := checkOwner(owner); err != nil {
		return err
	}
	norm := make([]PortRule, len(ports))
	for i, p := range ports {
		np, err := normalizePort(p)
		if err != nil {
			return fmt.Errorf("container %s: publish %s: %w", owner, describePortMapping(p), err)
		}
		for _, q := range norm[:i] {
			if portsOverlap(np, q) {
				return fmt.Errorf("container %s: port %d/%s is given twice (%s and %s)", owner, np.HostPort, np.Proto, describePortMapping(q), describePortMapping(np))
			}
		}
		norm[i] = np
	}
	if len(norm) == 0 {
		return nil
	}
	return f.withState(func(c *nftables.Conn, st *fwState) error {
		if !st.tableExists {
			return fmt.Errorf("nftables: table ip %s does not exist: set up a network with AddNetwork before publishing ports", f.Table)
		}
		for _, name := range []string{chainPorts, chainPrerouting, chainOutput} {
			if st.chains[name] == nil {
				return fmt.Errorf("nftables: table ip %s has no chain %s: set up a network with AddNetwork before publishing ports", f.Table, name)
			}
		}
		existing, err := f.portEntries(c)
		if err != nil {
			return err
		}
		for _, p := range norm {
			for _, e := range existing {
				if portsOverlap(p, e.port) {
					return fmt.Errorf("port %d/%s is already published by container %s (%s)", p.HostPort, p.Proto, e.owner, describePortMapping(e.port))
				}
			}
		}
		var added []*nftables.Rule
		for _, p := range norm {
			added = append(added, c.AddRule(f.portRule(owner, p)))
		}
		if err := flushTraced(c, "publish ports (DNAT rules)", f.Table, added, nil); err != nil {
			return fmt.Errorf("nftables: add rule to table ip %s chain %s: %w", f.Table, chainPorts, err)
		}
		return nil
	})
}

// Unpublish deletes every published port of owner. An owner without ports,
// or a missing table, is not an error.
func (f Firewall) Unpublish(owner string) error {
	if err := f.check(); err != nil {
		return err
	}
	if owner == "" {
		return errors.New("unpublish: empty container ID")
	}
	return f.withLock(func() error {
		c, err := f.conn()
		if err != nil {
			return err
		}
		defer c.CloseLasting()
		_, err = f.unpublishLocked(c, func(o string) bool { return o == owner })
		return err
	})
}

// Published returns the published ports in the kernel's table, by owner,
// in rule order. A missing table means no ports.
func (f Firewall) Published() (map[string][]PortRule, error) {
	if f.Table == "" {
		return nil, errors.New("nftables: Firewall.Table is empty")
	}
	c, err := f.conn()
	if err != nil {
		return nil, err
	}
	defer c.CloseLasting()
	entries, err := f.portEntries(c)
	if err != nil {
		return nil, err
	}
	out := map[string][]PortRule{}
	for _, e := range entries {
		out[e.owner] = append(out[e.owner], e.port)
	}
	return out, nil
}

// Reconcile deletes the published ports of every owner for which alive
// returns false (containers that no longer exist, e.g. because minirun was
// killed before it could clean up) and returns those owners, sorted.
// alive runs under the lock: it must not call Firewall methods itself.
func (f Firewall) Reconcile(alive func(owner string) bool) (removed []string, err error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	if alive == nil {
		return nil, errors.New("reconcile: no alive function")
	}
	err = f.withLock(func() error {
		c, err := f.conn()
		if err != nil {
			return err
		}
		defer c.CloseLasting()
		removed, err = f.unpublishLocked(c, func(o string) bool { return !alive(o) })
		return err
	})
	return removed, err
}

// Exists reports whether the table is there.
func (f Firewall) Exists() (bool, error) {
	if f.Table == "" {
		return false, errors.New("nftables: Firewall.Table is empty")
	}
	c, err := f.conn()
	if err != nil {
		return false, err
	}
	defer c.CloseLasting()
	return f.tableExists(c)
}

// Delete deletes the whole table (`nft delete table ip <Table>`): every
// network's rules and every published port. A missing table is not an
// error.
func (f Firewall) Delete() error {
	if err := f.check(); err != nil {
		return err
	}
	return f.withLock(func() error {
		c, err := f.conn()
		if err != nil {
			return err
		}
		defer c.CloseLasting()
		return f.deleteTable(c)
	})
}

// --- kernel state ---

// fwState is what load found in the kernel.
type fwState struct {
	tableExists bool
	chains      map[string]*nftables.Chain
	hasSet      bool
	bridges     []string        // elements of the set "bridges"
	jumps       map[string]bool // prerouting/output: has its "jump ports" rule
	netRules    []netRule
}

// netRule is a network's rule, with its comment parsed.
type netRule struct {
	rule    *nftables.Rule
	comment string
	name    string
	bridge  string
	subnet  netip.Prefix
	purpose string
}

// portEntry is a published port's rule, with its comment parsed.
type portEntry struct {
	rule  *nftables.Rule
	owner string
	port  PortRule
}

func (f Firewall) load(c *nftables.Conn) (*fwState, error) {
	st := &fwState{chains: map[string]*nftables.Chain{}, jumps: map[string]bool{}}
	ok, err := f.tableExists(c)
	if err != nil || !ok {
		return st, err
	}
	st.tableExists = true

	if st.chains, err = f.chains(c); err != nil {
		return nil, err
	}

	sets, err := c.GetSets(f.table())
	if err != nil {
		return nil, fmt.Errorf("nftables: list sets of table ip %s: %w", f.Table, err)
	}
	for _, s := range sets {
		if s.Name == setBridges {
			st.hasSet = true
		}
	}
	if st.hasSet {
		elems, err := c.GetSetElements(f.bridgeSet())
		if err != nil {
			return nil, fmt.Errorf("nftables: list elements of set %s in table ip %s: %w", setBridges, f.Table, err)
		}
		for _, e := range elems {
			st.bridges = append(st.bridges, strings.TrimRight(string(e.Key), "\x00"))
		}
	}

	err = f.eachRule(c, st.chains, []string{chainPrerouting, chainOutput}, func(name string, r *nftables.Rule) error {
		if ruleComment(r.UserData) == jumpComment {
			st.jumps[name] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = f.eachRule(c, st.chains, []string{chainPostrouting, chainForward}, func(name string, r *nftables.Rule) error {
		com := ruleComment(r.UserData)
		if !strings.HasPrefix(com, netCommentPrefix) {
			return nil
		}
		nr, err := parseNetComment(com)
		if err != nil {
			return fmt.Errorf("nftables: table ip %s chain %s rule %d: %w", f.Table, name, r.Handle, err)
		}
		nr.rule = r
		st.netRules = append(st.netRules, nr)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// eachRule calls fn on every rule of the chains named, in order, that
// exist (are in chains), and stops at its first error.
func (f Firewall) eachRule(c *nftables.Conn, chains map[string]*nftables.Chain, names []string, fn func(chain string, r *nftables.Rule) error) error {
	for _, name := range names {
		if chains[name] == nil {
			continue
		}
		rules, err := f.rules(c, name)
		if err != nil {
			return err
		}
		for _, r := range rules {
			if err := fn(name, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// portEntries reads the chain ports back. A missing table or chain means
// no ports.
func (f Firewall) portEntries(c *nftables.Conn) ([]portEntry, error) {
	ok, err := f.tableExists(c)
	if err != nil || !ok {
		return nil, err
	}
	chains, err := f.chains(c)
	if err != nil {
		return nil, err
	}
	var out []portEntry
	err = f.eachRule(c, chains, []string{chainPorts}, func(_ string, r *nftables.Rule) error {
		com := ruleComment(r.UserData)
		if !strings.HasPrefix(com, commentPrefix) {
			return nil // not ours
		}
		owner, p, err := parsePortComment(com)
		if err != nil {
			return fmt.Errorf("nftables: table ip %s chain %s rule %d: %w", f.Table, chainPorts, r.Handle, err)
		}
		out = append(out, portEntry{rule: r, owner: owner, port: p})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// unpublishLocked deletes, in one transaction, the port rules of every
// owner drop selects, and returns those owners sorted. The lock must be
// held.
func (f Firewall) unpublishLocked(c *nftables.Conn, drop func(owner string) bool) ([]string, error) {
	entries, err := f.portEntries(c)
	if err != nil {
		return nil, err
	}
	verdict := map[string]bool{} // ask once per owner
	var owners []string
	for _, e := range entries {
		d, seen := verdict[e.owner]
		if !seen {
			d = drop(e.owner)
			verdict[e.owner] = d
			if d {
				owners = append(owners, e.owner)
			}
		}
		if d {
			if err := c.DelRule(e.rule); err != nil {
				return nil, fmt.Errorf("nftables: delete rule %d from table ip %s chain %s: %w", e.rule.Handle, f.Table, chainPorts, err)
			}
		}
	}
	if len(owners) == 0 {
		return nil, nil
	}
	if err := flushStep(c, "remove published ports (DNAT rules)", func() string {
		return fmt.Sprintf("nft batch: delete the rules of container(s) %s from table ip %s chain %s", strings.Join(owners, ", "), f.Table, chainPorts)
	}); err != nil {
		return nil, fmt.Errorf("nftables: delete rules of container(s) %s from table ip %s chain %s: %w", strings.Join(owners, ", "), f.Table, chainPorts, err)
	}
	sort.Strings(owners)
	return owners, nil
}

func (f Firewall) rules(c *nftables.Conn, chain string) ([]*nftables.Rule, error) {
	t := f.table()
	rules, err := c.GetRules(t, &nftables.Chain{Name: chain, Table: t})
	if err != nil {
		return nil, fmt.Errorf("nftables: list rules of table ip %s chain %s: %w", f.Table, chain, err)
	}
	for _, r := range rules {
		// Rules read back name neither table nor chain; DelRule needs both.
		r.Table = t
		r.Chain = &nftables.Chain{Name: chain, Table: t}
	}
	return rules, nil
}

// chains returns the chains of the table by name.
func (f Firewall) chains(c *nftables.Conn) (map[string]*nftables.Chain, error) {
	all, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, fmt.Errorf("nftables: list chains of table ip %s: %w", f.Table, err)
	}
	out := map[string]*nftables.Chain{}
	for _, ch := range all {
		if ch.Table != nil && ch.Table.Name == f.Table {
			out[ch.Name] = ch
		}
	}
	return out, nil
}

func (f Firewall) tableExists(c *nftables.Conn) (bool, error) {
	_, err := c.ListTableOfFamily(f.Table, nftables.TableFamilyIPv4)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	return false, fmt.Errorf("nftables: find table ip %s: %w", f.Table, err)
}

func (f Firewall) deleteTable(c *nftables.Conn) error {
	c.DelTable(f.table())
	if err := flushStep(c, "remove minirun's firewall table", func() string { return "nft delete table ip " + f.Table }); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("nftables: delete table ip %s: %w", f.Table, err)
	}
	return nil
}

// --- building the table ---

func (f Firewall) table() *nftables.Table {
	return &nftables.Table{Name: f.Table, Family: nftables.TableFamilyIPv4}
}

func (f Firewall) bridgeSet() *nftables.Set {
	// ID only matters while the set is created in the same batch as the
	// rules that use it; the kernel finds it by name either way. Setting
	// it also keeps google/nftables from touching its global ID counter.
	// Interface names are strings, which nft keeps in host byte order; the
	// set says so in its userdata, or `nft list` shows every element as "".
	return &nftables.Set{Table: f.table(), Name: setBridges, ID: 1,
		KeyType: nftables.TypeIFName, KeyByteOrder: binaryutil.NativeEndian}
}

// baseChains are the chains of the table, in creation order ("ports"
// before the base chains that jump to it).
func (f Firewall) baseChains() []*nftables.Chain {
	t := f.table()
	accept := nftables.ChainPolicyAccept
	return []*nftables.Chain{
		{Name: chainPorts, Table: t},
		{Name: chainPrerouting, Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest},
		{Name: chainOutput, Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest},
		{Name: chainPostrouting, Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource},
		{Name: chainForward, Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept},
	}
}

// queueBase queues, in c's batch, whatever is missing of the table, its
// chains, the set and the two jumps to ports.
func (f Firewall) queueBase(c *nftables.Conn, st *fwState) error {
	if !st.tableExists {
		c.AddTable(f.table())
	}
	for _, ch := range f.baseChains() {
		if st.chains[ch.Name] == nil {
			c.AddChain(ch)
		}
	}
	if !st.hasSet {
		if err := c.AddSet(f.bridgeSet(), nil); err != nil {
			return fmt.Errorf("nftables: add set %s to table ip %s: %w", setBridges, f.Table, err)
		}
	}
	for _, name := range []string{chainPrerouting, chainOutput} {
		if !st.jumps[name] {
			c.AddRule(f.jumpRule(name))
		}
	}
	return nil
}

// queueBridgeSync queues the changes that make the set "bridges" hold
// exactly the bridges of the networks in nets.
func (f Firewall) queueBridgeSync(c *nftables.Conn, st *fwState, nets []netRule) error {
	want := map[string]bool{}
	for _, nr := range nets {
		want[nr.bridge] = true
	}
	have := map[string]bool{}
	var del []nftables.SetElement
	for _, b := range st.bridges {
		have[b] = true
		if !want[b] {
			del = append(del, nftables.SetElement{Key: ifname(b)})
		}
	}
	var add []nftables.SetElement
	for b := range want {
		if !have[b] {
			add = append(add, nftables.SetElement{Key: ifname(b)})
		}
	}
	if len(del) > 0 {
		if err := c.SetDeleteElements(f.bridgeSet(), del); err != nil {
			return fmt.Errorf("nftables: delete elements from set %s in table ip %s: %w", setBridges, f.Table, err)
		}
	}
	if len(add) > 0 {
		if err := c.SetAddElements(f.bridgeSet(), add); err != nil {
			return fmt.Errorf("nftables: add elements to set %s in table ip %s: %w", setBridges, f.Table, err)
		}
	}
	return nil
}

// jumpRule is "fib daddr type local jump ports" in chain.
func (f Firewall) jumpRule(chain string) *nftables.Rule {
	t := f.table()
	return &nftables.Rule{
		Table: t,
		Chain: &nftables.Chain{Name: chain, Table: t},
		Exprs: []expr.Any{
			// fib daddr type local: is the destination one of our
			// addresses? The result is a route type (RTN_LOCAL = 2)
			// in host byte order.
			&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
			&expr.Verdict{Kind: expr.VerdictJump, Chain: chainPorts},
		},
		UserData: userdata.AppendString(nil, userdata.TypeComment, jumpComment),
	}
}

// networkRules are the four rules of network n.
func (f Firewall) networkRules(n NetworkRules) []*nftables.Rule {
	t := f.table()
	post := &nftables.Chain{Name: chainPostrouting, Table: t}
	fwd := &nftables.Chain{Name: chainForward, Table: t}
	rule := func(ch *nftables.Chain, purpose string, exprs ...[]expr.Any) *nftables.Rule {
		var all []expr.Any
		for _, e := range exprs {
			all = append(all, e...)
		}
		com := fmt.Sprintf("%s%s %s %s %s", netCommentPrefix, n.Name, n.Bridge, n.Subnet, purpose)
		return &nftables.Rule{Table: t, Chain: ch, Exprs: all,
			UserData: userdata.AppendString(nil, userdata.TypeComment, com)}
	}
	masq := []expr.Any{&expr.Masq{}}
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	return []*nftables.Rule{
		// ip saddr SUBNET oifname != BRIDGE masquerade
		rule(post, purposeOutbound,
			matchPrefix(12, n.Subnet),
			matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, n.Bridge),
			masq),
		// oifname BRIDGE ip saddr 127.0.0.0/8 masquerade
		rule(post, purposeLocalhost,
			matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpEq, n.Bridge),
			matchPrefix(12, loopback),
			masq),
		// oifname BRIDGE ip saddr SUBNET ct status dnat masquerade
		rule(post, purposeHairpin,
			matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpEq, n.Bridge),
			matchPrefix(12, n.Subnet),
			[]expr.Any{
				// ct status & dnat != 0 (conntrack status is a
				// host-endian bit field)
				&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
				&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
					Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT),
					Xor:  binaryutil.NativeEndian.PutUint32(0)},
				&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
			},
			masq),
		// iifname BRIDGE oifname != BRIDGE oifname @bridges drop
		rule(fwd, purposeIsolate,
			matchIfname(expr.MetaKeyIIFNAME, expr.CmpOpEq, n.Bridge),
			matchIfname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, n.Bridge),
			[]expr.Any{
				&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
				&expr.Lookup{SourceRegister: 1, SetName: setBridges, SetID: f.bridgeSet().ID},
				&expr.Verdict{Kind: expr.VerdictDrop},
			}),
	}
}

// portRule is "[ip daddr HOSTIP] PROTO dport HOSTPORT dnat to CIP:CPORT"
// in chain ports.
func (f Firewall) portRule(owner string, p PortRule) *nftables.Rule {
	t := f.table()
	var exprs []expr.Any
	if p.HostIP.IsValid() {
		exprs = append(exprs, matchPrefix(16, netip.PrefixFrom(p.HostIP, 32))...) // ip daddr
	}
	proto := byte(unix.IPPROTO_TCP)
	if p.Proto == "udp" {
		proto = unix.IPPROTO_UDP
	}
	exprs = append(exprs,
		// meta l4proto tcp: the transport header is TCP (nft adds this
		// check implicitly before any "tcp ..." match)
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		// tcp dport HOSTPORT: bytes 2-3 of the TCP/UDP header
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(p.HostPort)},
		// dnat to CIP:CPORT: address in register 1, port in register 2
		&expr.Immediate{Register: 1, Data: p.ContainerIP.AsSlice()},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(p.ContainerPort)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4,
			RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	)
	com := portCommentPrefix + owner + " " + p.Proto + " " + describePortMapping(p)
	return &nftables.Rule{
		Table:    t,
		Chain:    &nftables.Chain{Name: chainPorts, Table: t},
		Exprs:    exprs,
		UserData: userdata.AppendString(nil, userdata.TypeComment, com),
	}
}

// matchPrefix matches the IPv4 header field at offset (12: source
// address, 16: destination address) against p: load it, mask it to p's
// length, compare.
func matchPrefix(offset uint32, p netip.Prefix) []expr.Any {
	out := []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4}}
	if p.Bits() < 32 {
		m := make([]byte, 4)
		for i := 0; i < p.Bits(); i++ {
			m[i/8] |= 0x80 >> (i % 8)
		}
		out = append(out, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: m, Xor: make([]byte, 4)})
	}
	return append(out, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Masked().Addr().AsSlice()})
}

// matchIfname compares an interface name (iifname/oifname) with name.
func matchIfname(key expr.MetaKey, op expr.CmpOp, name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: ifname(name)},
	}
}

// ifname is name as the kernel stores interface names: IFNAMSIZ bytes,
// NUL padded.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// --- comments ---

// ruleComment returns the comment in a rule's userdata ("" if none). The
// format is libnftnl's: a list of (type byte, length byte, value), the
// comment being type 0, NUL-terminated.
func ruleComment(ud []byte) string {
	for len(ud) >= 2 {
		typ, n := userdata.Type(ud[0]), int(ud[1])
		if len(ud) < 2+n {
			return ""
		}
		if typ == userdata.TypeComment {
			return strings.TrimRight(string(ud[2:2+n]), "\x00")
		}
		ud = ud[2+n:]
	}
	return ""
}

// parseNetComment parses "minirun network <name> <bridge> <subnet> <purpose>".
func parseNetComment(com string) (netRule, error) {
	f := strings.Split(strings.TrimPrefix(com, netCommentPrefix), " ")
	if len(f) != 4 {
		return netRule{}, fmt.Errorf("cannot parse comment %q: want %q", com, netCommentPrefix+"<name> <bridge> <subnet> <purpose>")
	}
	subnet, err := netip.ParsePrefix(f[2])
	if err != nil {
		return netRule{}, fmt.Errorf("cannot parse comment %q: %w", com, err)
	}
	return netRule{comment: com, name: f[0], bridge: f[1], subnet: subnet, purpose: f[3]}, nil
}

// parsePortComment parses
// "minirun container <owner> <proto> <hostip>:<port>-><containerip>:<port>".
func parsePortComment(com string) (string, PortRule, error) {
	bad := func(why string) (string, PortRule, error) {
		return "", PortRule{}, fmt.Errorf("cannot parse comment %q: %s", com, why)
	}
	if !strings.HasPrefix(com, portCommentPrefix) {
		return bad("want " + portCommentPrefix + "<id> <proto> <host>-><container>")
	}
	f := strings.Split(strings.TrimPrefix(com, portCommentPrefix), " ")
	if len(f) != 3 {
		return bad("want " + portCommentPrefix + "<id> <proto> <host>-><container>")
	}
	hostS, ctrS, ok := strings.Cut(f[2], "->")
	if !ok {
		return bad("no '->'")
	}
	host, err := netip.ParseAddrPort(hostS)
	if err != nil {
		return bad(err.Error())
	}
	ctr, err := netip.ParseAddrPort(ctrS)
	if err != nil {
		return bad(err.Error())
	}
	p, err := normalizePort(PortRule{Proto: f[1], HostIP: host.Addr(), HostPort: host.Port(),
		ContainerIP: ctr.Addr(), ContainerPort: ctr.Port()})
	if err != nil {
		return bad(err.Error())
	}
	return f[0], p, nil
}

// describePortMapping is "0.0.0.0:8080->10.88.0.2:80".
func describePortMapping(p PortRule) string {
	host := "0.0.0.0"
	if p.HostIP.IsValid() {
		host = p.HostIP.String()
	}
	ctr := "?"
	if p.ContainerIP.IsValid() {
		ctr = p.ContainerIP.String()
	}
	return host + ":" + strconv.Itoa(int(p.HostPort)) + "->" + ctr + ":" + strconv.Itoa(int(p.ContainerPort))
}

// --- validation ---

func (f Firewall) check() error {
	if f.Table == "" {
		return errors.New("nftables: Firewall.Table is empty")
	}
	if len(f.Table) > 255 || strings.ContainsAny(f.Table, "\x00") {
		return fmt.Errorf("nftables: invalid table name %q", f.Table)
	}
	if f.LockPath == "" {
		return fmt.Errorf("nftables: table ip %s: Firewall.LockPath is empty", f.Table)
	}
	return nil
}

func checkNetworkName(name string) error {
	if err := validNetworkName(name); err != nil {
		return err
	}
	if len(name) > maxNetNameLen {
		return fmt.Errorf("network name %q is longer than %d bytes", name, maxNetNameLen)
	}
	return nil
}

func checkNetworkRules(n NetworkRules) (NetworkRules, error) {
	if err := checkNetworkName(n.Name); err != nil {
		return n, err
	}
	if err := checkIfName(n.Bridge); err != nil {
		return n, fmt.Errorf("network %s: bridge: %w", n.Name, err)
	}
	if !n.Subnet.IsValid() {
		return n, fmt.Errorf("network %s: invalid subnet", n.Name)
	}
	if !n.Subnet.Addr().Is4() {
		return n, fmt.Errorf("network %s: subnet %s is not IPv4 (the firewall table is IPv4 only)", n.Name, n.Subnet)
	}
	if n.Subnet.Bits() == 0 {
		return n, fmt.Errorf("network %s: subnet %s covers every address", n.Name, n.Subnet)
	}
	n.Subnet = n.Subnet.Masked()
	return n, nil
}

// checkOwner accepts container IDs and names: letters, digits, '-', '_'
// and '.', at most 64 bytes (the owner is stored in rule comments, which
// are split at spaces).
func checkOwner(owner string) error {
	if owner == "" {
		return errors.New("publish: empty container ID")
	}
	if len(owner) > maxOwnerLen {
		return fmt.Errorf("container ID %q is longer than %d bytes", owner, maxOwnerLen)
	}
	for _, r := range owner {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("container ID %q: only letters, digits, '-', '_' and '.' are allowed", owner)
		}
	}
	return nil
}

// normalizePort validates p and returns it in canonical form: IPv4-mapped
// IPv6 addresses unmapped, an explicit 0.0.0.0 host IP turned into the zero
// Addr (both mean every address).
func normalizePort(p PortRule) (PortRule, error) {
	if p.Proto != "tcp" && p.Proto != "udp" {
		return p, fmt.Errorf("protocol %q: want tcp or udp", p.Proto)
	}
	if p.HostPort == 0 {
		return p, errors.New("host port 0: want 1-65535")
	}
	if p.ContainerPort == 0 {
		return p, errors.New("container port 0: want 1-65535")
	}
	if p.HostIP.IsValid() {
		p.HostIP = p.HostIP.Unmap()
		if !p.HostIP.Is4() {
			return p, fmt.Errorf("host IP %s is not IPv4", p.HostIP)
		}
		if p.HostIP.IsUnspecified() {
			p.HostIP = netip.Addr{}
		}
	}
	if !p.ContainerIP.IsValid() {
		return p, errors.New("no container IP")
	}
	p.ContainerIP = p.ContainerIP.Unmap()
	if !p.ContainerIP.Is4() {
		return p, fmt.Errorf("container IP %s is not IPv4", p.ContainerIP)
	}
	if p.ContainerIP.IsUnspecified() {
		return p, fmt.Errorf("container IP %s is unspecified", p.ContainerIP)
	}
	return p, nil
}

// portsOverlap: same protocol and host port, and host IPs that overlap
// (equal, or either of them every address).
func portsOverlap(a, b PortRule) bool {
	return a.Proto == b.Proto && a.HostPort == b.HostPort &&
		(!a.HostIP.IsValid() || !b.HostIP.IsValid() || a.HostIP == b.HostIP)
}

// --- plumbing ---

func (f Firewall) conn() (*nftables.Conn, error) {
	c, err := nftables.New(nftables.AsLasting())
	if err != nil {
		return nil, fmt.Errorf("nftables: open netlink socket: %w", err)
	}
	return c, nil
}

// withLock runs fn holding an exclusive flock(2) on f.LockPath. flock locks
// belong to the open file description: every call opens the file anew, so
// two goroutines exclude each other like two processes do, and the lock is
// dropped when the file is closed or the process dies. fn must not call
// withLock again (it would wait for itself).
func (f Firewall) withLock(fn func() error) error {
	lf, err := os.OpenFile(f.LockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("nftables: table ip %s: open lock file: %w", f.Table, err)
	}
	defer lf.Close()
	for {
		err = unix.Flock(int(lf.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("nftables: table ip %s: lock %s: %w", f.Table, f.LockPath, err)
	}
	return fn()
}

// withState runs fn under the lock with a netlink connection and the
// table's current state as the kernel reports it.
func (f Firewall) withState(fn func(*nftables.Conn, *fwState) error) error {
	return f.withLock(func() error {
		c, err := f.conn()
		if err != nil {
			return err
		}
		defer c.CloseLasting()
		st, err := f.load(c)
		if err != nil {
			return err
		}
		return fn(c, st)
	})
}

// writeSysctl writes val to the /proc/sys file path unless it holds val
// already.
func writeSysctl(path, val string) error {
	if cur, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(cur)) == val {
		return nil
	}
	end := trace.StepFn("network", "set a kernel parameter", "sysctl(8), proc(5)", func() string { return "write " + path + " = " + val })
	err := os.WriteFile(path, []byte(val+"\n"), 0o644)
	end(err)
	if err != nil {
		return fmt.Errorf("write %s to %s: %w", val, path, err)
	}
	return nil
}
