package network

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func TestHostVethName(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"3f9a1c0b7d2e4f6a8b9c0d1e2f3a4b5c", "mr3f9a1c0b7d2"},
		{"abc", "mrabc"},
		{"", "mr"},
		{"a/b:c d\té", "mra-b-c-d--"}, // 'é' is two bytes: both replaced
	} {
		got := HostVethName(tc.id)
		if got != tc.want {
			t.Errorf("HostVethName(%q) = %q, want %q", tc.id, got, tc.want)
		}
		if len(got) > unix.IFNAMSIZ-1 {
			t.Errorf("HostVethName(%q) = %q is longer than IFNAMSIZ-1", tc.id, got)
		}
	}
}

func TestEnsureBridgeNewAndIdempotent(t *testing.T) {
	requireRoot(t)
	brName := "mrt" + randHex(t, 3)
	expectNoLinksLeft(t, brName)
	t.Cleanup(func() { _ = DeleteBridge(brName) })
	subnet := pickTestSubnet(t)
	gw := hostInSubnet(subnet, 1)

	br, err := EnsureBridge(brName, gw)
	if err != nil {
		t.Fatalf("EnsureBridge: %v", err)
	}
	if br.Type() != "bridge" {
		t.Fatalf("type %q, want bridge", br.Type())
	}
	if br.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("bridge %s is not up", brName)
	}
	if want := hostDefaultMTU(t); br.Attrs().MTU != want {
		t.Errorf("bridge MTU %d, want %d (host default-route interface)", br.Attrs().MTU, want)
	}
	assertAddrs(t, br, []*net.IPNet{gw})

	br2, err := EnsureBridge(brName, gw)
	if err != nil {
		t.Fatalf("EnsureBridge again: %v", err)
	}
	if br2.Attrs().Index != br.Attrs().Index {
		t.Errorf("second EnsureBridge returned ifindex %d, want the same bridge %d", br2.Attrs().Index, br.Attrs().Index)
	}
	assertAddrs(t, br2, []*net.IPNet{gw})

	if err := DeleteBridge(brName); err != nil {
		t.Fatalf("DeleteBridge: %v", err)
	}
	assertLinkGone(t, nil, brName)
	if err := DeleteBridge(brName); err != nil {
		t.Errorf("DeleteBridge of a missing bridge: %v", err)
	}
}

func TestEnsureBridgeKeepsOtherAddresses(t *testing.T) {
	requireRoot(t)
	brName := "mrt" + randHex(t, 3)
	expectNoLinksLeft(t, brName)
	t.Cleanup(func() { _ = DeleteBridge(brName) })
	subnet := pickTestSubnet(t)
	gw := hostInSubnet(subnet, 1)
	other := hostInSubnet(subnet, 9)

	// A bridge somebody set up before us, with another address, down.
	attrs := netlink.NewLinkAttrs()
	attrs.Name = brName
	if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
		t.Fatalf("create bridge: %v", err)
	}
	pre, err := netlink.LinkByName(brName)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.AddrAdd(pre, &netlink.Addr{IPNet: other}); err != nil {
		t.Fatalf("add %s: %v", other, err)
	}
	preMTU := pre.Attrs().MTU

	br, err := EnsureBridge(brName, gw)
	if err != nil {
		t.Fatalf("EnsureBridge on an existing bridge: %v", err)
	}
	if br.Attrs().Index != pre.Attrs().Index {
		t.Errorf("EnsureBridge replaced the bridge (ifindex %d, was %d)", br.Attrs().Index, pre.Attrs().Index)
	}
	if br.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("bridge %s is not up", brName)
	}
	if br.Attrs().MTU != preMTU {
		t.Errorf("existing bridge MTU changed from %d to %d", preMTU, br.Attrs().MTU)
	}
	assertAddrs(t, br, []*net.IPNet{other, gw})
	if _, err := EnsureBridge(brName, gw); err != nil {
		t.Fatalf("EnsureBridge again: %v", err)
	}
	assertAddrs(t, br, []*net.IPNet{other, gw})
}

