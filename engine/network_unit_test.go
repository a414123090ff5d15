package engine

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/minirun/minirun/container"
)

func TestParsePublish(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []PortSpec
	}{
		{"80", []PortSpec{{ContainerPort: 80, Proto: "tcp"}}},
		{"8080:80", []PortSpec{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{"127.0.0.1:8080:80/udp", []PortSpec{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Proto: "udp"}}},
		{"0.0.0.0:8080:80", []PortSpec{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{"127.0.0.1::53/UDP", []PortSpec{{HostIP: "127.0.0.1", ContainerPort: 53, Proto: "udp"}}},
		{"8000-8001:80-81", []PortSpec{{HostPort: 8000, ContainerPort: 80, Proto: "tcp"}, {HostPort: 8001, ContainerPort: 81, Proto: "tcp"}}},
	} {
		got, err := ParsePublish(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParsePublish(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "x", "0", "70000", "80/sctp", "80/icmp", "1:2:3:4", "[::1]:80:80", "host:80:80", "8000-8002:80-81", "90-80:90-80", ":80:"} {
		if got, err := ParsePublish(bad); err == nil {
			t.Errorf("ParsePublish(%q) = %+v, want an error", bad, got)
		}
	}
	if s := (PortSpec{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}).String(); s != "0.0.0.0:8080->80/tcp" {
		t.Errorf("String: %s", s)
	}
}

func TestPublishedPortsWithExposed(t *testing.T) {
	o := RunOptions{PublishAll: true, Expose: []string{"53/udp"}, Publish: []string{"8080:80"}, Network: "bridge"}
	if err := o.checkNetwork(); err != nil {
		t.Fatal(err)
	}
	img := imageConfigWithExposed("80/tcp", "443")
	got, err := o.publishedPorts(img)
	if err != nil {
		t.Fatal(err)
	}
	want := []PortSpec{{ContainerPort: 53, Proto: "udp"}, {HostPort: 8080, ContainerPort: 80, Proto: "tcp"}, {ContainerPort: 443, Proto: "tcp"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestCheckNetworkFlags(t *testing.T) {
	for _, o := range []RunOptions{
		{Network: "none", NetworkAliases: []string{"a"}},
		{Network: "host", IP: "10.88.0.9"},
		{Network: "container:"},
		{Network: "bridge", DNS: DNSOptions{Servers: []string{"not-an-ip"}}},
		{Network: "bridge", AddHosts: []string{"noip"}},
		{Network: "bridge", NetworkAliases: []string{"bad alias"}},
	} {
		if err := o.checkNetwork(); err == nil {
			t.Errorf("%+v: want an error", o)
		}
	}
}

func TestParseAddHost(t *testing.T) {
	for in, want := range map[string]string{
		"db:10.0.0.5":            "10.0.0.5\tdb",
		"db=10.0.0.5":            "10.0.0.5\tdb",
		"v6:[::1]":               "::1\tv6",
		"gw:host-gateway":        "10.88.0.1\tgw",
		"a.example.test:1.2.3.4": "1.2.3.4\ta.example.test",
	} {
		got, err := parseAddHost(in, "10.88.0.1")
		if err != nil || got != want {
			t.Errorf("parseAddHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"db", ":1.2.3.4", "db:", "db:nope", "a b:1.2.3.4"} {
		if _, err := parseAddHost(bad, "10.88.0.1"); err == nil {
			t.Errorf("parseAddHost(%q): want an error", bad)
		}
	}
	if _, err := parseAddHost("gw:host-gateway", ""); err == nil {
		t.Error("host-gateway without a network: want an error")
	}
}

func TestResolvConf(t *testing.T) {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(p, []byte("nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch corp.test\noptions edns0\n"), 0o644)
	got := string(resolvConf(p, DNSOptions{}))
	if got != "nameserver 192.0.2.53\nsearch corp.test\noptions edns0\n" {
		t.Errorf("plain: %q", got)
	}
	got = string(resolvConf(p, DNSOptions{Servers: []string{"198.51.100.1"}, Search: []string{"a.test", "b.test"}, Options: []string{"ndots:2"}}))
	if got != "nameserver 198.51.100.1\nsearch a.test b.test\noptions ndots:2\n" {
		t.Errorf("with --dns: %q", got)
	}
	os.WriteFile(p, []byte("nameserver 127.0.0.53\n"), 0o644)
	if got := string(resolvConf(p, DNSOptions{})); !strings.Contains(got, "nameserver 8.8.8.8") {
		t.Errorf("only loopback resolvers: %q, want Docker's fallback", got)
	}
}

func TestRenderHosts(t *testing.T) {
	tab := &endpointTable{Containers: map[string]*ctrNet{
		"aaaaaaaaaaaaaaaa": {Name: "web", Hostname: "aaaaaaaaaaaa", ExtraHosts: []string{"192.0.2.7\textra"},
			Endpoints: []endpointRec{{Network: "bridge", IP: "10.88.0.2", Aliases: []string{"www"}}}},
		"bbbbbbbbbbbbbbbb": {Hostname: "box", Endpoints: []endpointRec{{Network: "bridge", IP: "10.88.0.3"}, {Network: "back", IP: "10.89.0.2"}}},
		"cccccccccccccccc": {Name: "db", Hostname: "cccccccccccc", Endpoints: []endpointRec{{Network: "back", IP: "10.89.0.3"}}},
	}}
	web := string(renderHosts(tab, "aaaaaaaaaaaaaaaa"))
	for _, want := range []string{"127.0.0.1\tlocalhost\n", "192.0.2.7\textra\n", "10.88.0.2\taaaaaaaaaaaa web\n", "10.88.0.3\tbbbbbbbbbbbb\n"} {
		if !strings.Contains(web, want) {
			t.Errorf("web's hosts lack %q:\n%s", want, web)
		}
	}
	if strings.Contains(web, "db") {
		t.Errorf("web (bridge only) knows db (back only):\n%s", web)
	}
	box := string(renderHosts(tab, "bbbbbbbbbbbbbbbb"))
	for _, want := range []string{"10.88.0.3\tbox\n", "10.89.0.2\tbox\n", "10.88.0.2\tweb www aaaaaaaaaaaa\n", "10.89.0.3\tdb cccccccccccc\n"} {
		if !strings.Contains(box, want) {
			t.Errorf("box's hosts lack %q:\n%s", want, box)
		}
	}
}

func TestNextBlock(t *testing.T) {
	a, ok := nextBlock(netip.MustParsePrefix("10.89.0.0/24"))
	if !ok || a.String() != "10.89.1.0" {
		t.Errorf("got %s %v", a, ok)
	}
	if _, ok := nextBlock(netip.MustParsePrefix("255.255.255.0/24")); ok {
		t.Error("wrapped around the address space")
	}
}

func TestValidNetworkName(t *testing.T) {
	for _, ok := range []string{"backend", "my_net.1", "a"} {
		if err := validNetworkName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "host", "none", "../x", "-x", "a b", strings.Repeat("n", 65)} {
		if err := validNetworkName(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func imageConfigWithExposed(ports ...string) (c ocispec.ImageConfig) {
	c.ExposedPorts = map[string]struct{}{}
	for _, p := range ports {
		c.ExposedPorts[p] = struct{}{}
	}
	return c
}

func TestFindByNameIDAndPrefix(t *testing.T) {
	e := New(t.TempDir(), t.TempDir())
	for _, m := range []Meta{{ID: "abc111" + strings.Repeat("0", 58), Name: "one"}, {ID: "abc222" + strings.Repeat("0", 58), Name: "two"}} {
		os.MkdirAll(e.containerDataDir(m.ID), 0o700)
		if err := e.writeMeta(&m); err != nil {
			t.Fatal(err)
		}
	}
	for ref, want := range map[string]string{"one": "one", "two": "two", "abc1": "one", "abc222" + strings.Repeat("0", 58): "two"} {
		m, err := e.Find(ref)
		if err != nil || m.Name != want {
			t.Errorf("Find(%q) = %q, %v; want %q", ref, m.Name, err, want)
		}
	}
	if _, err := e.Find("abc"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("Find(abc): %v, want ambiguous", err)
	}
	if _, err := e.Find("zzz"); !errors.Is(err, ErrNoSuchContainer) {
		t.Errorf("Find(zzz): %v", err)
	}
	if _, err := e.Find("ab"); err == nil {
		t.Error("a 2-character prefix matched")
	}
}

// TestRenderHostsMany: on one network of 50 containers every hosts file
// lists the 49 others, each once, sorted, never itself; aliveNet tells a
// recorded init that is gone.
func TestRenderHostsMany(t *testing.T) {
	tab := &endpointTable{Containers: map[string]*ctrNet{}}
	for i := 0; i < 50; i++ {
		id := fmt.Sprintf("%02d%014x", i, 0xabc000+i)
		tab.Containers[id] = &ctrNet{Name: fmt.Sprintf("c%d", i), Hostname: id[:12],
			Endpoints: []endpointRec{{Network: "bridge", IP: fmt.Sprintf("10.88.0.%d", 2+i)}}}
	}
	peers := peerLines(tab)
	for id := range tab.Containers {
		got := string(renderHostsWith(tab, id, peers))
		if want := string(renderHosts(tab, id)); got != want {
			t.Fatalf("%s: renderHostsWith and renderHosts differ", id)
		}
		_, list, ok := strings.Cut(got, "kept current by minirun)\n")
		if !ok {
			t.Fatalf("%s: no peer section:\n%s", id, got)
		}
		lines := strings.Split(strings.TrimSuffix(list, "\n"), "\n")
		if len(lines) != 49 || !sort.StringsAreSorted(lines) || strings.Contains(list, ShortID(id)) {
			t.Fatalf("%s: %d peer lines (sorted %v), or itself among them:\n%s", id, len(lines), sort.StringsAreSorted(lines), list)
		}
	}
	e := &Engine{}
	if e.aliveNet("x", &ctrNet{Pid: os.Getpid(), Start: 1}) {
		t.Error("a recorded start time that is not the process's counts as alive")
	}
	start, _, err := container.ProcStartTime(os.Getpid())
	if err != nil || !e.aliveNet("x", &ctrNet{Pid: os.Getpid(), Start: start}) {
		t.Errorf("this test's own process, recorded with its start time, is not alive (%v)", err)
	}
}
