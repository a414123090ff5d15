package engine

// Containers on networks: who is where, and the /etc/hosts files that let
// containers find each other by name.
//
// Name resolution is a kept-current hosts file, not a DNS server: every
// container on a bridge network gets an /etc/hosts that lists the other
// containers of its networks (name, --network-alias and short ID), and
// whenever a container joins or leaves a network minirun rewrites the
// hosts file of every container that shares a network with it. This needs
// no process running beside the containers (Docker's embedded DNS server
// lives inside dockerd), works with every libc, and the file is there to
// read: `cat /etc/hosts` shows exactly what the container can resolve.
// Everything else goes to the host's upstream resolvers in resolv.conf.
//
// The table of endpoints is <data>/networks/endpoints.json, guarded by
// flock(2) on endpoints.lock: one small JSON file for all networks, so
// that one lock covers "allocate an address, record it, rewrite the hosts
// files" for concurrent `minirun run`s. The slow kernel work (veth pairs,
// firewall rules) happens outside the lock.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/minirun/minirun/atomicfile"
	"github.com/minirun/minirun/container"
	"github.com/minirun/minirun/network"
)

// endpointTable is endpoints.json.
type endpointTable struct {
	Containers map[string]*ctrNet `json:"containers"` // by container ID
}

// ctrNet is one container's place on the networks.
type ctrNet struct {
	Name       string        `json:"name,omitempty"`
	Hostname   string        `json:"hostname"`
	HostsPath  string        `json:"hostsPath"`            // the file bind-mounted on its /etc/hosts
	ExtraHosts []string      `json:"extraHosts,omitempty"` // --add-host, as "IP\tNAME"
	Ports      []PortSpec    `json:"ports,omitempty"`      // published, host ports resolved
	Endpoints  []endpointRec `json:"endpoints"`            // eth0 first
	// Pid and Start (field 22 of /proc/<pid>/stat) name the container's
	// init for good, so that reconcileEndpoints tells a live container
	// from a dead one with one read of /proc, not a load of its state.
	Pid   int    `json:"pid,omitempty"`
	Start uint64 `json:"start,omitempty"`
}

// endpointRec is one interface of a container on one network.
type endpointRec struct {
	Network  string   `json:"network"`
	IP       string   `json:"ip"`
	IfName   string   `json:"ifName"`
	HostVeth string   `json:"hostVeth"`
	Aliases  []string `json:"aliases,omitempty"`
}

func (c *ctrNet) endpoint(network string) *endpointRec {
	for i := range c.Endpoints {
		if c.Endpoints[i].Network == network {
			return &c.Endpoints[i]
		}
	}
	return nil
}