func TestWrongLinkTypesAreLeftAlone(t *testing.T) {
	requireRoot(t)
	a, b := "mrt"+randHex(t, 4), "mrt"+randHex(t, 4)
	brName := "mrt" + randHex(t, 3)
	expectNoLinksLeft(t, a, b, brName)
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(a); err == nil {
			_ = netlink.LinkDel(l)
		}
	})
	t.Cleanup(func() { _ = DeleteBridge(brName) })

	attrs := netlink.NewLinkAttrs()
	attrs.Name = a
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: b}); err != nil {
		t.Fatalf("create veth: %v", err)
	}
	gw := hostInSubnet(pickTestSubnet(t), 1)
	if _, err := EnsureBridge(a, gw); err == nil {
		t.Errorf("EnsureBridge on a veth succeeded, want an error")
	}
	if err := DeleteBridge(a); err == nil {
		t.Errorf("DeleteBridge on a veth succeeded, want an error")
	}
	if _, err := netlink.LinkByName(a); err != nil {
		t.Errorf("veth %s was removed: %v", a, err)
	}

	if _, err := EnsureBridge(brName, gw); err != nil {
		t.Fatalf("EnsureBridge: %v", err)
	}
	if err := Detach(brName); err == nil {
		t.Errorf("Detach on a bridge succeeded, want an error")
	}
	if _, err := netlink.LinkByName(brName); err != nil {
		t.Errorf("bridge %s was removed: %v", brName, err)
	}
	if err := Detach("mrt" + randHex(t, 5)); err != nil {
		t.Errorf("Detach of a missing link: %v", err)
	}
}

func TestAttachDetach(t *testing.T) {
	requireRoot(t)
	brName := "mrt" + randHex(t, 3)
	hostName := HostVethName("t" + randHex(t, 10))
	expectNoLinksLeft(t, brName, hostName)
	subnet := pickTestSubnet(t)
	gw := hostInSubnet(subnet, 1)
	addr := hostInSubnet(subnet, 5)

	child := startNetnsChild(t)
	t.Cleanup(func() { _ = DeleteBridge(brName) })
	t.Cleanup(func() { _ = Detach(hostName) })

	br, err := EnsureBridge(brName, gw)
	if err != nil {
		t.Fatalf("EnsureBridge: %v", err)
	}
	start := time.Now()
	if err := Attach(brName, hostName, child.pid, addr, gw.IP); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	t.Logf("Attach took %v", time.Since(start))
	mtu := br.Attrs().MTU

	// Host side: the veth end is a port of the bridge, up, same MTU.
	host, err := netlink.LinkByName(hostName)
	if err != nil {
		t.Fatalf("host end %s: %v", hostName, err)
	}
	if host.Type() != "veth" {
		t.Errorf("host end type %q, want veth", host.Type())
	}
	if host.Attrs().MasterIndex != br.Attrs().Index {
		t.Errorf("host end master index %d, want the bridge %d", host.Attrs().MasterIndex, br.Attrs().Index)
	}
	if host.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("host end %s is not up", hostName)
	}
	if host.Attrs().MTU != mtu {
		t.Errorf("host end MTU %d, want the bridge's %d", host.Attrs().MTU, mtu)
	}

	// Container side, seen through a netlink socket in its namespace.
	h := child.handle(t)
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatalf("eth0 in the child's namespace: %v", err)
	}
	if eth0.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("eth0 is not up")
	}
	if eth0.Attrs().MTU != mtu {
		t.Errorf("eth0 MTU %d, want the bridge's %d", eth0.Attrs().MTU, mtu)
	}
	addrs, err := h.AddrList(eth0, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 1 || addrs[0].IPNet.String() != addr.String() {
		t.Errorf("eth0 addresses %v, want [%s]", addrs, addr)
	}
	lo, err := h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if lo.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("lo is not up in the child's namespace")
	}
	routes, err := h.RouteList(eth0, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var haveDefault bool
	for _, r := range routes {
		if isDefaultRoute(r) && r.Gw.Equal(gw.IP) {
			haveDefault = true
		}
	}
	if !haveDefault {
		t.Errorf("no default route via %s in the child's namespace; routes: %v", gw.IP, routes)
	}
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	if names := linkNames(links); len(names) != 2 {
		t.Errorf("links in the child's namespace %v, want only lo and eth0", names)
	}

	// Connectivity: a TCP connection from inside the namespace to the
	// gateway address on the bridge.
	checkTCPFromNamespace(t, child.ns, gw.IP, addr.IP)

	// Detach: both ends go.
	if err := Detach(hostName); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	assertLinkGone(t, nil, hostName)
	assertLinkGone(t, h, "eth0")
	if err := Detach(hostName); err != nil {
		t.Errorf("second Detach: %v", err)
	}

	if err := DeleteBridge(brName); err != nil {
		t.Fatalf("DeleteBridge: %v", err)
	}
	assertLinkGone(t, nil, brName)
	child.stop()
}

