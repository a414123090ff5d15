package integration

// Bridge networks, for real: veths, addresses, NAT, published ports and
// names. Traffic goes only to loopback and to namespaces, veths, dummies
// and bridges these tests create themselves; every one of them is removed
// again, and each test checks that links, addresses, nftables tables and
// the address tables are as they were before.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

const ipForward = "/proc/sys/net/ipv4/ip_forward"

// bg is a container run in the background by an attached `minirun run`.
type bg struct {
	cmd  *exec.Cmd
	out  *os.File
	done chan struct{}
}

// startBG starts `minirun run --init ARGS...` (the tiny init passes
// SIGTERM on to servers that, as PID 1, would ignore it).
func startBG(t *testing.T, args ...string) *bg {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "bg-out")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"run", "--init"}, args...)...)
	cmd.Env = minirunEnv()
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &bg{cmd: cmd, out: f, done: make(chan struct{})}
	go func() { cmd.Wait(); close(b.done) }()
	t.Cleanup(b.stop)
	return b
}

// stop ends the container the way Ctrl-C would and waits for `minirun
// run` to clean up.
func (b *bg) stop() {
	select {
	case <-b.done:
		return
	default:
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(20 * time.Second):
		b.cmd.Process.Kill()
		<-b.done
	}
}

func (b *bg) output() string {
	o, _ := os.ReadFile(b.out.Name())
	return string(o)
}

// waitUntil polls cond for up to 15 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// containerIP reads a running container's eth0 address from `network
// inspect`.
func containerIP(t *testing.T, network, name string) string {
	t.Helper()
	var ip string
	waitUntil(t, name+" on "+network, func() bool {
		r := minirun(t, "", "network", "inspect", network)
		var out []struct {
			Containers map[string]struct{ Name, IPv4Address string }
		}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil || len(out) != 1 {
			return false
		}
		for _, c := range out[0].Containers {
			if c.Name == name {
				ip, _, _ = strings.Cut(c.IPv4Address, "/")
				return true
			}
		}
		return false
	})
	return ip
}

// netState is what the networking tests must leave as they found it.
type netState struct {
	links, addrs, tables []string
	ipam                 string
}

func snapshotNet(t *testing.T) netState {
	t.Helper()
	var s netState
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		// Links and tables named mrt* are made (and removed) by test code:
		// these tests' own helpers, and the network package's tests that
		// `go test ./...` may run at the same time. minirun's own are
		// the bridges and the veths named mr<container ID>.
		if strings.HasPrefix(l.Attrs().Name, "mrt") {
			continue
		}
		s.links = append(s.links, l.Attrs().Name)
		addrs, _ := netlink.AddrList(l, netlink.FAMILY_V4)
		for _, a := range addrs {
			s.addrs = append(s.addrs, l.Attrs().Name+" "+a.IPNet.String())
		}
	}
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if strings.HasPrefix(tb.Name, "mrtest") {
			continue
		}
		s.tables = append(s.tables, fmt.Sprintf("%d %s", tb.Family, tb.Name))
	}
	// Allocations of every network's IPAM table.
	files, _ := filepath.Glob(filepath.Join(dataRoot, "networks", "ipam", "*.json"))
	for _, f := range files {
		var tab struct{ Allocations map[string]string }
		b, _ := os.ReadFile(f)
		json.Unmarshal(b, &tab)
		if len(tab.Allocations) > 0 {
			s.ipam += fmt.Sprintf("%s: %v; ", filepath.Base(f), tab.Allocations)
		}
	}
	sort.Strings(s.links)
	sort.Strings(s.addrs)
	sort.Strings(s.tables)
	return s
}

// checkNetState snapshots the network state now and, when the test and
// all its cleanups are done, checks that it is the same again.
func checkNetState(t *testing.T) {
	// Start without the default network (other tests' containers made it).
	if r := minirun(t, "", "network", "rm", "bridge"); r.code != 0 && !strings.Contains(r.stderr, "no such network") {
		t.Fatalf("network rm bridge: %d %s", r.code, r.stderr)
	}
	before := snapshotNet(t)
	t.Cleanup(func() { expectNetState(t, before) })
}

