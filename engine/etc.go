package engine

import (
	"bufio"
	"bytes"
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

// writeEtcFiles writes the container's /etc/hostname, /etc/hosts and
// /etc/resolv.conf into the bundle and returns the bind mounts that put
// them in place, as Docker does (the image's own files stay untouched).
func writeEtcFiles(bundle, hostname string, net netMode) ([]specs.Mount, error) {
	files := map[string][]byte{
		"hostname":    []byte(hostname + "\n"),
		"hosts":       []byte(hostsFile),
		"resolv.conf": resolvConf("/etc/resolv.conf"),
	}
	switch {
	case net.host:
		// The host's network: its names and resolvers work as they are.
		files["hosts"], _ = os.ReadFile("/etc/hosts")
		files["resolv.conf"], _ = os.ReadFile("/etc/resolv.conf")
	case net.peerBundle != "":
		// Another container's network: share its view of names too.
		for _, f := range []string{"hosts", "resolv.conf"} {
			if b, err := os.ReadFile(filepath.Join(net.peerBundle, f)); err == nil {
				files[f] = b
			}
		}
	}
	var mounts []specs.Mount
	for _, name := range []string{"resolv.conf", "hostname", "hosts"} {
		p := filepath.Join(bundle, name)
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return nil, err
		}
		mounts = append(mounts, specs.Mount{Destination: "/etc/" + name, Type: "bind", Source: p, Options: []string{"rbind", "rprivate"}})
	}
	return mounts, nil
}

// resolvConf copies the host's resolver configuration without loopback
// name servers (127.0.0.53 of systemd-resolved means nothing inside the
// container's network namespace), falling back to public resolvers as
// Docker does when none is left.
func resolvConf(path string) []byte {
	b, _ := os.ReadFile(path)
	var out bytes.Buffer
	servers := 0
	s := bufio.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		line := s.Text()
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if a, err := netip.ParseAddr(f[1]); err == nil && a.IsLoopback() {
				continue
			}
			servers++
		}
		out.WriteString(line + "\n")
	}
	if servers == 0 {
		out.WriteString("nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
	}
	return out.Bytes()
}
