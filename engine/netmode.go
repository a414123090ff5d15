package engine

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minirun/minirun/container"
)

// netMode is what --network asked for, resolved.
type netMode struct {
	host       bool   // share the host's network namespace
	joinPath   string // /proc/<pid>/ns/net of another container
	peerBundle string // that container's bundle (its hosts and resolv.conf)
	hostname   string // the default hostname this mode implies
}

// networkMode resolves --network: "" or none, host, container:NAME|ID.
func (e *Engine) networkMode(mode string) (netMode, error) {
	switch {
	case mode == "" || mode == "none":
		return netMode{}, nil
	case mode == "host":
		h, _ := os.Hostname()
		return netMode{host: true, hostname: h}, nil
	}
	ref := strings.TrimPrefix(mode, "container:")
	m, err := e.Find(ref)
	if err != nil {
		return netMode{}, fmt.Errorf("--network %s: %w", mode, err)
	}
	c, err := e.Runtime.Load(m.ID)
	if err != nil || c.State().Status != container.Running {
		return netMode{}, fmt.Errorf("--network %s: container %s is not running: start it first", mode, ref)
	}
	hn, _ := os.ReadFile(e.bundleDir(m.ID) + "/hostname")
	return netMode{
		joinPath:   "/proc/" + strconv.Itoa(c.Pid()) + "/ns/net",
		peerBundle: e.bundleDir(m.ID),
		hostname:   strings.TrimSpace(string(hn)),
	}, nil
}

// apply edits the spec's network namespace: none keeps the new one (only
// lo), host drops it, container: joins the other container's.
func (n netMode) apply(s *specs.Spec) {
	var out []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			if n.host {
				continue
			}
			if n.joinPath != "" {
				ns.Path = n.joinPath
			}
		}
		out = append(out, ns)
	}
	s.Linux.Namespaces = out
}