// expectNetState fails the test unless the network state equals before
// (the default network is removed first: it is made on first use).
func expectNetState(t *testing.T, before netState) {
	t.Helper()
	if r := minirun(t, "", "network", "rm", "bridge"); r.code != 0 && !strings.Contains(r.stderr, "no such network") {
		t.Errorf("network rm bridge: %d %s", r.code, r.stderr)
	}
	// Veths of ended containers go with their namespaces, which the
	// kernel tears down in the background: give it a moment.
	var after netState
	waitFor(15*time.Second, func() bool {
		after = snapshotNet(t)
		return strings.Join(after.links, ",") == strings.Join(before.links, ",")
	})
	if strings.Join(after.links, ",") != strings.Join(before.links, ",") {
		t.Errorf("links: before %v, after %v", before.links, after.links)
	}
	if strings.Join(after.addrs, ",") != strings.Join(before.addrs, ",") {
		t.Errorf("addresses: before %v, after %v", before.addrs, after.addrs)
	}
	if strings.Join(after.tables, ",") != strings.Join(before.tables, ",") {
		t.Errorf("nftables tables: before %v, after %v", before.tables, after.tables)
	}
	if after.ipam != "" {
		t.Errorf("addresses still allocated: %s", after.ipam)
	}
	assertClean(t)
}

// cleanNetworks removes every network the tests left and reports whether
// there was nothing to remove by force.
func cleanNetworks() bool {
	ok := true
	// The default network comes with the first container of any test;
	// removing it is the tests' job, and it must succeed.
	rm := exec.Command(bin, "network", "rm", "bridge")
	rm.Env = minirunEnv()
	if out, err := rm.CombinedOutput(); err != nil && !strings.Contains(string(out), "no such network") {
		fmt.Fprintf(os.Stderr, "integration: network rm bridge: %v %s", err, out)
		ok = false
	}
	cmd := exec.Command(bin, "network", "ls", "-q")
	cmd.Env = minirunEnv()
	if out, err := cmd.Output(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
		fmt.Fprintf(os.Stderr, "integration: networks left behind: %s", out)
		ok = false
		for _, id := range strings.Fields(string(out)) {
			rm := exec.Command(bin, "network", "rm", id)
			rm.Env = minirunEnv()
			rm.Run()
		}
	}
	if l, err := netlink.LinkByName(testBridge); err == nil {
		fmt.Fprintf(os.Stderr, "integration: bridge %s left behind\n", testBridge)
		netlink.LinkDel(l)
		ok = false
	}
	if c, err := nftables.New(); err == nil {
		tables, _ := c.ListTables()
		for _, tb := range tables {
			if tb.Name == testTable {
				fmt.Fprintf(os.Stderr, "integration: nftables table %s left behind\n", testTable)
				c.DelTable(tb)
				c.Flush()
				ok = false
			}
		}
	}
	return ok
}

// netnsHandle is a network namespace the test made: an "other host" or an
// "upstream" server, reached through a veth pair from the host.
type netnsHandle struct {
	ns       netns.NsHandle
	hostVeth string
}

// newPeerNetns makes a namespace linked to the host by a veth pair: the
// host end hostName gets hostAddr, the namespace end (eth0) peerAddr, and
// the namespace routes everything via the host.
func newPeerNetns(t *testing.T, hostName, hostAddr, peerAddr string) *netnsHandle {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := netns.Set(orig); err != nil {
		t.Fatal(err)
	}
	h := &netnsHandle{ns: ns, hostVeth: hostName}
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(hostName); err == nil {
			netlink.LinkDel(l)
		}
		ns.Close()
	})
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: hostName}, PeerName: hostName + "p"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	host, _ := netlink.LinkByName(hostName)
	peer, _ := netlink.LinkByName(hostName + "p")
	ha, _ := netlink.ParseAddr(hostAddr)
	if err := netlink.AddrAdd(host, ha); err != nil {
		t.Fatal(err)
	}
	netlink.LinkSetUp(host)
	if err := netlink.LinkSetNsFd(peer, int(ns)); err != nil {
		t.Fatal(err)
	}
	nh, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Delete()
	p, err := nh.LinkByName(hostName + "p")
	if err != nil {
		t.Fatal(err)
	}
	pa, _ := netlink.ParseAddr(peerAddr)
	nh.AddrAdd(p, pa)
	nh.LinkSetUp(p)
	if lo, err := nh.LinkByName("lo"); err == nil {
		nh.LinkSetUp(lo)
	}
	gw := net.ParseIP(strings.Split(hostAddr, "/")[0])
	if err := nh.RouteAdd(&netlink.Route{LinkIndex: p.Attrs().Index, Gw: gw}); err != nil {
		t.Fatal(err)
	}
	return h
}

