package network

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// --- tests without root: validation and comment format ---

func TestFirewallBadInput(t *testing.T) {
	f := Firewall{Table: "mrtest_" + randHex(t, 4), LockPath: filepath.Join(t.TempDir(), "nft.lock")}
	ctr := netip.MustParseAddr("10.88.0.2")
	good := PortRule{Proto: "tcp", HostPort: 8080, ContainerIP: ctr, ContainerPort: 80}
	for _, tc := range []struct {
		name  string
		owner string
		ports []PortRule
		want  string
	}{
		{"empty owner", "", []PortRule{good}, "empty container ID"},
		{"owner with space", "a b", []PortRule{good}, "only letters"},
		{"owner too long", strings.Repeat("a", 65), []PortRule{good}, "longer than 64"},
		{"sctp", "c1", []PortRule{{Proto: "sctp", HostPort: 1, ContainerIP: ctr, ContainerPort: 1}}, `protocol "sctp"`},
		{"upper-case proto", "c1", []PortRule{{Proto: "TCP", HostPort: 1, ContainerIP: ctr, ContainerPort: 1}}, `protocol "TCP"`},
		{"host port 0", "c1", []PortRule{{Proto: "tcp", ContainerIP: ctr, ContainerPort: 80}}, "host port 0"},
		{"container port 0", "c1", []PortRule{{Proto: "tcp", HostPort: 80, ContainerIP: ctr}}, "container port 0"},
		{"no container IP", "c1", []PortRule{{Proto: "tcp", HostPort: 80, ContainerPort: 80}}, "no container IP"},
		{"IPv6 container IP", "c1", []PortRule{{Proto: "tcp", HostPort: 80, ContainerIP: netip.MustParseAddr("fd00::2"), ContainerPort: 80}}, "not IPv4"},
		{"unspecified container IP", "c1", []PortRule{{Proto: "tcp", HostPort: 80, ContainerIP: netip.IPv4Unspecified(), ContainerPort: 80}}, "unspecified"},
		{"IPv6 host IP", "c1", []PortRule{{Proto: "tcp", HostIP: netip.MustParseAddr("::1"), HostPort: 80, ContainerIP: ctr, ContainerPort: 80}}, "host IP ::1 is not IPv4"},
		{"duplicate in one call", "c1", []PortRule{good, good}, "given twice"},
		{"duplicate, one unspecified", "c1", []PortRule{good, {Proto: "tcp", HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 8080, ContainerIP: ctr, ContainerPort: 81}}, "given twice"},
	} {
		err := f.Publish(tc.owner, tc.ports)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Publish error %v, want one containing %q", tc.name, err, tc.want)
		}
	}

	sub := netip.MustParsePrefix("10.88.0.0/16")
	for _, tc := range []struct {
		name string
		n    NetworkRules
		want string
	}{
		{"empty name", NetworkRules{Bridge: "mr0", Subnet: sub}, "network name is empty"},
		{"name with space", NetworkRules{Name: "a b", Bridge: "mr0", Subnet: sub}, "only letters"},
		{"bad bridge", NetworkRules{Name: "n", Bridge: "a/b", Subnet: sub}, "bridge"},
		{"no subnet", NetworkRules{Name: "n", Bridge: "mr0"}, "invalid subnet"},
		{"IPv6 subnet", NetworkRules{Name: "n", Bridge: "mr0", Subnet: netip.MustParsePrefix("fd00::/64")}, "not IPv4"},
		{"missing bridge", NetworkRules{Name: "n", Bridge: "mrt" + randHex(t, 5), Subnet: sub}, "does not exist"},
	} {
		err := f.AddNetwork(tc.n)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: AddNetwork error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if err := (Firewall{Table: "x"}).Publish("c1", []PortRule{good}); err == nil || !strings.Contains(err.Error(), "LockPath") {
		t.Errorf("Publish without LockPath: %v, want an error about LockPath", err)
	}
	if _, err := f.Reconcile(nil); err == nil {
		t.Errorf("Reconcile(nil) succeeded")
	}
}

