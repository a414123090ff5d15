package engine

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/minirun/minirun/network"
)

// NetworkInspect is `network inspect`'s JSON, with Docker's field names
// where Docker has the same field.
type NetworkInspect struct {
	Network
	IPAM       NetworkIPAM                 `json:"IPAM"`
	Containers map[string]NetworkContainer `json:"Containers"`
}

type NetworkIPAM struct {
	Driver string              `json:"Driver"`
	Config []map[string]string `json:"Config"`
}

type NetworkContainer struct {
	Name        string   `json:"Name"`
	IPv4Address string   `json:"IPv4Address"`
	Interface   string   `json:"Interface"`
	HostVeth    string   `json:"HostVeth"`
	Aliases     []string `json:"Aliases,omitempty"`
	Ports       []string `json:"Ports,omitempty"`
}

// InspectNetwork describes a network and the containers on it.
func (e *Engine) InspectNetwork(ref string) (*NetworkInspect, error) {
	n, err := e.findNetwork(ref)
	if err != nil {
		return nil, err
	}
	out := &NetworkInspect{Network: *n, Containers: map[string]NetworkContainer{},
		IPAM: NetworkIPAM{Driver: "default", Config: []map[string]string{{"Subnet": n.Subnet, "Gateway": n.Gateway}}}}
	err = e.withEndpoints(func(t *endpointTable) (bool, error) {
		changed := e.reconcileEndpoints(t)
		for id, c := range t.Containers {
			ep := c.endpoint(n.Name)
			if ep == nil {
				continue
			}
			p := netip.MustParsePrefix(n.Subnet)
			nc := NetworkContainer{Name: c.Name, IPv4Address: fmt.Sprintf("%s/%d", ep.IP, p.Bits()), Interface: ep.IfName, HostVeth: ep.HostVeth, Aliases: ep.Aliases}
			if c.Endpoints[0].Network == n.Name {
				for _, p := range c.Ports {
					nc.Ports = append(nc.Ports, p.String())
				}
			}
			out.Containers[id] = nc
		}
		return changed, nil
	})
	return out, err
}

// NetworkUsers counts the containers on each network (for `network ls`).
func (e *Engine) NetworkUsers() (map[string]int, error) {
	users := map[string]int{}
	err := e.withEndpoints(func(t *endpointTable) (bool, error) {
		changed := e.reconcileEndpoints(t)
		for _, c := range t.Containers {
			for _, ep := range c.Endpoints {
				users[ep.Network]++
			}
		}
		return changed, nil
	})
	return users, err
}

// Connect is `network connect`: a running container gets one more
// interface (eth1, eth2, ...) on the network, and names on it.
func (e *Engine) Connect(netRef, ctrRef string, aliases []string, ip string) error {
	if Rootless() {
		return &UsageError{errRootlessBridge}
	}
	m, err := e.Find(ctrRef)
	if err != nil {
		return err
	}
	c, err := e.Runtime.Load(m.ID)
	if err != nil || !e.alive(m.ID) {
		return fmt.Errorf("container %s is not running: network connect needs a running container", ctrRef)
	}
	n, err := e.network(netRef)
	if err != nil {
		return err
	}
	for _, a := range aliases {
		if !validName(a) {
			return &UsageError{fmt.Errorf("invalid --alias %q", a)}
		}
	}
	if ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil || !n.prefix().Contains(a) {
			return &UsageError{fmt.Errorf("--ip %s is not an address of network %s (%s)", ip, n.Name, n.Subnet)}
		}
	}
	var ep endpointRec
	err = e.withEndpoints(func(t *endpointTable) (bool, error) {
		rec := t.Containers[m.ID]
		if rec == nil {
			return false, fmt.Errorf("container %s is not on a bridge network (--network %s): it has no network namespace of its own to connect", ctrRef, m.Network)
		}
		if rec.endpoint(n.Name) != nil {
			return false, fmt.Errorf("container %s is already connected to network %s", ctrRef, n.Name)
		}
		used := map[string]bool{}
		for _, e := range rec.Endpoints {
			used[e.IfName] = true
		}
		idx := 0
		for used[fmt.Sprintf("eth%d", idx)] {
			idx++
		}
		var a netip.Addr
		if ip != "" {
			a = netip.MustParseAddr(ip)
			i, err := e.ipam(n)
			if err == nil {
				err = i.AllocateSpecific(m.ID, a)
			}
			if err != nil {
				return false, err
			}
		} else {
			var err error
			if a, err = e.allocate(t, n, m.ID, "", idx); err != nil {
				return false, err
			}
		}
		ep = endpointRec{Network: n.Name, IP: a.String(), IfName: fmt.Sprintf("eth%d", idx), HostVeth: network.HostVethNameN(m.ID, idx), Aliases: aliases}
		rec.Endpoints = append(rec.Endpoints, ep)
		return true, nil
	})
	if err != nil {
		return err
	}
	if err := e.attach(n, ep, c.Pid(), false); err != nil {
		_ = e.Disconnect(n.Name, m.ID)
		return err
	}
	return e.withEndpoints(func(t *endpointTable) (bool, error) {
		return true, e.writeHosts(t, []string{n.Name}, m.ID)
	})
}