// do runs fn on a thread inside the namespace, then moves the thread
// back to the host's namespace. If that fails the goroutine exits still
// locked, and Go throws the thread away, so no other goroutine ever runs
// in the wrong namespace.
func (h *netnsHandle) do(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			panic(err)
		}
		defer orig.Close()
		if err := unix.Setns(int(h.ns), unix.CLONE_NEWNET); err != nil {
			panic(err)
		}
		fn()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
	}()
	<-done
}

// waitFor polls cond for up to d and reports whether it came true.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

func httpGet(url string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// A container on the default network: eth0 with an address of the
// network and the host's MTU, a default route via the gateway it can
// ping, its own name in /etc/hosts, and afterwards nothing left.
func TestBridgeNetwork(t *testing.T) {
	checkNetState(t)
	r := run(t, 0, "run", "--rm", "--hostname", "box", "busybox", "sh", "-c",
		"ip -4 -o addr show eth0; ip route; cat /sys/class/net/eth0/mtu; ping -c1 -W2 $(ip route | awk '/default/{print $3}') >/dev/null && echo gw-ok; grep box /etc/hosts")
	var n []struct{ Subnet, Gateway, Bridge string }
	if err := json.Unmarshal([]byte(run(t, 0, "network", "inspect", "bridge").stdout), &n); err != nil || len(n) != 1 {
		t.Fatalf("network inspect bridge: %v", err)
	}
	if n[0].Bridge != testBridge {
		t.Errorf("bridge %q, want %q", n[0].Bridge, testBridge)
	}
	lines := strings.Split(r.stdout, "\n")
	if len(lines) < 6 {
		t.Fatalf("got %q", r.stdout)
	}
	_, subnet, _ := net.ParseCIDR(n[0].Subnet)
	f := strings.Fields(lines[0])
	ip, _, err := net.ParseCIDR(f[3])
	if err != nil || !subnet.Contains(ip) || f[1] != "eth0" {
		t.Errorf("eth0: %q, want an address of %s", lines[0], n[0].Subnet)
	}
	if !strings.HasPrefix(lines[1], "default via "+n[0].Gateway+" dev eth0") {
		t.Errorf("route: %q, want default via %s", lines[1], n[0].Gateway)
	}
	if mtu := hostMTU(t); !strings.Contains(r.stdout, fmt.Sprintf("\n%d\ngw-ok\n", mtu)) {
		t.Errorf("mtu/gateway ping: %q, want mtu %d (the host's) and gw-ok", r.stdout, mtu)
	}
	if !strings.Contains(r.stdout, ip.String()+"\tbox") {
		t.Errorf("/etc/hosts lacks %s box: %q", ip, r.stdout)
	}
	// The host end of the veth is gone with the container.
	br, err := netlink.LinkByName(testBridge)
	if err != nil {
		t.Fatal(err)
	}
	// (The kernel removes it with the namespace, in the background.)
	var left []string
	waitFor(5*time.Second, func() bool {
		left = nil
		links, _ := netlink.LinkList()
		for _, l := range links {
			if l.Type() == "veth" && l.Attrs().MasterIndex == br.Attrs().Index {
				left = append(left, l.Attrs().Name)
			}
		}
		return len(left) == 0
	})
	if len(left) > 0 {
		t.Errorf("veths still on the bridge: %v", left)
	}
}

// Two containers talk TCP by name and by --network-alias; --add-host and
// --dns end up in the files.
func TestContainersByName(t *testing.T) {
	checkNetState(t)
	srv := startBG(t, "--rm", "--name", "srv", "--network-alias", "db", "busybox", "sh", "-c",
		"while true; do echo pong | nc -l -p 5000; done")
	containerIP(t, "bridge", "srv")
	for _, name := range []string{"srv", "db"} {
		var r result
		waitUntil(t, "nc "+name, func() bool {
			r = minirun(t, "", "run", "--rm", "busybox", "sh", "-c", "echo ping | nc -w 2 "+name+" 5000")
			return r.code == 0 && strings.Contains(r.stdout, "pong")
		})
	}
	r := run(t, 0, "run", "--rm", "--add-host", "extra.test:192.0.2.77", "--add-host", "gw:host-gateway", "--dns", "192.0.2.53",
		"--dns-search", "example.test", "busybox", "sh", "-c", "cat /etc/hosts /etc/resolv.conf")
	for _, want := range []string{"192.0.2.77\textra.test", "\tgw\n", "nameserver 192.0.2.53", "search example.test", "\tsrv db "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("files lack %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "nameserver 127.") {
		t.Errorf("a loopback resolver leaked in: %s", r.stdout)
	}
	srv.stop()
	// srv's entry is gone from new containers' hosts files.
	r = run(t, 0, "run", "--rm", "busybox", "cat", "/etc/hosts")
	if strings.Contains(r.stdout, "srv") {
		t.Errorf("srv still in /etc/hosts after it stopped:\n%s", r.stdout)
	}
}

// -p publishes TCP and UDP ports: reachable from the host's loopback,
// from the host's own address (on a dummy interface the test makes),
// from another host (a namespace behind a veth), and from another
// container (hairpin through the host's address).
func TestPublishedPorts(t *testing.T) {
	checkNetState(t)
	// The host's "own address", on a dummy it owns for the test.
	hostAddr := "198.51.100.77"
	hostAddrLink(t, fmt.Sprintf("mrtd%d", os.Getpid()%100000), hostAddr+"/32")
	// Another host, 203.0.113.2, behind a veth whose host end is 203.0.113.1.
	other := newPeerNetns(t, fmt.Sprintf("mrto%d", os.Getpid()%100000), "203.0.113.1/24", "203.0.113.2/24")

	tport, uport := freeHostPort(t, "tcp"), freeHostPort(t, "udp")
	web := startBG(t, "--rm", "--name", "web", "-p", fmt.Sprintf("%d:80", tport), "busybox", "sh", "-c",
		"echo hello-web > /tmp/index.html; httpd -f -p 80 -h /tmp")
	udp := startBG(t, "--rm", "--name", "udp", "-p", fmt.Sprintf("%d:53/udp", uport), "--rootfs", busybox, "/udpecho", "53")
	containerIP(t, "bridge", "web")
	for _, host := range []string{"127.0.0.1", hostAddr, "203.0.113.1"} {
		url := fmt.Sprintf("http://%s:%d/", host, tport)
		var body string
		waitUntil(t, url, func() bool { body, _ = httpGet(url); return body == "hello-web\n" })
	}
	// From another host.
	var body string
	var otherErr error
	other.do(func() { body, otherErr = httpGet(fmt.Sprintf("http://203.0.113.1:%d/", tport)) })
	if body != "hello-web\n" {
		t.Errorf("from another host: %q %v", body, otherErr)
	}
	// From another container, through the host's address (hairpin).
	r := run(t, 0, "run", "--rm", "busybox", "wget", "-qO-", fmt.Sprintf("http://%s:%d/", hostAddr, tport))
	if r.stdout != "hello-web\n" {
		t.Errorf("hairpin: %q", r.stdout)
	}
	// UDP from the host's loopback and from another host: the answer
	// comes back (conntrack undoes the DNAT on the reply).
	containerIP(t, "bridge", "udp")
	udpAsk := func(addr string) string {
		c, err := net.Dial("udp4", addr)
		if err != nil {
			return err.Error()
		}
		defer c.Close()
		c.Write([]byte("udp-hello"))
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		b := make([]byte, 100)
		n, err := c.Read(b)
		if err != nil {
			return err.Error()
		}
		return string(b[:n])
	}
	for _, addr := range []string{fmt.Sprintf("127.0.0.1:%d", uport), fmt.Sprintf("%s:%d", hostAddr, uport)} {
		waitUntil(t, "udp echo via "+addr, func() bool { return udpAsk(addr) == "echo:udp-hello" })
	}
	var got string
	other.do(func() { got = udpAsk(fmt.Sprintf("203.0.113.1:%d", uport)) })
	if got != "echo:udp-hello" {
		t.Errorf("udp from another host: %q", got)
	}
	if !strings.Contains(udp.output(), "udp-hello from 203.0.113.2:") {
		t.Errorf("the container did not see the other host's own address as the source: %q", udp.output())
	}

	// A port another container publishes, a port a host program uses,
	// and bad -p values: clear errors, exit 125, nothing half-made.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct{ p, want string }{
		{fmt.Sprintf("%d:80", tport), "already published by container"},
		{fmt.Sprintf("127.0.0.1:%d:80", busy), "another program on the host uses this port"},
		{"80:80:80:80", "invalid -p"},
		{"http", "invalid -p"},
		{"8080:80/sctp", "sctp is not supported"},
		{"70000:80", "invalid -p"},
	} {
		r := minirun(t, "", "run", "--rm", "-p", tc.p, "busybox", "true")
		if r.code != 125 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("-p %s: exit %d %q, want 125 and %q", tc.p, r.code, r.stderr, tc.want)
		}
	}
	for _, b := range []*bg{web, udp} {
		b.stop()
	}
	// The port rules went with the container.
	if _, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", tport)); err == nil {
		t.Errorf("port %d still answers after the container stopped", tport)
	}
}

