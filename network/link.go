package network

// This file wires a container into a host network the way most runtimes do
// (Docker's "bridge" network, CNI's "bridge" plugin):
//
//	  host network namespace                     container network namespace
//	+---------------------------------------+   +----------------------------------+
//	| bridge "minirun0"  10.88.0.1/16       |   |                                  |
//	|   |-- veth "mrab12cd34ef5" ===========|===|== veth "eth0"  10.88.0.5/16      |
//	|   `-- veth "mr..." (one per container)|   |   default via 10.88.0.1 dev eth0 |
//	+---------------------------------------+   +----------------------------------+
//
// A bridge is a virtual Ethernet switch inside the kernel. Interfaces
// "enslaved" to it become its ports; frames entering one port are forwarded
// to the port that owns the destination MAC address. The bridge itself is
// also an interface of the host: giving it an address (the gateway, e.g.
// 10.88.0.1/16) puts the host on that virtual switch, so containers can
// talk to the host and, through it, further (routing and NAT are separate).
//
// A veth pair is a virtual Ethernet cable with two interfaces as its ends:
// what is sent into one end comes out of the other. Each end can live in a
// different network namespace, which is what makes it the classic way to
// connect a container: one end stays on the host, plugged into the bridge,
// the other is in the container's namespace and is its eth0.
// Deleting either end destroys the pair (man 4 veth).
//
// Interface names are per network namespace: the host very likely has an
// eth0 already, yet the container end can be called eth0, because it is
// created directly in the container's namespace (the peer's attributes in
// the RTM_NEWLINK request carry the namespace, IFLA_NET_NS_FD). Creating it
// on the host and moving it (`ip link set ... netns`) works too, but the
// move waits for an RCU grace period: ~20 ms of every start.
//
// MTU (maximum transmission unit) is the largest packet an interface sends
// without fragmenting. Packets from a container eventually leave through
// the host's uplink, so the bridge takes the MTU of the host's default-route
// interface (a cloud VM or a VPN often has less than Ethernet's 1500) and
// both veth ends use the bridge's MTU: a mismatch shows up as connections
// that open but hang on large transfers.
//
// The default route ("default via 10.88.0.1 dev eth0") tells the container
// where to send packets for any address not on its own subnet: to the
// gateway, i.e. the bridge's address on the host.
//
// Everything here is done with netlink (man 7 netlink, man 7 rtnetlink),
// the socket protocol `ip` speaks too (man 8 ip-link, man 8 ip-address,
// man 8 ip-route). Work inside the container's namespace goes through a
// netlink socket opened in that namespace (netlink.NewHandleAt), never by
// switching the calling thread into it: a Go goroutine can migrate between
// OS threads, and a thread left in the wrong namespace is a hard bug to find.

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// maxIfNameLen is the longest interface name the kernel accepts:
// IFNAMSIZ (16) minus the terminating NUL.
const maxIfNameLen = unix.IFNAMSIZ - 1

// defaultMTU is used when the host has no IPv4 default route.
const defaultMTU = 1500

// containerIfName is the name the container end of the veth gets inside
// the container's network namespace.
const containerIfName = "eth0"

// hostVethIDLen is how many characters of the container ID HostVethName
// keeps after its "mr" prefix.
const hostVethIDLen = 11

// HostVethName derives the host-side veth name from a container ID:
// "mr" followed by the first 11 characters of the ID, 13 characters at most
// and so within the kernel's 15 (IFNAMSIZ-1). Characters the kernel refuses
// in interface names ('/', ':' and white space), and any other byte that is
// not printable ASCII, are replaced by '-'.
func HostVethName(containerID string) string {
	id := containerID
	if len(id) > hostVethIDLen {
		id = id[:hostVethIDLen]
	}
	// Anything but printable ASCII becomes '-', so the result is ASCII and
	// never longer than "mr" + 11 bytes.
	id = strings.Map(func(r rune) rune {
		if r <= ' ' || r > '~' || r == '/' || r == ':' {
			return '-'
		}
		return r
	}, id)
	return "mr" + id
}