// withEndpoints runs fn on the table under the lock and writes the table
// back if fn says it changed it.
func (e *Engine) withEndpoints(fn func(*endpointTable) (bool, error)) error {
	unlock, err := lockFile(filepath.Join(e.netDir(), "endpoints.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	path := filepath.Join(e.netDir(), "endpoints.json")
	t := &endpointTable{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, t); err != nil {
			return fmt.Errorf("%s is corrupt (%v): run `minirun system prune` after removing it", path, err)
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	if t.Containers == nil {
		t.Containers = map[string]*ctrNet{}
	}
	changed, err := fn(t)
	if !changed {
		return err
	}
	b, _ := json.MarshalIndent(t, "", "  ")
	return errors.Join(err, atomicfile.WriteFile(path, b, 0o600))
}

// alive: the container exists and its init has not ended.
func (e *Engine) alive(id string) bool {
	c, err := e.Runtime.Load(id)
	if err != nil {
		return false
	}
	st := c.State().Status
	return st == container.Created || st == container.Running || st == container.Paused
}

// aliveNet is alive for a container of the table: its init, recorded by PID
// and start time when it joined, still runs (not a zombie). A record
// without them (written by an older minirun) asks the runtime.
func (e *Engine) aliveNet(id string, c *ctrNet) bool {
	if c.Pid <= 0 || c.Start == 0 {
		return e.alive(id)
	}
	start, st, err := container.ProcStartTime(c.Pid)
	return err == nil && start == c.Start && st != 'Z' && st != 'X'
}

// reconcileEndpoints drops the table's containers that are gone (a
// minirun killed before it could clean up) and frees what they held.
// It reports whether the table changed.
func (e *Engine) reconcileEndpoints(t *endpointTable) bool {
	var dead []string
	for id, c := range t.Containers {
		if !e.aliveNet(id, c) {
			dead = append(dead, id)
		}
	}
	if len(dead) == 0 {
		return false
	}
	var affected []string
	for _, id := range dead {
		c := t.Containers[id]
		delete(t.Containers, id)
		e.releaseNet(id, c)
		for _, ep := range c.Endpoints {
			affected = append(affected, ep.Network)
		}
	}
	e.writeHosts(t, affected, "")
	e.sweepVeths(t)
	return true
}

// sweepVeths deletes veths on minirun's bridges that belong to no
// container of the table: left by a crash, or by a namespace that outlived
// its container.
func (e *Engine) sweepVeths(t *endpointTable) {
	mine := map[string]bool{}
	for _, c := range t.Containers {
		for _, ep := range c.Endpoints {
			mine[ep.HostVeth] = true
		}
	}
	nets, err := e.Networks()
	if err != nil {
		return
	}
	var bridges []string
	for _, n := range nets {
		bridges = append(bridges, n.Bridge)
	}
	for _, name := range network.Ports(bridges) {
		if !mine[name] && strings.HasPrefix(name, "mr") {
			_ = network.Detach(name)
		}
	}
}

// releaseNet frees what a container held on its networks: its veths, its
// addresses and its published ports. Missing pieces are not errors.
//
// The veth of a container whose init is gone is left to the kernel: the
// network namespace dies with its last process and takes both ends of the
// pair with it, in the background. Deleting it ourselves (`ip link del`)
// waits for RCU grace periods, ~20 ms of every `run --rm`. If something
// keeps the namespace alive (a container that joined it with
// --network container:), sweepVeths removes the orphan later.
func (e *Engine) releaseNet(id string, c *ctrNet) error {
	var errs []error
	dead := !e.alive(id)
	for _, ep := range c.Endpoints {
		if !dead {
			if err := network.Detach(ep.HostVeth); err != nil {
				errs = append(errs, err)
			}
		}
		if n, err := e.readNetwork(ep.Network); err == nil {
			if a, err := e.ipam(n); err == nil {
				errs = append(errs, a.Release(id))
			}
		}
	}
	if len(c.Ports) > 0 {
		errs = append(errs, e.firewall().Unpublish(id))
	}
	return errors.Join(errs...)
}

// netPlan is what `run` asked of the networks, resolved by prepare.
type netPlan struct {
	networks   []*Network // first one: eth0 and the default route
	aliases    []string
	ip         string // --ip on the first network
	ports      []PortSpec
	hostname   string
	name       string
	hostsPath  string
	extraHosts []string
}

// joinNetworks puts a created (not yet started) container on its
// networks: an address from each network's IPAM, a veth pair per network,
// the published ports' DNAT rules, and the hosts files of everyone
// concerned. On error, leaveNetworks undoes what was done.
func (e *Engine) joinNetworks(id string, pid int, plan *netPlan) error {
	rec := &ctrNet{Name: plan.name, Hostname: plan.hostname, HostsPath: plan.hostsPath, ExtraHosts: plan.extraHosts, Pid: pid}
	if start, _, err := container.ProcStartTime(pid); err == nil {
		rec.Start = start
	}
	err := e.withEndpoints(func(t *endpointTable) (bool, error) {
		e.reconcileEndpoints(t)
		// Recorded first, so that a failure below leaves a record that
		// leaveNetworks (or the next reconcile) cleans up.
		t.Containers[id] = rec
		for i, n := range plan.networks {
			addr, err := e.allocate(t, n, id, plan.ip, i)
			if err != nil {
				return true, err
			}
			var aliases []string
			if i == 0 {
				aliases = plan.aliases
			}
			rec.Endpoints = append(rec.Endpoints, endpointRec{
				Network: n.Name, IP: addr.String(), IfName: fmt.Sprintf("eth%d", i),
				HostVeth: network.HostVethNameN(id, i), Aliases: aliases,
			})
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	for i, ep := range rec.Endpoints {
		if err := e.attach(plan.networks[i], ep, pid, i == 0); err != nil {
			return err
		}
	}
	if len(plan.ports) > 0 {
		fw := e.firewall()
		published, err := fw.Published()
		if err != nil {
			return err
		}
		for owner := range published {
			if owner != id && !e.alive(owner) {
				_ = fw.Unpublish(owner) // left behind by a crashed minirun
				delete(published, owner)
			}
		}
		ports, err := checkHostPorts(plan.ports, published)
		if err != nil {
			return err
		}
		rec.Ports = ports
		if err := fw.Publish(id, portRules(ports, netip.MustParseAddr(rec.Endpoints[0].IP))); err != nil {
			return err
		}
	}
	return e.withEndpoints(func(t *endpointTable) (bool, error) {
		if _, ok := t.Containers[id]; !ok {
			return false, fmt.Errorf("container %s vanished from the network table while it was being set up", ShortID(id))
		}
		t.Containers[id] = rec
		var nets []string
		for _, ep := range rec.Endpoints {
			nets = append(nets, ep.Network)
		}
		return true, e.writeHosts(t, nets, id)
	})
}

// allocate takes an address on n for the container's i-th interface: the
// one --ip asked for, or the next free one. A full subnet is reconciled
// against the table once (addresses of containers that no longer exist
// come back) before giving up.
func (e *Engine) allocate(t *endpointTable, n *Network, id, want string, i int) (netip.Addr, error) {
	a, err := e.ipam(n)
	if err != nil {
		return netip.Addr{}, err
	}
	if want != "" && i == 0 {
		addr, err := netip.ParseAddr(want)
		if err != nil {
			return netip.Addr{}, &UsageError{fmt.Errorf("invalid --ip %q", want)}
		}
		if err := a.AllocateSpecific(id, addr); err != nil {
			return netip.Addr{}, fmt.Errorf("network %s: %w", n.Name, err)
		}
		return addr, nil
	}
	addr, err := a.Allocate(id)
	if err == nil {
		return addr, nil
	}
	alive := map[string]bool{}
	for cid := range t.Containers {
		alive[cid] = true
	}
	if freed, rerr := a.Reconcile(alive); rerr == nil && len(freed) > 0 {
		addr, err = a.Allocate(id)
	}
	if err != nil {
		return netip.Addr{}, fmt.Errorf("network %s: %w", n.Name, err)
	}
	return addr, nil
}

// attach makes the veth pair of one endpoint.
func (e *Engine) attach(n *Network, ep endpointRec, pid int, defaultRoute bool) error {
	p := n.prefix()
	ep4 := net.ParseIP(ep.IP).To4()
	var gw net.IP
	if defaultRoute {
		gw = net.ParseIP(n.Gateway).To4()
	}
	err := network.AttachEndpoint(network.Endpoint{
		Bridge: n.Bridge, HostName: ep.HostVeth, Pid: pid, IfName: ep.IfName,
		Addr: &net.IPNet{IP: ep4, Mask: net.CIDRMask(p.Bits(), 32)}, Gateway: gw,
	})
	if err != nil {
		return fmt.Errorf("connect the container to network %s: %w", n.Name, err)
	}
	return nil
}

// leaveNetworks takes a container off all its networks (when it stops or
// is removed). The record goes first, under the lock, and the peers'
// hosts files are rewritten; the kernel work happens after.
func (e *Engine) leaveNetworks(id string) error {
	e.stopSlirp(id) // rootless: its network is slirp4netns
	if _, err := os.Stat(filepath.Join(e.netDir(), "endpoints.json")); os.IsNotExist(err) {
		return nil // no container was ever on a network
	}
	var rec *ctrNet
	err := e.withEndpoints(func(t *endpointTable) (bool, error) {
		rec = t.Containers[id]
		if rec == nil {
			return false, nil
		}
		delete(t.Containers, id)
		var nets []string
		for _, ep := range rec.Endpoints {
			nets = append(nets, ep.Network)
		}
		return true, e.writeHosts(t, nets, "")
	})
	if err != nil || rec == nil {
		return err
	}
	return e.releaseNet(id, rec)
}

// writeHosts rewrites the hosts files of every container on one of nets,
// and of also (if not ""). The files are bind-mounted into the running
// containers, so they are rewritten in place (same inode), never
// replaced.
func (e *Engine) writeHosts(t *endpointTable, nets []string, also string) error {
	want := map[string]bool{}
	for _, n := range nets {
		want[n] = true
	}
	var peers map[string][]peerLine
	var errs []error
	for id, c := range t.Containers {
		hit := id == also
		for _, ep := range c.Endpoints {
			hit = hit || want[ep.Network]
		}
		if !hit || c.HostsPath == "" {
			continue
		}
		if peers == nil {
			peers = peerLines(t) // once: the same lines go into every file
		}
		if err := rewriteInPlace(c.HostsPath, renderHostsWith(t, id, peers)); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// rewriteInPlace gives the existing file path the content b, keeping its
// inode (a bind mount shows that inode): written over from the start, then
// cut to length. Not truncated to zero first: ext4 (auto_da_alloc) writes a
// file truncated to zero and written again out to the disk when it is
// closed, and a container's start rewrites the hosts file of every
// container on its network, one block write each.
func rewriteInPlace(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(b, 0)
	if err == nil {
		err = f.Truncate(int64(len(b)))
	}
	return errors.Join(err, f.Close())
}

// peerLine is one line of the hosts files of the containers on a network
// ("IP\tname aliases short-ID"), and the container it names.
type peerLine struct{ id, line string }

// peerLines is, for each network, the hosts line of every container on
// it, sorted: built once per writeHosts, so that rewriting the hosts files
// of N containers costs N files of N lines, not N sorts of them.
func peerLines(t *endpointTable) map[string][]peerLine {
	byNet := map[string][]peerLine{}
	for id, p := range t.Containers {
		for _, ep := range p.Endpoints {
			names := make([]string, 0, 2+len(ep.Aliases))
			if p.Name != "" {
				names = append(names, p.Name)
			}
			names = append(names, ep.Aliases...)
			names = append(names, ShortID(id))
			byNet[ep.Network] = append(byNet[ep.Network], peerLine{id, ep.IP + "\t" + strings.Join(names, " ")})
		}
	}
	for _, l := range byNet {
		sort.Slice(l, func(i, j int) bool { return l[i].line < l[j].line })
	}
	return byNet
}

// renderHosts is one container's /etc/hosts: localhost, its own
// addresses and hostname, --add-host entries, and every other container
// that shares a network with it, by name, aliases and short ID.
func renderHosts(t *endpointTable, id string) []byte {
	return renderHostsWith(t, id, peerLines(t))
}

func renderHostsWith(t *endpointTable, id string, byNet map[string][]peerLine) []byte {
	c := t.Containers[id]
	var b bytes.Buffer
	b.WriteString(hostsFile)
	for _, l := range c.ExtraHosts {
		b.WriteString(l + "\n")
	}
	for _, ep := range c.Endpoints {
		names := []string{c.Hostname}
		if c.Name != "" && c.Name != c.Hostname {
			names = append(names, c.Name)
		}
		fmt.Fprintf(&b, "%s\t%s\n", ep.IP, strings.Join(names, " "))
	}
	var peers []string
	nets := 0
	seen := map[string]bool{}
	for _, ep := range c.Endpoints {
		if seen[ep.Network] {
			continue
		}
		seen[ep.Network] = true
		nets++
		for _, l := range byNet[ep.Network] {
			if l.id != id {
				peers = append(peers, l.line)
			}
		}
	}
	if len(peers) > 0 {
		if nets > 1 {
			sort.Strings(peers) // one network's lines are sorted already
		}
		b.Grow(len(peers) * 48)
		b.WriteString("# containers on the same networks (kept current by minirun)\n")
		for _, l := range peers {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// readEndpoints reads the table without the lock, for display: the file is
// only ever replaced whole (rename), so it is never seen half-written.
func readEndpoints(e *Engine, t *endpointTable) error {
	b, err := os.ReadFile(filepath.Join(e.netDir(), "endpoints.json"))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, t)
}