// Disconnect is `network disconnect`: the container's interface on the
// network goes away, with its address and its names there. Ports
// published on that network are unpublished.
func (e *Engine) Disconnect(netRef, ctrRef string) error {
	m, err := e.Find(ctrRef)
	if err != nil {
		return err
	}
	n, err := e.findNetwork(netRef)
	if err != nil {
		return err
	}
	var ep endpointRec
	var unpublish bool
	err = e.withEndpoints(func(t *endpointTable) (bool, error) {
		rec := t.Containers[m.ID]
		var p *endpointRec
		if rec != nil {
			p = rec.endpoint(n.Name)
		}
		if p == nil {
			return false, fmt.Errorf("container %s is not connected to network %s", ctrRef, n.Name)
		}
		ep = *p
		unpublish = rec.Endpoints[0].Network == n.Name && len(rec.Ports) > 0
		if unpublish {
			rec.Ports = nil
		}
		var keep []endpointRec
		for _, x := range rec.Endpoints {
			if x.Network != n.Name {
				keep = append(keep, x)
			}
		}
		rec.Endpoints = keep
		return true, e.writeHosts(t, []string{n.Name}, m.ID)
	})
	if err != nil {
		return err
	}
	var errs []string
	if err := network.Detach(ep.HostVeth); err != nil {
		errs = append(errs, err.Error())
	}
	if a, err := e.ipam(n); err == nil {
		if err := a.Release(m.ID); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if unpublish {
		if err := e.firewall().Unpublish(m.ID); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("disconnect %s from %s: %s", ctrRef, n.Name, strings.Join(errs, "; "))
	}
	return nil
}

// PruneReport is what system prune removed.
type PruneReport struct {
	Containers []string
	Networks   []string
	Repaired   []string // leftovers of crashed runs that were cleaned
}

// RepairNetworks cleans what crashed minirun processes left on the
// networks: endpoints of dead containers (veths, addresses, hosts
// entries), addresses no container holds, and published-port rules of
// containers that no longer exist. It reports what it freed.
func (e *Engine) RepairNetworks() ([]string, error) {
	var repaired []string
	live := map[string]bool{}
	err := e.withEndpoints(func(t *endpointTable) (bool, error) {
		before := map[string]bool{}
		for id := range t.Containers {
			before[id] = true
		}
		changed := e.reconcileEndpoints(t)
		e.sweepVeths(t)
		for id := range before {
			if t.Containers[id] == nil {
				repaired = append(repaired, "endpoints of container "+ShortID(id))
			}
		}
		for id := range t.Containers {
			live[id] = true
		}
		return changed, nil
	})
	if err != nil {
		return nil, err
	}
	nets, err := e.Networks()
	if err != nil {
		return nil, err
	}
	for i := range nets {
		a, err := e.ipam(&nets[i])
		if err != nil {
			return repaired, err
		}
		freed, err := a.Reconcile(live)
		if err != nil {
			return repaired, err
		}
		for _, id := range freed {
			repaired = append(repaired, fmt.Sprintf("address of container %s on network %s", ShortID(id), nets[i].Name))
		}
	}
	if ok, err := e.firewall().Exists(); err == nil && ok {
		gone, err := e.firewall().Reconcile(func(owner string) bool { return live[owner] })
		if err != nil {
			return repaired, err
		}
		for _, id := range gone {
			repaired = append(repaired, "published ports of container "+ShortID(id))
		}
	}
	sort.Strings(repaired)
	return repaired, nil
}

// SystemPrune is `minirun system prune`: it removes stopped containers
// and user networks no container uses, and repairs what crashed runs
// left behind (see RepairNetworks). The default network stays, as in
// Docker; `minirun network rm bridge` removes it.
func (e *Engine) SystemPrune() (*PruneReport, error) {
	rep := &PruneReport{}
	ms, err := e.metas()
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if e.alive(m.ID) {
			continue
		}
		if err := e.Remove(m.ID, false); err != nil {
			return rep, err
		}
		rep.Containers = append(rep.Containers, m.ID)
	}
	if rep.Repaired, err = e.RepairNetworks(); err != nil {
		return rep, err
	}
	users, err := e.NetworkUsers()
	if err != nil {
		return rep, err
	}
	nets, err := e.Networks()
	if err != nil {
		return rep, err
	}
	for _, n := range nets {
		if n.Name == DefaultNetwork || users[n.Name] > 0 {
			continue
		}
		if err := e.RemoveNetwork(n.Name); err != nil {
			return rep, err
		}
		rep.Networks = append(rep.Networks, n.Name)
	}
	return rep, nil
}