// HostVethNameN is the host end of a container's n-th interface (eth<n>):
// HostVethName for n = 0, else "mr", nine characters of the ID, '-' and n,
// so that a container connected to several networks has distinct names.
func HostVethNameN(containerID string, n int) string {
	if n <= 0 {
		return HostVethName(containerID)
	}
	base := HostVethName(containerID)
	if len(base) > 11 {
		base = base[:11]
	}
	name := base + "-" + strconv.Itoa(n)
	if len(name) > maxIfNameLen {
		name = name[:maxIfNameLen]
	}
	return name
}

// EnsureBridge creates (if missing) a Linux bridge named name with the
// gateway address gw (e.g. 10.88.0.1/16), sets it up and returns it, as
//
//	ip link add name <name> mtu <mtu> type bridge
//	ip addr add <gw> dev <name>
//	ip link set <name> up
//
// It is idempotent: an existing bridge is reused, keeps the addresses it
// has, and gets gw added if it lacks it. A new bridge takes the MTU of the
// host's default-route interface (1500 without one); an existing bridge's
// MTU is left alone. An existing link of that name that is not a bridge is
// an error. If EnsureBridge created the bridge and a later step fails, it
// removes the bridge again.
func EnsureBridge(name string, gw *net.IPNet) (link netlink.Link, err error) {
	if err := checkIfName(name); err != nil {
		return nil, err
	}
	if gw == nil || gw.IP == nil || gw.Mask == nil {
		return nil, fmt.Errorf("bridge %s: no gateway address", name)
	}

	br, err := netlink.LinkByName(name)
	created := false
	switch {
	case err == nil:
		if br.Type() != "bridge" {
			return nil, fmt.Errorf("link %s exists and is a %s, not a bridge", name, br.Type())
		}
	case isLinkNotFound(err):
		mtu, err := defaultRouteMTU()
		if err != nil {
			return nil, err
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name = name
		attrs.MTU = mtu
		if err := netStep("create the bridge", manLink, func() string { return fmt.Sprintf("ip link add %s mtu %d type bridge", name, mtu) },
			func() error { return netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}) }); err != nil {
			if !errors.Is(err, unix.EEXIST) {
				return nil, fmt.Errorf("ip link add %s type bridge: %w", name, err)
			}
			// Someone created it between our lookup and LinkAdd: reuse it.
		} else {
			created = true
		}
		if br, err = netlink.LinkByName(name); err != nil {
			return nil, fmt.Errorf("find bridge %s: %w", name, err)
		}
		if br.Type() != "bridge" {
			return nil, fmt.Errorf("link %s exists and is a %s, not a bridge", name, br.Type())
		}
	default:
		return nil, fmt.Errorf("find bridge %s: %w", name, err)
	}
	if created {
		defer func() {
			if err != nil {
				_ = netlink.LinkDel(br)
			}
		}()
	}

	has, err := hasAddr(br, gw)
	if err != nil {
		return nil, fmt.Errorf("list addresses of %s: %w", name, err)
	}
	if !has {
		if err := netStep("give the bridge the gateway address", manAddr, func() string { return fmt.Sprintf("ip addr add %s dev %s", gw, name) },
			func() error { return netlink.AddrAdd(br, &netlink.Addr{IPNet: gw}) }); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("ip addr add %s dev %s: %w", gw, name, err)
		}
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return nil, fmt.Errorf("ip link set %s up: %w", name, err)
	}
	// Return a fresh view (flags now include up).
	if br, err = netlink.LinkByName(name); err != nil {
		return nil, fmt.Errorf("find bridge %s: %w", name, err)
	}
	return br, nil
}