func TestAttachRollsBack(t *testing.T) {
	requireRoot(t)
	brName := "mrt" + randHex(t, 3)
	first := HostVethName("t" + randHex(t, 10))
	second := HostVethName("t" + randHex(t, 10))
	third := HostVethName("t" + randHex(t, 10))
	expectNoLinksLeft(t, brName, first, second, third)
	subnet := pickTestSubnet(t)
	gw := hostInSubnet(subnet, 1)

	child := startNetnsChild(t)
	fresh := startNetnsChild(t)
	t.Cleanup(func() { _ = DeleteBridge(brName) })
	for _, n := range []string{first, second, third} {
		t.Cleanup(func() { _ = Detach(n) })
	}

	// No such bridge: nothing may be created.
	if err := Attach(brName, first, child.pid, hostInSubnet(subnet, 5), gw.IP); err == nil {
		t.Fatalf("Attach to a missing bridge succeeded")
	}
	assertLinkGone(t, nil, first)

	if _, err := EnsureBridge(brName, gw); err != nil {
		t.Fatalf("EnsureBridge: %v", err)
	}
	if err := Attach(brName, first, child.pid, hostInSubnet(subnet, 5), gw.IP); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	// The namespace has an eth0 now: renaming the second peer fails, after
	// it was moved in. The pair must be gone on both sides.
	if err := Attach(brName, second, child.pid, hostInSubnet(subnet, 6), gw.IP); err == nil {
		t.Fatalf("second Attach into the same namespace succeeded")
	} else {
		t.Logf("second Attach failed as expected: %v", err)
	}
	assertLinkGone(t, nil, second)
	assertOnlyLinks(t, child.handle(t), "eth0", "lo")

	// A gateway outside the subnet: the route fails last, after address
	// and link-up; again nothing may remain.
	badGW := net.IPv4(10, 254, 255, 254)
	if err := Attach(brName, third, fresh.pid, hostInSubnet(subnet, 7), badGW); err == nil {
		t.Fatalf("Attach with an unreachable gateway succeeded")
	} else {
		t.Logf("Attach with an unreachable gateway failed as expected: %v", err)
	}
	assertLinkGone(t, nil, third)
	assertOnlyLinks(t, fresh.handle(t), "lo")

	if err := Detach(first); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	if err := DeleteBridge(brName); err != nil {
		t.Fatalf("DeleteBridge: %v", err)
	}
}

// --- helpers ---

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root (creates bridges, veth pairs and network namespaces)")
	}
}

func randHex(t *testing.T, nbytes int) string {
	t.Helper()
	b := make([]byte, nbytes)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// pickTestSubnet returns a random 10.253.X.0/24 that overlaps no route of
// any table and no address on the host.
func pickTestSubnet(t *testing.T) *net.IPNet {
	t.Helper()
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4,
		&netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatalf("list routes: %v", err)
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatalf("list addresses: %v", err)
	}
	var used []*net.IPNet
	for _, r := range routes {
		if r.Dst != nil && !isDefaultRoute(r) {
			used = append(used, r.Dst)
		}
	}
	for _, a := range addrs {
		used = append(used, a.IPNet)
	}
	for range 100 {
		b := make([]byte, 1)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		cand := &net.IPNet{IP: net.IPv4(10, 253, b[0], 0).To4(), Mask: net.CIDRMask(24, 32)}
		clash := false
		for _, u := range used {
			if u.Contains(cand.IP) || cand.Contains(u.IP) {
				clash = true
				break
			}
		}
		if !clash {
			return cand
		}
	}
	t.Fatal("no free 10.253.X.0/24 test subnet")
	return nil
}

// hostInSubnet returns subnet's address number n, with subnet's mask.
func hostInSubnet(subnet *net.IPNet, n byte) *net.IPNet {
	ip := make(net.IP, 4)
	copy(ip, subnet.IP.To4())
	ip[3] = n
	return &net.IPNet{IP: ip, Mask: subnet.Mask}
}

// hostDefaultMTU is what EnsureBridge should pick, computed independently.
func hostDefaultMTU(t *testing.T) int {
	t.Helper()
	out, err := exec.Command("ip", "-4", "-o", "route", "show", "default").Output()
	if err != nil {
		t.Skipf("skipping MTU check: ip route: %v", err)
	}
	f := strings.Fields(string(out))
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "dev" {
			l, err := netlink.LinkByName(f[i+1])
			if err != nil {
				t.Fatal(err)
			}
			return l.Attrs().MTU
		}
	}
	return 1500
}

