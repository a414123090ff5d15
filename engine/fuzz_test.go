package engine

// Fuzz targets for the command-line specs a user (or a script built on
// minirun) hands to `run`: -p, --expose, -v, --mount and --tmpfs. Each
// asserts more than "does not panic": what the parser accepts satisfies
// the invariants the rest of the engine relies on (ports in range, absolute
// clean destinations, valid volume names ...), and printing an accepted
// spec back in its canonical form and parsing it again gives the same
// result, so no two readings of one flag exist.
//
// Seeds: testdata/fuzz/FuzzXxx/ (committed). Run one for a while with
//
//	go test -run '^$' -fuzz '^FuzzParsePublish$' -fuzztime 60s ./engine
//
// or all of them with `make fuzz`.

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/netip"
	"path"
	"reflect"
	"strings"
	"testing"
)

func FuzzParsePublish(f *testing.F) {
	for _, s := range []string{"80", "8080:80", "127.0.0.1:8080:80/udp", "0.0.0.0::80", "8000-8002:9000-9002", "::80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePublish(s)
		if err != nil {
			if len(ps) != 0 || err.Error() == "" {
				t.Fatalf("ParsePublish(%q) = %v, %v: an error with a result", s, ps, err)
			}
			return
		}
		if len(ps) == 0 || len(ps) > 65535 {
			t.Fatalf("ParsePublish(%q) accepted %d ports", s, len(ps))
		}
		for i, p := range ps {
			checkPortSpec(t, s, p)
			if i > 0 {
				// A range maps port by port, both sides consecutive.
				q := ps[i-1]
				if p.ContainerPort != q.ContainerPort+1 || (p.HostPort != 0 && p.HostPort != q.HostPort+1) ||
					p.HostIP != q.HostIP || p.Proto != q.Proto {
					t.Fatalf("ParsePublish(%q): %v follows %v", s, p, q)
				}
			}
			// Round trip through the canonical form of one port.
			var canon string
			switch {
			case p.HostPort == 0 && p.HostIP == "":
				canon = fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
			case p.HostPort == 0:
				canon = fmt.Sprintf("%s::%d/%s", p.HostIP, p.ContainerPort, p.Proto)
			default:
				canon = fmt.Sprintf("%s:%d:%d/%s", p.HostIP, p.HostPort, p.ContainerPort, p.Proto)
			}
			again, err := ParsePublish(canon)
			if err != nil || len(again) != 1 || again[0] != p {
				t.Fatalf("ParsePublish(%q) gave %+v, but its canonical form %q parses as %+v, %v", s, p, canon, again, err)
			}
		}
	})
}

func FuzzParseExposed(f *testing.F) {
	for _, s := range []string{"80", "80/tcp", "53/udp", "8000-8002", "1-65535/udp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseExposed(s)
		if err != nil {
			return
		}
		if len(ps) == 0 || len(ps) > 65535 {
			t.Fatalf("ParseExposed(%q) accepted %d ports", s, len(ps))
		}
		for _, p := range ps {
			checkPortSpec(t, s, p)
			if p.HostPort != 0 || p.HostIP != "" {
				t.Fatalf("ParseExposed(%q) = %+v: an exposed port has no host side", s, p)
			}
		}
	})
}

// checkPortSpec asserts what the firewall code takes for granted of a port.
func checkPortSpec(t *testing.T, in string, p PortSpec) {
	t.Helper()
	if p.Proto != "tcp" && p.Proto != "udp" {
		t.Fatalf("%q: protocol %q", in, p.Proto)
	}
	if p.ContainerPort == 0 {
		t.Fatalf("%q: container port 0", in)
	}
	if p.HostIP != "" {
		a, err := netip.ParseAddr(p.HostIP)
		if err != nil || !a.Is4() || a.IsUnspecified() || a.String() != p.HostIP {
			// portRules calls netip.MustParseAddr on it: it must be a
			// canonical IPv4 address.
			t.Fatalf("%q: host address %q is not a canonical IPv4 address", in, p.HostIP)
		}
	}
}

