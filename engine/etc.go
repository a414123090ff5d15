package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const hostsFile = `127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
fe00::0	ip6-localnet
ff00::0	ip6-mcastprefix
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
`

// DNSOptions are --dns, --dns-search and --dns-option.
type DNSOptions struct {
	Servers []string
	Search  []string
	Options []string
}

// writeEtcFiles writes the container's /etc/hostname, /etc/hosts and
// /etc/resolv.conf into the bundle and returns the bind mounts that put
// them in place, as Docker does (the image's own files stay untouched).
// extraHosts are --add-host lines ("IP\tNAME"). On a bridge network the
// hosts file is rewritten once the container has its address, and again
// whenever a container joins or leaves one of its networks.
func writeEtcFiles(bundle, hostname string, net netMode, dns DNSOptions, extraHosts []string) ([]specs.Mount, error) {
	hosts := hostsFile + strings.Join(append(extraHosts, ""), "\n")
	files := map[string][]byte{
		"hostname":    []byte(hostname + "\n"),
		"hosts":       []byte(hosts),
		"resolv.conf": resolvConf("/etc/resolv.conf", dns),
	}
	if net.host {
		// The host's network: its names and resolvers work as they are.
		h, _ := os.ReadFile("/etc/hosts")
		files["hosts"] = append(h, []byte(strings.Join(append(extraHosts, ""), "\n"))...)
		if len(dns.Servers)+len(dns.Search)+len(dns.Options) == 0 {
			files["resolv.conf"], _ = os.ReadFile("/etc/resolv.conf")
		}
	}
	var mounts []specs.Mount
	for _, name := range []string{"resolv.conf", "hostname", "hosts"} {
		p := filepath.Join(bundle, name)
		if net.peerBundle != "" {
			// Another container's network: its very files, so that
			// updates of its hosts file reach this container too.
			p = filepath.Join(net.peerBundle, name)
		} else if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return nil, err
		}
		mounts = append(mounts, specs.Mount{Destination: "/etc/" + name, Type: "bind", Source: p, Options: []string{"rbind", "rprivate"}})
	}
	return mounts, nil
}

// resolvConf copies the host's resolver configuration without loopback
// name servers (127.0.0.53 of systemd-resolved means nothing inside the
// container's network namespace), falling back to public resolvers as
// Docker does when none is left. --dns, --dns-search and --dns-option
// replace the host's lines of the same kind.
func resolvConf(path string, dns DNSOptions) []byte {
	b, _ := os.ReadFile(path)
	var out bytes.Buffer
	servers := 0
	s := bufio.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		line := s.Text()
		f := strings.Fields(line)
		if len(f) >= 1 {
			switch {
			case f[0] == "nameserver" && len(dns.Servers) > 0,
				(f[0] == "search" || f[0] == "domain") && len(dns.Search) > 0,
				f[0] == "options" && len(dns.Options) > 0:
				continue
			}
		}
		if len(f) >= 2 && f[0] == "nameserver" {
			if a, err := netip.ParseAddr(f[1]); err == nil && a.IsLoopback() {
				continue
			}
			servers++
		}
		out.WriteString(line + "\n")
	}
	for _, d := range dns.Servers {
		fmt.Fprintf(&out, "nameserver %s\n", d)
		servers++
	}
	if len(dns.Search) > 0 {
		fmt.Fprintf(&out, "search %s\n", strings.Join(dns.Search, " "))
	}
	if len(dns.Options) > 0 {
		fmt.Fprintf(&out, "options %s\n", strings.Join(dns.Options, " "))
	}
	if servers == 0 {
		out.WriteString("nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
	}
	return out.Bytes()
}

// parseAddHost turns --add-host NAME:IP (Docker also takes NAME=IP) into a
// hosts line; "host-gateway" as IP means the gateway of the container's
// network, i.e. the host as the container reaches it.
func parseAddHost(s, gateway string) (string, error) {
	name, ip, ok := strings.Cut(s, ":")
	if i := strings.Index(s, "="); i >= 0 && (!ok || i < strings.Index(s, ":")) {
		name, ip, ok = s[:i], s[i+1:], true
	}
	if !ok || name == "" || ip == "" {
		return "", fmt.Errorf("invalid --add-host %q: want NAME:IP", s)
	}
	if ip == "host-gateway" {
		if gateway == "" {
			return "", fmt.Errorf("--add-host %s: host-gateway needs a bridge network (there is no gateway with this --network)", s)
		}
		ip = gateway
	}
	ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
	if _, err := netip.ParseAddr(ip); err != nil {
		return "", fmt.Errorf("invalid --add-host %q: %q is not an IP address", s, ip)
	}
	for _, r := range name {
		if r <= ' ' || r == '#' {
			return "", fmt.Errorf("invalid --add-host %q: bad host name", s)
		}
	}
	return ip + "\t" + name, nil
}