type netnsChild struct {
	pid  int
	ns   netns.NsHandle
	stop func()
}

// handle returns a netlink socket in the child's namespace, closed at cleanup.
func (c *netnsChild) handle(t *testing.T) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(c.ns)
	if err != nil {
		t.Fatalf("netlink handle in the child's namespace: %v", err)
	}
	t.Cleanup(h.Delete)
	return h
}

// startNetnsChild starts `sleep 30` in a new network namespace, the way the
// runtime starts a container, and kills it at cleanup.
func startNetnsChild(t *testing.T) *netnsChild {
	t.Helper()
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child in a new network namespace: %v", err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(stop)
	ns, err := netns.GetFromPid(cmd.Process.Pid)
	if err != nil {
		t.Fatalf("open the child's network namespace: %v", err)
	}
	// Registered after stop, so it runs before it: the handle would keep
	// the namespace alive.
	t.Cleanup(func() { _ = ns.Close() })
	return &netnsChild{pid: cmd.Process.Pid, ns: ns, stop: stop}
}

// checkTCPFromNamespace listens on gw on the host and connects to it from a
// thread moved into ns; the server checks the peer is from.
func checkTCPFromNamespace(t *testing.T, ns netns.NsHandle, gw, from net.IP) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(gw.String(), "0"))
	if err != nil {
		t.Fatalf("listen on the gateway %s: %v", gw, err)
	}
	defer ln.Close()
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))

	type result struct {
		peer net.IP
		err  error
	}
	served := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- result{err: err}
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil {
			served <- result{err: err}
			return
		}
		if string(buf) != "ping" {
			served <- result{err: errors.New("got " + string(buf))}
			return
		}
		_, err = c.Write([]byte("pong"))
		served <- result{peer: c.RemoteAddr().(*net.TCPAddr).IP, err: err}
	}()

	if err := exchangeTimeout(ns, ln.Addr().String(), 5*time.Second); err != nil {
		t.Fatalf("TCP from the child's namespace to %s: %v", ln.Addr(), err)
	}
	r := <-served
	if r.err != nil {
		t.Fatalf("server on %s: %v", ln.Addr(), r.err)
	}
	if !r.peer.Equal(from) {
		t.Errorf("connection came from %s, want the container address %s", r.peer, from)
	}
	t.Logf("TCP ping %s -> %s ok", from, ln.Addr())
}

func assertAddrs(t *testing.T, l netlink.Link, want []*net.IPNet) {
	t.Helper()
	addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range addrs {
		got = append(got, a.IPNet.String())
	}
	var exp []string
	for _, w := range want {
		exp = append(exp, w.String())
	}
	if strings.Join(got, " ") != strings.Join(exp, " ") {
		t.Errorf("addresses of %s: %v, want %v", l.Attrs().Name, got, exp)
	}
}

// assertLinkGone waits briefly for name to disappear (h nil: the host).
func assertLinkGone(t *testing.T, h *netlink.Handle, name string) {
	t.Helper()
	if h == nil {
		h = &netlink.Handle{}
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := h.LinkByName(name)
		if isLinkNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("link %s still exists (err %v)", name, err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func assertOnlyLinks(t *testing.T, h *netlink.Handle, want ...string) {
	t.Helper()
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	got := linkNames(links)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("links in the namespace: %v, want %v", got, want)
	}
}

// linkNames returns the links' names, sorted.
func linkNames(links []netlink.Link) []string {
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	slices.Sort(names)
	return names
}

// expectNoLinksLeft registers, first so that it runs last, a check that
// none of the test's links, nor a temporary link (mrtmp*), remain on the
// host.
func expectNoLinksLeft(t *testing.T, names ...string) {
	t.Helper()
	expectNoLinksLike(t, func(n string) bool { return slices.Contains(names, n) || strings.HasPrefix(n, "mrtmp") })
}

// expectNoLinksLike registers, first so that it runs last, a check that
// no link on the host is one that ours says is the test's. It gives them
// up to 2s to go, and retries a link dump that other processes' link
// changes interrupted.
func expectNoLinksLike(t *testing.T, ours func(name string) bool) {
	t.Helper()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for {
			links, err := netlink.LinkList()
			if errors.Is(err, netlink.ErrDumpInterrupted) && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			if err != nil {
				t.Errorf("list links: %v", err)
				return
			}
			var left []string
			for _, l := range links {
				if n := l.Attrs().Name; ours(n) {
					left = append(left, n)
				}
			}
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("links left behind on the host: %v", left)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