func TestFirewallCommentRoundTrip(t *testing.T) {
	f := Firewall{Table: "minirun"}
	id := strings.Repeat("3f2a", 16) // a full 64-character container ID
	for _, p := range []PortRule{
		{Proto: "tcp", HostPort: 8080, ContainerIP: netip.MustParseAddr("10.88.0.2"), ContainerPort: 80},
		{Proto: "udp", HostIP: netip.MustParseAddr("255.255.255.254"), HostPort: 65535, ContainerIP: netip.MustParseAddr("10.255.255.254"), ContainerPort: 65535},
	} {
		r := f.portRule(id, p)
		com := ruleComment(r.UserData)
		if !strings.HasPrefix(com, "minirun container "+id+" "+p.Proto+" ") {
			t.Errorf("comment %q", com)
		}
		// The libnftnl format: type 0 (comment), length, NUL-terminated.
		if got, _ := userdata.GetString(r.UserData, userdata.TypeComment); got != com {
			t.Errorf("userdata.GetString = %q, want %q", got, com)
		}
		if r.UserData[len(r.UserData)-1] != 0 {
			t.Errorf("comment is not NUL-terminated (nft would not show it)")
		}
		owner, back, err := parsePortComment(com)
		if err != nil {
			t.Fatalf("parse %q: %v", com, err)
		}
		if owner != id || back != p {
			t.Errorf("parse %q = %q %+v, want %q %+v", com, owner, back, id, p)
		}
	}
	if got := describePortMapping(PortRule{HostPort: 1, ContainerIP: netip.MustParseAddr("10.0.0.1"), ContainerPort: 2}); got != "0.0.0.0:1->10.0.0.1:2" {
		t.Errorf("describePortMapping = %q", got)
	}
	// Malformed userdata must not panic.
	for _, ud := range [][]byte{nil, {0}, {0, 9, 'a'}, {1, 1, 'x', 0, 200}} {
		if got := ruleComment(ud); got != "" {
			t.Errorf("ruleComment(%v) = %q, want empty", ud, got)
		}
	}
	for _, bad := range []string{
		"minirun container x tcp 1.2.3.4:1->",
		"minirun container x tcp 1.2.3.4:1 5.6.7.8:2",
		"minirun container x icmp 0.0.0.0:1->5.6.7.8:2",
		"minirun container x tcp 0.0.0.0:1->5.6.7.8:0",
		"minirun container x tcp extra 0.0.0.0:1->5.6.7.8:2",
		"minirun somethingelse",
	} {
		if _, _, err := parsePortComment(bad); err == nil {
			t.Errorf("parsePortComment(%q) succeeded", bad)
		}
	}
}

// --- kernel tests (root) ---

func TestFirewallAddNetworkIdempotent(t *testing.T) {
	f := newTestFirewall(t)
	n1, _ := newTestNetwork(t, "front")
	n2, _ := newTestNetwork(t, "back")

	// Eight concurrent calls on a table that does not exist yet: every
	// one of them wants to create it.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- f.AddNetwork(n1) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent AddNetwork: %v", err)
		}
	}
	for range 2 {
		if err := f.AddNetwork(n1); err != nil {
			t.Fatalf("AddNetwork again: %v", err)
		}
	}
	k := readTable(t, f.Table)
	k.checkChains(t)
	k.checkNetworks(t, n1)
	k.checkNFT(t, f.Table, n1)
	if got := readFile(t, "/proc/sys/net/ipv4/ip_forward"); got != "1" {
		t.Errorf("ip_forward = %s, want 1", got)
	}
	if got := readFile(t, "/proc/sys/net/ipv4/conf/"+n1.Bridge+"/route_localnet"); got != "1" {
		t.Errorf("route_localnet of %s = %s, want 1", n1.Bridge, got)
	}

	// A second network, then the same network name on another subnet:
	// its old rules are replaced, not duplicated.
	if err := f.AddNetwork(n2); err != nil {
		t.Fatalf("AddNetwork %s: %v", n2.Name, err)
	}
	readTable(t, f.Table).checkNetworks(t, n1, n2)
	moved := n2
	moved.Subnet = netip.MustParsePrefix(pickTestSubnet(t).String())
	if err := f.AddNetwork(moved); err != nil {
		t.Fatalf("AddNetwork %s with subnet %s: %v", moved.Name, moved.Subnet, err)
	}
	readTable(t, f.Table).checkNetworks(t, n1, moved)

	// Removing one network keeps the other; removing the last deletes the
	// table.
	if err := f.RemoveNetwork(n1); err != nil {
		t.Fatalf("RemoveNetwork %s: %v", n1.Name, err)
	}
	readTable(t, f.Table).checkNetworks(t, moved)
	if err := f.RemoveNetwork(n1); err != nil {
		t.Errorf("RemoveNetwork of a removed network: %v", err)
	}
	if err := f.RemoveNetwork(moved); err != nil {
		t.Fatalf("RemoveNetwork %s: %v", moved.Name, err)
	}
	if ok, err := f.Exists(); err != nil || ok {
		t.Errorf("after removing the last network: Exists = %v, %v; want false", ok, err)
	}
	if tableExists(t, f.Table) {
		t.Errorf("table ip %s is still listed by the kernel", f.Table)
	}
	if err := f.RemoveNetwork(moved); err != nil {
		t.Errorf("RemoveNetwork without a table: %v", err)
	}
	if err := f.Delete(); err != nil {
		t.Errorf("Delete without a table: %v", err)
	}

	// Delete removes everything.
	if err := f.AddNetwork(n1); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.Exists(); err != nil || !ok {
		t.Fatalf("Exists = %v, %v; want true", ok, err)
	}
	if err := f.Delete(); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if tableExists(t, f.Table) {
		t.Errorf("table ip %s still exists after Delete", f.Table)
	}
}