// DeleteBridge removes the bridge named name (`ip link del <name>`); its
// ports are released, not deleted. A missing bridge is not an error; a link
// of that name that is not a bridge is, and is left alone.
func DeleteBridge(name string) error {
	br, err := netlink.LinkByName(name)
	if err != nil {
		if isLinkNotFound(err) {
			return nil
		}
		return fmt.Errorf("find bridge %s: %w", name, err)
	}
	if br.Type() != "bridge" {
		return fmt.Errorf("link %s is a %s, not a bridge: not deleting it", name, br.Type())
	}
	if err := netStep("delete the bridge", manLink, func() string { return "ip link del " + name },
		func() error { return netlink.LinkDel(br) }); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("ip link del %s: %w", name, err)
	}
	return nil
}

// Endpoint is one interface of a container on a bridge: what
// AttachEndpoint creates.
type Endpoint struct {
	Bridge   string     // the bridge the host end joins
	HostName string     // the host end's name (see HostVethName)
	Pid      int        // a process in the target network namespace
	IfName   string     // the container end's name; "" means eth0
	Addr     *net.IPNet // the container end's address, e.g. 10.88.0.5/16
	// Gateway, if set, becomes the container's default route. A container
	// on several networks has one default route: its first network's.
	Gateway net.IP
}

// Attach connects the network namespace of process pid to the bridge as
// eth0 with a default route via gw; see AttachEndpoint.
func Attach(bridge string, hostName string, pid int, addr *net.IPNet, gw net.IP) error {
	if gw == nil {
		return fmt.Errorf("attach %s: no gateway", hostName)
	}
	return AttachEndpoint(Endpoint{Bridge: bridge, HostName: hostName, Pid: pid, Addr: addr, Gateway: gw})
}