// checkMountRequest asserts what volumeMounts and the container's mount
// code take for granted of every accepted -v, --mount or --tmpfs.
func checkMountRequest(t *testing.T, in string, r mountRequest) {
	t.Helper()
	d := r.Destination
	if !path.IsAbs(d) || path.Clean(d) != d || d == "/" {
		t.Fatalf("%q: destination %q is not an absolute clean path other than /", in, d)
	}
	switch r.Type {
	case "bind":
		if !path.IsAbs(r.Source) || path.Clean(r.Source) != r.Source {
			t.Fatalf("%q: bind source %q is not an absolute clean path", in, r.Source)
		}
	case "volume":
		if r.Source != "" {
			if err := validVolumeName(r.Source); err != nil {
				t.Fatalf("%q: accepted volume name %q: %v", in, r.Source, err)
			}
		}
	case "tmpfs":
		if r.Source != "" {
			t.Fatalf("%q: tmpfs with a source %q", in, r.Source)
		}
		if len(r.TmpfsOptions) < 3 || strings.Join(r.TmpfsOptions[:3], ",") != "noexec,nosuid,nodev" {
			t.Fatalf("%q: tmpfs options %q do not start with Docker's defaults", in, r.TmpfsOptions)
		}
		for _, o := range r.TmpfsOptions {
			if strings.Contains(o, ",") {
				t.Fatalf("%q: tmpfs option %q would be read as several options by mount(2)", in, o)
			}
		}
	default:
		t.Fatalf("%q: mount type %q", in, r.Type)
	}
}

func FuzzParseVolumeFlag(f *testing.F) {
	for _, s := range []string{"/data", "/host:/ctr", "data:/data:ro,z", "/h:/c:rw,rprivate", "./sub:/ctr:Z", "/h/../x:/c/./d/..:ro"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseVolumeFlag(s)
		if err != nil {
			return
		}
		checkMountRequest(t, s, r)
		if r.Type == "tmpfs" {
			t.Fatalf("-v %q gave a tmpfs", s)
		}
		canon := r.Destination
		if r.Source != "" {
			canon = r.Source + ":" + canon
			if r.Mode != "" {
				canon += ":" + r.Mode
			}
		} else if r.Mode != "" || r.ReadOnly || r.NoCopy {
			t.Fatalf("-v %q: an anonymous volume with mode %q", s, r.Mode)
		}
		again, err := parseVolumeFlag(canon)
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("-v %q gave %+v, but its canonical form %q parses as %+v, %v", s, r, canon, again, err)
		}
	})
}

func FuzzParseMountFlag(f *testing.F) {
	for _, s := range []string{
		"type=bind,src=/,dst=/host,readonly", "type=volume,source=data,target=/data,volume-nocopy",
		"type=tmpfs,dst=/run,tmpfs-size=64m,tmpfs-mode=1777", "dst=/x,volume-label=a=b,volume-label=c=",
		`"type=volume,src=v1,dst=/d,volume-label=""k=v,w"""`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseMountFlag(s)
		if err != nil {
			return
		}
		checkMountRequest(t, s, r)
		// Print it back as --mount fields (CSV, quoted where needed).
		fields := []string{"type=" + r.Type, "dst=" + r.Destination}
		if r.Source != "" {
			fields = append(fields, "src="+r.Source)
		}
		if r.ReadOnly {
			fields = append(fields, "readonly")
		}
		if r.NoCopy {
			fields = append(fields, "volume-nocopy")
		}
		for k, v := range r.Labels {
			fields = append(fields, "volume-label="+k+"="+v)
		}
		if r.Type == "tmpfs" && r.Mode != "" {
			for _, o := range strings.Split(r.Mode, ",") {
				fields = append(fields, "tmpfs-"+o)
			}
		}
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		_ = w.Write(fields)
		w.Flush()
		canon := strings.TrimSuffix(b.String(), "\n")
		again, err := parseMountFlag(canon)
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("--mount %q gave %+v, but its canonical form %q parses as %+v, %v", s, r, canon, again, err)
		}
	})
}

func FuzzParseTmpfsFlag(f *testing.F) {
	for _, s := range []string{"/run", "/run:rw,size=64m,mode=1777", "/tmp:exec,uid=1000,gid=1000,nr_inodes=1k", "/x:mpol=bind:0-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseTmpfsFlag(s)
		if err != nil {
			return
		}
		checkMountRequest(t, s, r)
		if r.Type != "tmpfs" {
			t.Fatalf("--tmpfs %q gave a %s mount", s, r.Type)
		}
		canon := r.Destination
		if r.Mode != "" {
			canon += ":" + r.Mode
		}
		again, err := parseTmpfsFlag(canon)
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("--tmpfs %q gave %+v, but its canonical form %q parses as %+v, %v", s, r, canon, again, err)
		}
	})
}