func TestFirewallPublish(t *testing.T) {
	f := newTestFirewall(t)
	n, _ := newTestNetwork(t, "pub")
	sub := n.Subnet
	ip := func(i byte) netip.Addr {
		a := sub.Addr().As4()
		a[3] = i
		return netip.AddrFrom4(a)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	tcp := func(host netip.Addr, hp uint16, c netip.Addr, cp uint16) PortRule {
		return PortRule{Proto: "tcp", HostIP: host, HostPort: hp, ContainerIP: c, ContainerPort: cp}
	}
	udp := func(host netip.Addr, hp uint16, c netip.Addr, cp uint16) PortRule {
		return PortRule{Proto: "udp", HostIP: host, HostPort: hp, ContainerIP: c, ContainerPort: cp}
	}
	idA, idB, idC := "a"+randHex(t, 31), "b"+randHex(t, 8), "c"+randHex(t, 8)

	err := f.Publish(idA, []PortRule{tcp(netip.Addr{}, 8080, ip(2), 80)})
	if err == nil || !strings.Contains(err.Error(), "does not exist: set up a network with AddNetwork") {
		t.Fatalf("Publish before AddNetwork: %v, want an error pointing at AddNetwork", err)
	}
	if got, err := f.Published(); err != nil || len(got) != 0 {
		t.Errorf("Published without a table = %v, %v; want nothing", got, err)
	}
	// An empty table (say, left by a crash after it was created): still
	// no ports, Publish still refuses, AddNetwork fills it in.
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	c.AddTable(&nftables.Table{Name: f.Table, Family: nftables.TableFamilyIPv4})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, err := f.Published(); err != nil || len(got) != 0 {
		t.Errorf("Published on an empty table = %v, %v; want nothing", got, err)
	}
	err = f.Publish(idA, []PortRule{tcp(netip.Addr{}, 8080, ip(2), 80)})
	if err == nil || !strings.Contains(err.Error(), "has no chain ports") {
		t.Errorf("Publish on an empty table: %v, want an error about the missing chain", err)
	}
	if err := f.AddNetwork(n); err != nil {
		t.Fatal(err)
	}
	k := readTable(t, f.Table)
	k.checkChains(t)
	k.checkNetworks(t, n)

	wantA := []PortRule{tcp(netip.Addr{}, 8080, ip(2), 80), udp(netip.Addr{}, 8080, ip(2), 53), tcp(lo, 9000, ip(2), 9000)}
	// 0.0.0.0 given explicitly means the same as no host IP.
	inA := slices.Clone(wantA)
	inA[1].HostIP = netip.IPv4Unspecified()
	if err := f.Publish(idA, inA); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	checkPublished(t, f, map[string][]PortRule{idA: wantA})
	if nftPath() != "" {
		out := nftList(t, f.Table)
		for _, want := range []string{
			"tcp dport 8080 dnat to " + ip(2).String() + ":80 comment \"minirun container " + idA + " tcp 0.0.0.0:8080->" + ip(2).String() + ":80\"",
			"udp dport 8080 dnat to " + ip(2).String() + ":53",
			"ip daddr 127.0.0.1 tcp dport 9000 dnat to " + ip(2).String() + ":9000",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("nft list table ip %s lacks %q:\n%s", f.Table, want, out)
			}
		}
	}

	// Conflicts.
	for _, tc := range []struct {
		name string
		p    PortRule
	}{
		{"same port, both on every address", tcp(netip.Addr{}, 8080, ip(3), 80)},
		{"specific address vs every address", tcp(lo, 8080, ip(3), 80)},
		{"every address vs specific address", tcp(netip.Addr{}, 9000, ip(3), 80)},
		{"same specific address", tcp(lo, 9000, ip(3), 80)},
		{"udp vs udp", udp(lo, 8080, ip(3), 53)},
	} {
		err := f.Publish(idB, []PortRule{tcp(netip.Addr{}, 7000, ip(3), 70), tc.p})
		if err == nil {
			t.Errorf("%s: Publish %s succeeded, want a conflict", tc.name, describePortMapping(tc.p))
			continue
		}
		if !strings.Contains(err.Error(), "is already published by container "+idA) {
			t.Errorf("%s: error %q does not name the owner", tc.name, err)
		}
		t.Logf("%s: %v", tc.name, err)
	}
	// Nothing of the refused calls was added (not even port 7000).
	checkPublished(t, f, map[string][]PortRule{idA: wantA})

	// Not conflicts: another protocol, another specific address.
	wantB := []PortRule{udp(netip.Addr{}, 9000, ip(3), 9000), tcp(netip.MustParseAddr("127.0.0.2"), 9000, ip(3), 90)}
	if err := f.Publish(idB, wantB); err != nil {
		t.Fatalf("Publish without conflicts: %v", err)
	}
	wantC := []PortRule{tcp(netip.Addr{}, 7001, ip(4), 80)}
	if err := f.Publish(idC, wantC); err != nil {
		t.Fatal(err)
	}
	checkPublished(t, f, map[string][]PortRule{idA: wantA, idB: wantB, idC: wantC})

	// The rules themselves: a DNAT to the container address and port.
	rules := readTable(t, f.Table).rules[chainPorts]
	if len(rules) != 6 {
		t.Fatalf("chain ports has %d rules, want 6", len(rules))
	}
	var nat *expr.NAT
	var imm []*expr.Immediate
	for _, e := range rules[0].Exprs {
		switch e := e.(type) {
		case *expr.NAT:
			nat = e
		case *expr.Immediate:
			imm = append(imm, e)
		}
	}
	if nat == nil || nat.Type != expr.NATTypeDestNAT || len(imm) != 2 ||
		!slices.Equal(imm[0].Data, ip(2).AsSlice()) || !slices.Equal(imm[1].Data, []byte{0, 80}) {
		t.Errorf("first port rule is not a dnat to %s:80: %#v", ip(2), rules[0].Exprs)
	}

	// Unpublish.
	if err := f.Unpublish(idA); err != nil {
		t.Fatalf("Unpublish: %v", err)
	}
	checkPublished(t, f, map[string][]PortRule{idB: wantB, idC: wantC})
	if err := f.Unpublish(idA); err != nil {
		t.Errorf("second Unpublish: %v", err)
	}
	if err := f.Unpublish("nobody"); err != nil {
		t.Errorf("Unpublish of an owner without ports: %v", err)
	}
	// A's port is free again.
	if err := f.Publish(idC, []PortRule{tcp(netip.Addr{}, 8080, ip(4), 8080)}); err != nil {
		t.Fatalf("Publish of a released port: %v", err)
	}
	wantC = append(wantC, tcp(netip.Addr{}, 8080, ip(4), 8080))

	// Reconcile: only B is alive.
	var asked []string
	removed, err := f.Reconcile(func(owner string) bool {
		asked = append(asked, owner)
		return owner == idB
	})
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if !slices.Equal(removed, []string{idC}) {
		t.Errorf("Reconcile removed %v, want [%s]", removed, idC)
	}
	slices.Sort(asked)
	if !slices.Equal(asked, []string{idB, idC}) {
		t.Errorf("Reconcile asked about %v, want each owner once: [%s %s]", asked, idB, idC)
	}
	checkPublished(t, f, map[string][]PortRule{idB: wantB})
	removed, err = f.Reconcile(func(string) bool { return false })
	if err != nil || !slices.Equal(removed, []string{idB}) {
		t.Errorf("Reconcile with nobody alive = %v, %v; want [%s]", removed, err, idB)
	}
	checkPublished(t, f, map[string][]PortRule{})
	if removed, err := f.Reconcile(func(string) bool { return false }); err != nil || len(removed) != 0 {
		t.Errorf("Reconcile of an empty chain = %v, %v", removed, err)
	}

	// Concurrent publishers of one port: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	for i := range 8 {
		owner := "race" + strconv.Itoa(i)
		wg.Go(func() {
			if err := f.Publish(owner, []PortRule{tcp(netip.Addr{}, 6000, ip(5), 80)}); err == nil {
				mu.Lock()
				winners = append(winners, owner)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	got, err := f.Published()
	if err != nil {
		t.Fatal(err)
	}
	if len(winners) != 1 || len(got) != 1 || len(got[winners[0]]) != 1 {
		t.Errorf("8 concurrent Publish of port 6000: winners %v, published %v; want exactly one", winners, got)
	}

	// The network's rules were never touched by all this.
	readTable(t, f.Table).checkNetworks(t, n)
}

// TestFirewallNATPacket sends real connections through the rules: from
// the host to a published port (via 127.0.0.1 and via the bridge's
// address) and from a second container on the same bridge (hairpin).
func TestFirewallNATPacket(t *testing.T) {
	f := newTestFirewall(t)
	n, gw := newTestNetwork(t, "pkt")
	a := newTestContainer(t, n, gw, 2)
	b := newTestContainer(t, n, gw, 3)
	if err := f.AddNetwork(n); err != nil {
		t.Fatal(err)
	}
	srv := serveInNamespace(t, a.ns, 80)
	hostPort := freeHostPort(t)
	owner := "pkt" + randHex(t, 8)
	if err := f.Publish(owner, []PortRule{{Proto: "tcp", HostPort: hostPort, ContainerIP: a.addr, ContainerPort: 80}}); err != nil {
		t.Fatal(err)
	}
	hp := strconv.Itoa(int(hostPort))

	// Host -> 127.0.0.1:P. DNAT in output; the source 127.0.0.1 is
	// masqueraded to the bridge address on the way out.
	if err := exchange(netns.None(), "127.0.0.1:"+hp); err != nil {
		t.Fatalf("host -> 127.0.0.1:%s: %v", hp, err)
	}
	srv.expectPeer(t, gw, "host -> 127.0.0.1:"+hp)

	// Host -> gateway:P: the source is the gateway address already.
	if err := exchange(netns.None(), net.JoinHostPort(gw.String(), hp)); err != nil {
		t.Fatalf("host -> %s:%s: %v", gw, hp, err)
	}
	srv.expectPeer(t, gw, "host -> gateway:"+hp)

	// Hairpin: container b -> gateway:P -> container a, same bridge. a
	// must see the gateway as peer (ct status dnat masquerade), or its
	// answer would go straight to b, which expects it from the gateway.
	if err := exchange(b.ns, net.JoinHostPort(gw.String(), hp)); err != nil {
		t.Fatalf("container %s -> %s:%s: %v", b.addr, gw, hp, err)
	}
	srv.expectPeer(t, gw, "hairpin "+b.addr.String()+" -> gateway:"+hp)

	// Container a reaching its own published port (bridge hairpin mode).
	if err := exchange(a.ns, net.JoinHostPort(gw.String(), hp)); err != nil {
		t.Logf("container %s -> its own port via %s:%s failed: %v (needs hairpin mode on its bridge port)", a.addr, gw, hp, err)
	} else {
		srv.expectPeer(t, gw, "self hairpin")
	}

	// Direct container-to-container traffic keeps its source address.
	if err := exchange(b.ns, net.JoinHostPort(a.addr.String(), "80")); err != nil {
		t.Fatalf("container %s -> %s:80: %v", b.addr, a.addr, err)
	}
	srv.expectPeer(t, b.addr, "direct container to container")

	// Unpublished: nothing listens on the host port.
	if err := f.Unpublish(owner); err != nil {
		t.Fatal(err)
	}
	if err := exchange(netns.None(), "127.0.0.1:"+hp); err == nil {
		t.Errorf("127.0.0.1:%s still reaches the container after Unpublish", hp)
	}
}

// TestFirewallNATIsolation checks that the forward rule separates two
// networks: a container on one cannot reach one on the other, but could
// before the second network's rules were added.
func TestFirewallNATIsolation(t *testing.T) {
	f := newTestFirewall(t)
	n1, gw1 := newTestNetwork(t, "iso1")
	n2, gw2 := newTestNetwork(t, "iso2")
	a := newTestContainer(t, n1, gw1, 2)
	c := newTestContainer(t, n2, gw2, 2)
	if err := f.AddNetwork(n1); err != nil {
		t.Fatal(err)
	}
	srv := serveInNamespace(t, a.ns, 80)
	target := net.JoinHostPort(a.addr.String(), "80")

	// Only n1 is set up: forwarding is on and nothing isolates n2 yet.
	if err := exchange(c.ns, target); err != nil {
		t.Fatalf("before isolation: %s -> %s: %v", c.addr, target, err)
	}
	srv.expectPeer(t, c.addr, "routed between bridges")

	if err := f.AddNetwork(n2); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := exchangeTimeout(c.ns, target, time.Second); err == nil {
		t.Errorf("%s -> %s works across networks after AddNetwork(%s)", c.addr, target, n2.Name)
	} else {
		t.Logf("%s -> %s blocked as expected after %v: %v", c.addr, target, time.Since(start).Round(time.Millisecond), err)
	}
	// And the other way round.
	if err := exchangeTimeout(a.ns, net.JoinHostPort(c.addr.String(), "80"), time.Second); err == nil {
		t.Errorf("%s -> %s:80 works across networks", a.addr, c.addr)
	}
	// The gateway of a container's own network stays reachable (that is
	// input, not forward): connection refused, not a timeout.
	if err := exchangeTimeout(c.ns, net.JoinHostPort(gw2.String(), "1"), time.Second); err == nil || !errors.Is(err, unix.ECONNREFUSED) {
		t.Errorf("%s -> its gateway %s:1: %v, want connection refused", c.addr, gw2, err)
	}
}

// --- helpers ---

// newTestFirewall skips the test unless it runs as root, and returns a
// Firewall on a table of its own, deleted at cleanup even if the test
// failed (and before net.ipv4.ip_forward, which the Firewall may set, is
// restored).
func newTestFirewall(t *testing.T) Firewall {
	t.Helper()
	requireRoot(t)
	saveIPForward(t)
	f := Firewall{Table: "mrtest_" + randHex(t, 4), LockPath: filepath.Join(t.TempDir(), "nft.lock")}
	t.Cleanup(func() {
		c, err := nftables.New()
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		c.DelTable(&nftables.Table{Name: f.Table, Family: nftables.TableFamilyIPv4})
		if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
			t.Errorf("cleanup: delete table ip %s: %v", f.Table, err)
		}
	})
	return f
}

// newTestNetwork creates a bridge with a free test subnet (gateway .1),
// removed at cleanup.
func newTestNetwork(t *testing.T, name string) (NetworkRules, netip.Addr) {
	t.Helper()
	br := "mrt" + randHex(t, 3)
	expectLinksGone(t, br)
	t.Cleanup(func() { _ = DeleteBridge(br) })
	subnet := pickTestSubnet(t)
	gw := hostInSubnet(subnet, 1)
	if _, err := EnsureBridge(br, gw); err != nil {
		t.Fatalf("EnsureBridge: %v", err)
	}
	n := NetworkRules{Name: name + randHex(t, 2), Bridge: br, Subnet: netip.MustParsePrefix(subnet.String())}
	addr, _ := netip.AddrFromSlice(gw.IP.To4())
	return n, addr
}

type testContainer struct {
	ns   netns.NsHandle
	addr netip.Addr
}

// newTestContainer starts a process in a new network namespace and
// attaches it to n's bridge with address number i of the subnet.
func newTestContainer(t *testing.T, n NetworkRules, gw netip.Addr, i byte) testContainer {
	t.Helper()
	host := HostVethName("t" + randHex(t, 10))
	expectLinksGone(t, host)
	child := startNetnsChild(t)
	t.Cleanup(func() { _ = Detach(host) })
	a4 := n.Subnet.Addr().As4()
	a4[3] = i
	addr := netip.AddrFrom4(a4)
	ipn := &net.IPNet{IP: addr.AsSlice(), Mask: net.CIDRMask(n.Subnet.Bits(), 32)}
	if err := Attach(n.Bridge, host, child.pid, ipn, gw.AsSlice()); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	return testContainer{ns: child.ns, addr: addr}
}

// expectLinksGone is expectNoLinksLeft for the named links alone: the
// temporary links of other processes are theirs.
func expectLinksGone(t *testing.T, names ...string) {
	t.Helper()
	expectNoLinksLike(t, func(n string) bool { return slices.Contains(names, n) })
}

// saveIPForward restores net.ipv4.ip_forward at cleanup.
func saveIPForward(t *testing.T) {
	t.Helper()
	const p = "/proc/sys/net/ipv4/ip_forward"
	old := readFile(t, p)
	t.Cleanup(func() {
		if err := os.WriteFile(p, []byte(old+"\n"), 0o644); err != nil {
			t.Errorf("restore %s: %v", p, err)
		}
	})
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func tableExists(t *testing.T, name string) bool {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if tb.Name == name {
			return true
		}
	}
	return false
}

// kernelTable is a table as the kernel reports it, read with
// google/nftables independently of Firewall's own reading code.
type kernelTable struct {
	chains  map[string]*nftables.Chain
	rules   map[string][]*nftables.Rule
	bridges []string
}

func readTable(t *testing.T, name string) kernelTable {
	t.Helper()
	if !tableExists(t, name) {
		t.Fatalf("table ip %s does not exist", name)
	}
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tb := &nftables.Table{Name: name, Family: nftables.TableFamilyIPv4}
	k := kernelTable{chains: map[string]*nftables.Chain{}, rules: map[string][]*nftables.Rule{}}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range chains {
		if ch.Table.Name != name {
			continue
		}
		k.chains[ch.Name] = ch
		rules, err := c.GetRules(tb, ch)
		if err != nil {
			t.Fatalf("list rules of chain %s: %v", ch.Name, err)
		}
		k.rules[ch.Name] = rules
	}
	set, err := c.GetSetByName(tb, "bridges")
	if err != nil {
		t.Fatalf("set bridges: %v", err)
	}
	if set.KeyType.Name != "ifname" {
		t.Errorf("set bridges has type %q, want ifname", set.KeyType.Name)
	}
	elems, err := c.GetSetElements(set)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range elems {
		k.bridges = append(k.bridges, strings.TrimRight(string(e.Key), "\x00"))
	}
	slices.Sort(k.bridges)
	return k
}

// checkChains checks the five chains and the jumps to ports.
func (k kernelTable) checkChains(t *testing.T) {
	t.Helper()
	for _, want := range []struct {
		name string
		typ  nftables.ChainType
		hook *nftables.ChainHook
		prio int32
	}{
		{"prerouting", nftables.ChainTypeNAT, nftables.ChainHookPrerouting, -100},
		{"output", nftables.ChainTypeNAT, nftables.ChainHookOutput, -100},
		{"postrouting", nftables.ChainTypeNAT, nftables.ChainHookPostrouting, 100},
		{"forward", nftables.ChainTypeFilter, nftables.ChainHookForward, 0},
		{"ports", "", nil, 0},
	} {
		ch := k.chains[want.name]
		if ch == nil {
			t.Errorf("no chain %s", want.name)
			continue
		}
		if ch.Type != want.typ {
			t.Errorf("chain %s: type %q, want %q", want.name, ch.Type, want.typ)
		}
		if want.hook == nil {
			if ch.Hooknum != nil {
				t.Errorf("chain %s is a base chain, want a regular one", want.name)
			}
			continue
		}
		if ch.Hooknum == nil || *ch.Hooknum != *want.hook || ch.Priority == nil || int32(*ch.Priority) != want.prio {
			t.Errorf("chain %s: hook %v priority %v, want %v %d", want.name, ch.Hooknum, ch.Priority, *want.hook, want.prio)
		}
		if ch.Policy == nil || *ch.Policy != nftables.ChainPolicyAccept {
			t.Errorf("chain %s: policy %v, want accept", want.name, ch.Policy)
		}
	}
	if len(k.chains) != 5 {
		t.Errorf("%d chains, want 5", len(k.chains))
	}
	for _, name := range []string{"prerouting", "output"} {
		rules := k.rules[name]
		if len(rules) != 1 {
			t.Errorf("chain %s has %d rules, want 1 (the jump to ports)", name, len(rules))
			continue
		}
		var fib, jump bool
		for _, e := range rules[0].Exprs {
			switch e := e.(type) {
			case *expr.Fib:
				fib = e.FlagDADDR && e.ResultADDRTYPE
			case *expr.Verdict:
				jump = e.Kind == expr.VerdictJump && e.Chain == "ports"
			}
		}
		if !fib || !jump {
			t.Errorf("chain %s: rule is not \"fib daddr type local jump ports\": %#v", name, rules[0].Exprs)
		}
	}
}

// checkNetworks checks that exactly the rules of nets are in postrouting
// and forward, once each, and the set holds exactly their bridges.
func (k kernelTable) checkNetworks(t *testing.T, nets ...NetworkRules) {
	t.Helper()
	var wantPost, wantFwd, wantBridges []string
	for _, n := range nets {
		pre := "minirun network " + n.Name + " " + n.Bridge + " " + n.Subnet.String() + " "
		wantPost = append(wantPost, pre+"outbound", pre+"localhost", pre+"hairpin")
		wantFwd = append(wantFwd, pre+"isolate")
		wantBridges = append(wantBridges, n.Bridge)
	}
	comments := func(rules []*nftables.Rule) []string {
		var out []string
		for _, r := range rules {
			c, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			out = append(out, c)
		}
		slices.Sort(out)
		return out
	}
	slices.Sort(wantPost)
	slices.Sort(wantFwd)
	slices.Sort(wantBridges)
	if got := comments(k.rules["postrouting"]); !slices.Equal(got, wantPost) {
		t.Errorf("postrouting rules:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(wantPost, "\n  "))
	}
	if got := comments(k.rules["forward"]); !slices.Equal(got, wantFwd) {
		t.Errorf("forward rules:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(wantFwd, "\n  "))
	}
	if !slices.Equal(k.bridges, wantBridges) {
		t.Errorf("set bridges = %v, want %v", k.bridges, wantBridges)
	}
	for _, r := range k.rules["postrouting"] {
		if _, ok := r.Exprs[len(r.Exprs)-1].(*expr.Masq); !ok {
			t.Errorf("postrouting rule %d does not end in masquerade: %#v", r.Handle, r.Exprs)
		}
	}
	for _, r := range k.rules["forward"] {
		var lookup bool
		for _, e := range r.Exprs {
			if l, ok := e.(*expr.Lookup); ok && l.SetName == "bridges" {
				lookup = true
			}
		}
		v, ok := r.Exprs[len(r.Exprs)-1].(*expr.Verdict)
		if !lookup || !ok || v.Kind != expr.VerdictDrop {
			t.Errorf("forward rule %d is not \"... oifname @bridges drop\": %#v", r.Handle, r.Exprs)
		}
	}
}

// checkNFT compares with what the nft tool makes of the table, when it is
// installed: proof that the expressions mean what the comments say.
func (k kernelTable) checkNFT(t *testing.T, table string, n NetworkRules) {
	t.Helper()
	if nftPath() == "" {
		t.Log("nft not installed: skipping the check of nft's view of the table")
		return
	}
	out := nftList(t, table)
	br, sub := `"`+n.Bridge+`"`, n.Subnet.String()
	for _, want := range []string{
		"set bridges {", "type ifname", "elements = { " + br + " }",
		"type nat hook prerouting priority dstnat; policy accept;",
		"type nat hook output priority -100; policy accept;", // nft 1.0.6 names dstnat only for prerouting
		"type nat hook postrouting priority srcnat; policy accept;",
		"type filter hook forward priority filter; policy accept;",
		`fib daddr type local jump ports comment "minirun published ports"`,
		"ip saddr " + sub + " oifname != " + br + " masquerade comment \"minirun network " + n.Name + " " + n.Bridge + " " + sub + " outbound\"",
		"oifname " + br + " ip saddr 127.0.0.0/8 masquerade comment",
		"oifname " + br + " ip saddr " + sub + " ct status dnat masquerade comment",
		"iifname " + br + " oifname != " + br + " oifname @bridges drop comment",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("nft list table ip %s lacks %q:\n%s", table, want, out)
		}
	}
}

func nftPath() string {
	p, err := exec.LookPath("nft")
	if err != nil {
		return ""
	}
	return p
}

func nftList(t *testing.T, table string) string {
	t.Helper()
	out, err := exec.Command(nftPath(), "list", "table", "ip", table).CombinedOutput()
	if err != nil {
		t.Fatalf("nft list table ip %s: %v\n%s", table, err, out)
	}
	return string(out)
}

func checkPublished(t *testing.T, f Firewall, want map[string][]PortRule) {
	t.Helper()
	got, err := f.Published()
	if err != nil {
		t.Fatalf("Published: %v", err)
	}
	if len(got) != len(want) {
		t.Errorf("Published has %d owners %v, want %d", len(got), got, len(want))
	}
	for owner, w := range want {
		if !slices.Equal(got[owner], w) {
			t.Errorf("Published[%s] = %v, want %v", owner, got[owner], w)
		}
	}
}

// freeHostPort returns a TCP port nothing on the host listens on now.
func freeHostPort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// inNamespace runs fn on a thread moved into ns (netns.None(): stay on the
// host). Sockets made by fn stay in ns after the thread switches back. If
// switching back fails the thread stays locked and dies with the
// goroutine.
func inNamespace(ns netns.NsHandle, fn func() error) error {
	if !ns.IsOpen() {
		return fn()
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			done <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			done <- err
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			done <- errors.Join(ferr, err)
			return
		}
		runtime.UnlockOSThread()
		done <- ferr
	}()
	return <-done
}

// testServer accepts connections in a container, answers "ping" with
// "pong" and reports each peer's address.
type testServer struct {
	peers chan netip.Addr
}

func serveInNamespace(t *testing.T, ns netns.NsHandle, port int) *testServer {
	t.Helper()
	var ln net.Listener
	err := inNamespace(ns, func() error {
		var err error
		ln, err = net.Listen("tcp4", ":"+strconv.Itoa(port))
		return err
	})
	if err != nil {
		t.Fatalf("listen in the container: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	s := &testServer{peers: make(chan netip.Addr, 16)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 4)
				if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
					return
				}
				if _, err := c.Write([]byte("pong")); err != nil {
					return
				}
				s.peers <- c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
			}()
		}
	}()
	return s
}

func (s *testServer) expectPeer(t *testing.T, want netip.Addr, what string) {
	t.Helper()
	select {
	case got := <-s.peers:
		if got != want {
			t.Errorf("%s: the container saw the connection come from %s, want %s", what, got, want)
		} else {
			t.Logf("%s: ok, peer %s", what, got)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("%s: the server did not report the connection", what)
	}
}

// exchange connects from ns to addr, sends "ping" and expects "pong".
func exchange(ns netns.NsHandle, addr string) error {
	return exchangeTimeout(ns, addr, 3*time.Second)
}

func exchangeTimeout(ns netns.NsHandle, addr string, timeout time.Duration) error {
	var c net.Conn
	err := inNamespace(ns, func() error {
		var err error
		c, err = net.DialTimeout("tcp4", addr, timeout)
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != "pong" {
		return errors.New("got " + string(buf))
	}
	return nil
}