// AttachEndpoint connects the network namespace of process ep.Pid to the
// bridge:
//
//	ip link add <hostName> mtu <mtu> type veth peer name eth0 mtu <mtu> netns <pid>
//	ip link set <hostName> master <bridge> up
//	bridge link set dev <hostName> hairpin on
//	# inside the namespace:
//	ip addr add <addr> dev eth0
//	ip link set eth0 up
//	ip link set lo up
//	ip route add default via <gw> dev eth0
//
// Both ends get the MTU of the host's default-route interface and the
// container end the address ep.Addr, and
// ep.Gateway (the bridge's address), if given, becomes its default route.
// Hairpin mode lets the bridge send a frame back out of the port it came
// in on: a container that reaches its own published port through the
// host's address gets its packets back through its own veth. On any
// failure AttachEndpoint deletes the veth pair it created, which also
// removes the container end wherever it is by then.
func AttachEndpoint(ep Endpoint) (err error) {
	bridge, hostName, pid, addr, gw := ep.Bridge, ep.HostName, ep.Pid, ep.Addr, ep.Gateway
	ifName := ep.IfName
	if ifName == "" {
		ifName = containerIfName
	}
	if err := checkIfName(hostName); err != nil {
		return err
	}
	if err := checkIfName(ifName); err != nil {
		return err
	}
	if addr == nil || addr.IP == nil || addr.Mask == nil {
		return fmt.Errorf("attach %s: no address for %s", hostName, ifName)
	}
	if pid <= 0 {
		return fmt.Errorf("attach %s: invalid pid %d", hostName, pid)
	}

	br, err := netlink.LinkByName(bridge)
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", bridge, err)
	}
	if br.Type() != "bridge" {
		return fmt.Errorf("link %s is a %s, not a bridge", bridge, br.Type())
	}
	// The host's MTU, not the bridge's: a bridge without ports falls back
	// to 1500 whatever it was created with.
	mtu, err := defaultRouteMTU()
	if err != nil {
		return err
	}

	// A handle on the target namespace: /proc/<pid>/ns/net, opened once so
	// that everything below talks to the same namespace even if the process
	// exits meanwhile.
	nsh, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("open network namespace of pid %d: %w", pid, err)
	}
	defer nsh.Close()

	attrs := netlink.NewLinkAttrs()
	attrs.Name = hostName
	attrs.MTU = mtu
	// The peer is born in the container's namespace, under its final name
	// (IFLA_NET_NS_FD in the peer's attributes): moving an existing link
	// there (`ip link set ... netns`) makes the kernel wait for an RCU grace
	// period, ~20 ms of every start.
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: ifName, PeerMTU: uint32(mtu), PeerNamespace: netlink.NsFd(nsh)}
	// A veth of that name left from an earlier run of the same container
	// (its namespace not yet torn down by the kernel) goes first.
	if old, err := netlink.LinkByName(hostName); err == nil && old.Type() == "veth" {
		_ = netlink.LinkDel(old)
	}
	if err := netStep("create a veth pair into the container", manVeth, func() string {
		return fmt.Sprintf("ip link add %s mtu %d type veth peer name %s mtu %d netns /proc/%d/ns/net", hostName, mtu, ifName, mtu, pid)
	}, func() error { return netlink.LinkAdd(veth) }); err != nil {
		return fmt.Errorf("ip link add %s type veth peer name %s netns %d: %w", hostName, ifName, pid, err)
	}
	defer func() {
		if err != nil {
			// Deleting one end deletes the pair, the peer included,
			// whichever namespace it has reached.
			if h, lerr := netlink.LinkByName(hostName); lerr == nil {
				_ = netlink.LinkDel(h)
			}
		}
	}()

	host, err := netlink.LinkByName(hostName)
	if err != nil {
		return fmt.Errorf("find veth %s: %w", hostName, err)
	}
	if err := netStep("plug the host end into the bridge", manLink, func() string { return fmt.Sprintf("ip link set %s master %s", hostName, bridge) },
		func() error { return netlink.LinkSetMaster(host, br) }); err != nil {
		return fmt.Errorf("ip link set %s master %s: %w", hostName, bridge, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fmt.Errorf("ip link set %s up: %w", hostName, err)
	}
	if err := netlink.LinkSetHairpin(host, true); err != nil {
		return fmt.Errorf("bridge link set dev %s hairpin on: %w", hostName, err)
	}

	// From here on, a netlink socket living in the container's namespace.
	// NETLINK_ROUTE only: by default the handle also opens XFRM and
	// netfilter sockets, whose modules a host may not have loaded.
	h, err := netlink.NewHandleAt(nsh, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink socket in the network namespace of pid %d: %w", pid, err)
	}
	defer h.Delete()

	ctr, err := h.LinkByName(ifName)
	if err != nil {
		return fmt.Errorf("find %s in the network namespace of pid %d: %w", ifName, pid, err)
	}
	if ctr.Attrs().MTU != mtu {
		if err := h.LinkSetMTU(ctr, mtu); err != nil {
			return fmt.Errorf("ip link set %s mtu %d: %w", ifName, mtu, err)
		}
	}
	if err := netStep("give the container its address", manAddr, func() string { return fmt.Sprintf("ip -n <pid %d> addr add %s dev %s", pid, addr, ifName) },
		func() error { return h.AddrAdd(ctr, &netlink.Addr{IPNet: addr}) }); err != nil {
		return fmt.Errorf("ip addr add %s dev %s: %w", addr, ifName, err)
	}
	// Up before the route: the kernel refuses a gateway it cannot reach
	// through an up interface.
	if err := h.LinkSetUp(ctr); err != nil {
		return fmt.Errorf("ip link set %s up: %w", ifName, err)
	}
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo in the network namespace of pid %d: %w", pid, err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("ip link set lo up: %w", err)
	}
	if gw == nil {
		return nil
	}
	route := &netlink.Route{
		LinkIndex: ctr.Attrs().Index,
		Scope:     netlink.SCOPE_UNIVERSE,
		Gw:        gw,
		// Dst nil: the default route (0.0.0.0/0).
	}
	if err := netStep("route the container's traffic to the gateway", manRoute, func() string { return fmt.Sprintf("ip -n <pid %d> route add default via %s dev %s", pid, gw, ifName) },
		func() error { return h.RouteAdd(route) }); err != nil {
		return fmt.Errorf("ip route add default via %s dev %s: %w", gw, ifName, err)
	}
	return nil
}