// hostMTU is the MTU of the host's default-route interface (1500 without
// one).
func hostMTU(t *testing.T) int {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() {
			if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
				return l.Attrs().MTU
			}
		}
	}
	return 1500
}

// hostAddrLink gives the host an address of its own on a bridge the test
// creates (this kernel may lack the dummy driver) and removes it after.
func hostAddrLink(t *testing.T, name, cidr string) {
	t.Helper()
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := netlink.LinkAdd(br); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netlink.LinkDel(br) })
	a, _ := netlink.ParseAddr(cidr)
	if err := netlink.AddrAdd(br, a); err != nil {
		t.Fatal(err)
	}
	netlink.LinkSetUp(br)
}

func freeHostPort(t *testing.T, proto string) int {
	t.Helper()
	if proto == "udp" {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Outbound NAT: a container reaches an "upstream host" (a namespace with
// a TEST-NET-3 address routed through the host), which sees the host's
// address as the source, not the container's.
func TestOutboundNAT(t *testing.T) {
	checkNetState(t)
	up := newPeerNetns(t, fmt.Sprintf("mrtu%d", os.Getpid()%100000), "203.0.113.1/24", "203.0.113.2/24")
	var l net.Listener
	var err error
	up.do(func() { l, err = net.Listen("tcp4", "203.0.113.2:7000") })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	from := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			from <- err.Error()
			return
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Fprintf(c, "seen %s\n", c.RemoteAddr().(*net.TCPAddr).IP)
		c.Close()
		from <- strings.TrimSpace(line) + " " + c.RemoteAddr().(*net.TCPAddr).IP.String()
	}()
	r := run(t, 0, "run", "--rm", "busybox", "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'; echo hello | nc -w 3 203.0.113.2 7000")
	select {
	case got := <-from:
		if got != "hello 203.0.113.1" {
			t.Errorf("upstream saw %q, want hello from 203.0.113.1 (the host's address)", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("upstream got no connection; container said %q", r.stdout)
	}
	if !strings.Contains(r.stdout, "seen 203.0.113.1") || strings.Contains(r.stdout, "seen 10.") {
		t.Errorf("container: %q", r.stdout)
	}
}

// Two networks cannot reach each other; network connect makes a
// container reachable (by name) from the other network, disconnect
// undoes it. Network commands and their bad input.
func TestNetworksIsolatedAndConnect(t *testing.T) {
	checkNetState(t)
	for _, n := range []string{"mrt-a", "mrt-b"} {
		run(t, 0, "network", "create", n)
		t.Cleanup(func() { minirun(t, "", "network", "rm", n) })
	}
	srv := startBG(t, "--rm", "--name", "isosrv", "--network", "mrt-a", "busybox", "sh", "-c",
		"while true; do echo pong | nc -l -p 5000; done")
	ipA := containerIP(t, "mrt-a", "isosrv")
	waitUntil(t, "isosrv on mrt-a", func() bool {
		r := minirun(t, "", "run", "--rm", "--network", "mrt-a", "busybox", "sh", "-c", "echo ping | nc -w 2 isosrv 5000")
		return strings.Contains(r.stdout, "pong")
	})
	r := minirun(t, "", "run", "--rm", "--network", "mrt-b", "busybox", "sh", "-c",
		"echo ping | nc -w 2 "+ipA+" 5000; echo rc=$?; grep -c isosrv /etc/hosts")
	if strings.Contains(r.stdout, "pong") || !strings.Contains(r.stdout, "\n0\n") {
		t.Errorf("mrt-b reached mrt-a's container or knows its name: %q", r.stdout)
	}
	// network rm of a network in use is refused.
	if r := minirun(t, "", "network", "rm", "mrt-a"); r.code != 125 || !strings.Contains(r.stderr, "active endpoints") {
		t.Errorf("rm in-use network: %d %q", r.code, r.stderr)
	}
	run(t, 0, "network", "connect", "--alias", "svc", "mrt-b", "isosrv")
	for _, name := range []string{"isosrv", "svc"} {
		r := run(t, 0, "run", "--rm", "--network", "mrt-b", "busybox", "sh", "-c", "echo ping | nc -w 2 "+name+" 5000")
		if !strings.Contains(r.stdout, "pong") {
			t.Errorf("after connect, %s from mrt-b: %q", name, r.stdout)
		}
	}
	run(t, 0, "network", "disconnect", "mrt-b", "isosrv")
	r = minirun(t, "", "run", "--rm", "--network", "mrt-b", "busybox", "sh", "-c", "grep -c isosrv /etc/hosts")
	if strings.TrimSpace(r.stdout) != "0" {
		t.Errorf("after disconnect mrt-b still knows isosrv: %q", r.stdout)
	}
	srv.stop()

	// Bad input.
	hostAddrLink(t, fmt.Sprintf("mrtr%d", os.Getpid()%100000), "198.51.100.1/24")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"network", "create", "--subnet", "198.51.100.0/25", "mrt-c"}, "overlaps the host route 198.51.100.0/24"},
		{[]string{"network", "create", "--subnet", "10.1.2.3/24", "mrt-c"}, "host bits are set"},
		{[]string{"network", "create", "--subnet", "nonsense", "mrt-c"}, "invalid --subnet"},
		{[]string{"network", "create", "mrt-a"}, "already exists"},
		{[]string{"network", "create", "host"}, "reserved"},
		{[]string{"network", "rm", "nosuchnet"}, "no such network"},
		{[]string{"run", "--rm", "--network", "nosuchnet", "busybox", "true"}, "no such network"},
		{[]string{"network", "connect", "mrt-a", "nosuchctr"}, "no such container"},
	} {
		r := minirun(t, "", tc.args...)
		if r.code != 125 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d %q, want 125 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	r = minirun(t, "", "network", "ls")
	if strings.Contains(r.stdout, "mrt-c") {
		t.Errorf("a refused network was created: %s", r.stdout)
	}
}

// 50 containers started at once get 50 distinct addresses.
func TestConcurrentAddresses(t *testing.T) {
	checkNetState(t)
	const n = 50
	var wg sync.WaitGroup
	ips := make([]string, n)
	errs := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := minirun(t, "", "run", "--rm", "busybox", "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'; sleep 1")
			ips[i] = strings.TrimSpace(r.stdout)
			if r.code != 0 {
				errs[i] = fmt.Sprintf("exit %d: %s", r.code, r.stderr)
			}
		}(i)
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, ip := range ips {
		if errs[i] != "" {
			t.Errorf("container %d: %s", i, errs[i])
			continue
		}
		if ip == "" || seen[ip] {
			t.Errorf("container %d: address %q (empty or a duplicate)", i, ip)
		}
		seen[ip] = true
	}
}

// A minirun killed with SIGKILL cannot clean up: the next run (or system
// prune) repairs its veth, address and port rules.
func TestCrashRepair(t *testing.T) {
	checkNetState(t)
	port := freeHostPort(t, "tcp")
	b := startBG(t, "--name", "crashy", "-p", fmt.Sprintf("%d:80", port), "busybox", "sleep", "300")
	containerIP(t, "bridge", "crashy")
	b.cmd.Process.Kill()
	<-b.done
	// The same host port is free for the next container once the dead
	// one's rules are recognised as leftovers.
	r := run(t, 0, "run", "--rm", "-p", fmt.Sprintf("%d:80", port), "busybox", "true")
	_ = r
	r = run(t, 0, "system", "prune", "-f")
	if !strings.Contains(r.stdout, "Deleted Containers:") {
		t.Errorf("system prune: %q", r.stdout)
	}
	r = run(t, 0, "network", "inspect", "bridge")
	if strings.Contains(r.stdout, "crashy") {
		t.Errorf("crashy still on the network: %s", r.stdout)
	}
}