// Ports lists the veths plugged into any of the bridges (by name).
func Ports(bridges []string) []string {
	idx := map[int]bool{}
	for _, b := range bridges {
		if l, err := netlink.LinkByName(b); err == nil {
			idx[l.Attrs().Index] = true
		}
	}
	if len(idx) == 0 {
		return nil
	}
	links, err := netlink.LinkList()
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range links {
		if l.Type() == "veth" && idx[l.Attrs().MasterIndex] {
			out = append(out, l.Attrs().Name)
		}
	}
	return out
}

// Detach deletes the host end of a container's veth pair
// (`ip link del <hostName>`); the container end dies with it. A missing
// link is not an error; a link of that name that is not a veth is, and is
// left alone.
func Detach(hostName string) error {
	l, err := netlink.LinkByName(hostName)
	if err != nil {
		if isLinkNotFound(err) {
			return nil
		}
		return fmt.Errorf("find veth %s: %w", hostName, err)
	}
	if l.Type() != "veth" {
		return fmt.Errorf("link %s is a %s, not a veth: not deleting it", hostName, l.Type())
	}
	if err := netStep("delete the veth pair", manVeth, func() string { return "ip link del " + hostName },
		func() error { return netlink.LinkDel(l) }); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("ip link del %s: %w", hostName, err)
	}
	return nil
}

// defaultRouteMTU returns the MTU of the interface carrying the host's IPv4
// default route, or 1500 if there is none.
func defaultRouteMTU() (int, error) {
	routes, err := routeList(netlink.RouteList, nil, netlink.FAMILY_V4)
	if err != nil {
		return 0, fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		if !isDefaultRoute(r) || r.Table != unix.RT_TABLE_MAIN {
			continue
		}
		idx := r.LinkIndex
		if idx == 0 && len(r.MultiPath) > 0 {
			idx = r.MultiPath[0].LinkIndex
		}
		if idx == 0 {
			continue
		}
		l, err := netlink.LinkByIndex(idx)
		if err != nil {
			continue
		}
		if mtu := l.Attrs().MTU; mtu > 0 {
			return mtu, nil
		}
	}
	return defaultMTU, nil
}

// isDefaultRoute reports whether r is 0.0.0.0/0 (netlink reports it either
// with a nil Dst or, in recent versions, as 0.0.0.0/0).
func isDefaultRoute(r netlink.Route) bool {
	if r.Dst == nil {
		return true
	}
	ones, _ := r.Dst.Mask.Size()
	return ones == 0
}

// routeList retries a route dump the kernel interrupted because the table
// changed while it was being read.
func routeList(list func(netlink.Link, int) ([]netlink.Route, error), link netlink.Link, family int) ([]netlink.Route, error) {
	var err error
	for range 5 {
		var routes []netlink.Route
		routes, err = list(link, family)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return routes, err
		}
	}
	return nil, err
}

// hasAddr reports whether link already carries exactly want (same address
// and prefix length).
func hasAddr(link netlink.Link, want *net.IPNet) (bool, error) {
	var addrs []netlink.Addr
	var err error
	for range 5 {
		addrs, err = netlink.AddrList(link, netlink.FAMILY_ALL)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return false, err
	}
	wantOnes, _ := want.Mask.Size()
	for _, a := range addrs {
		if a.IPNet == nil || !a.IP.Equal(want.IP) {
			continue
		}
		if ones, _ := a.Mask.Size(); ones == wantOnes {
			return true, nil
		}
	}
	return false, nil
}

// checkIfName rejects names the kernel would refuse (see dev_valid_name in
// net/core/dev.c), with a clearer message than EINVAL.
func checkIfName(name string) error {
	switch {
	case name == "", name == ".", name == "..":
		return fmt.Errorf("invalid interface name %q", name)
	case len(name) > maxIfNameLen:
		return fmt.Errorf("interface name %q is longer than %d bytes", name, maxIfNameLen)
	case strings.ContainsAny(name, "/: \t\n\r\v\f"):
		return fmt.Errorf("interface name %q contains '/', ':' or white space", name)
	}
	return nil
}

// isLinkNotFound reports whether err means "no such link".
func isLinkNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}
