package engine

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/minirun/minirun/cgroups"
	"github.com/minirun/minirun/container"
	"github.com/minirun/minirun/image"
	"github.com/minirun/minirun/network"
)

// Engine ties a state root (runtime state and bundles, e.g. /run/minirun)
// to a data root (images and container layers, e.g. /var/lib/minirun).
type Engine struct {
	StateRoot string
	DataRoot  string
	Runtime   *container.Runtime
	images    *image.Store
	slirpMu   sync.Mutex
	slirps    map[string]*network.Slirp // rootless: the slirp4netns of containers this process runs
	// slirpDetached: the slirp4netns this process starts must outlive it
	// (minirun-launch of a detached container).
	slirpDetached bool
}

// New opens an engine; nothing is created until it is used.
func New(stateRoot, dataRoot string) *Engine {
	return &Engine{StateRoot: stateRoot, DataRoot: dataRoot, Runtime: &container.Runtime{Root: stateRoot}}
}

// Images opens the image store on first use.
func (e *Engine) Images() (*image.Store, error) {
	if e.images == nil {
		if Rootless() {
			if err := e.prepareRootless(); err != nil {
				return nil, err
			}
		}
		s, err := image.Open(e.DataRoot)
		if err != nil {
			return nil, fmt.Errorf("open the image store in %s: %w", e.DataRoot, err)
		}
		e.images = s
	}
	return e.images, nil
}

// Meta is what the engine remembers about a container beyond the OCI
// state: its name, image and command (Docker's config.v2.json).
type Meta struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Image   string `json:"image"`
	ImageID string `json:"imageID,omitempty"` // config digest: keeps the image from rmi while the container exists
	// StopSignal is the image's STOPSIGNAL, what `stop` sends first.
	StopSignal string     `json:"stopSignal,omitempty"`
	Command    []string   `json:"command"`
	Created    time.Time  `json:"created"`
	Remove     bool       `json:"autoRemove"`
	Network    string     `json:"network,omitempty"` // --network as given (bridge network name, none, host, container:X)
	Ports      []PortSpec `json:"ports,omitempty"`   // -p/-P as asked (host port 0: picked at start)
	// Mounts are the container's volumes, bind mounts and tmpfs mounts
	// (what `inspect` shows and what keeps a named volume in use).
	Mounts []MountPoint `json:"mounts,omitempty"`

	// What a monitor (run -d, restart) needs to run the container again.
	Hostname    string   `json:"hostname,omitempty"`
	Aliases     []string `json:"networkAliases,omitempty"`
	IP          string   `json:"ip,omitempty"`
	ExtraHosts  []string `json:"extraHosts,omitempty"` // resolved --add-host lines
	Restart     string   `json:"restartPolicy,omitempty"`
	StopTimeout int      `json:"stopTimeout,omitempty"`
	TTY         bool     `json:"tty,omitempty"`
	OpenStdin   bool     `json:"openStdin,omitempty"`
	Detached    bool     `json:"detached,omitempty"`
	LogMaxSize  int64    `json:"logMaxSize,omitempty"`
	LogMaxFiles int      `json:"logMaxFiles,omitempty"`
	Rootfs      string   `json:"rootfs,omitempty"` // --rootfs DIR instead of an image
	// UserNS is the container's block of host IDs with --userns=auto
	// (nil: no user namespace). userns.json in the data directory holds
	// it too, from before meta.json exists (see allocateUserNS).
	UserNS *UserNS `json:"userns,omitempty"`
}

// MountPoint is one of a container's mounts, Docker's inspect "Mounts".
type MountPoint struct {
	Type        string `json:"Type"`           // bind, volume or tmpfs
	Name        string `json:"Name,omitempty"` // the volume's name (volumes only)
	Source      string `json:"Source"`         // host path ("" for tmpfs)
	Destination string `json:"Destination"`
	Mode        string `json:"Mode,omitempty"` // options as given, e.g. "ro" or "size=64m"
	RW          bool   `json:"RW"`
}

func (e *Engine) containerDataDir(id string) string {
	return filepath.Join(e.DataRoot, "containers", id)
}

func (e *Engine) bundleDir(id string) string { return filepath.Join(e.StateRoot, id) }

func newID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // the kernel's random source never fails after boot
	}
	return hex.EncodeToString(b)
}

// ShortID is the 12-character form Docker prints.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// metas lists the engine's containers.
func (e *Engine) metas() ([]Meta, error) {
	ents, err := os.ReadDir(filepath.Join(e.DataRoot, "containers"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []Meta
	for _, ent := range ents {
		b, err := os.ReadFile(filepath.Join(e.DataRoot, "containers", ent.Name(), "meta.json"))
		if err != nil {
			continue
		}
		var m Meta
		if json.Unmarshal(b, &m) == nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// ErrNoSuchContainer is returned for an unknown name or ID.
var ErrNoSuchContainer = errors.New("no such container")

// Find resolves a name, a full ID or a unique ID prefix.
func (e *Engine) Find(ref string) (Meta, error) {
	ms, err := e.metas()
	if err != nil {
		return Meta{}, err
	}
	var hits []Meta
	for _, m := range ms {
		if m.ID == ref || m.Name == ref {
			return m, nil
		}
		if len(ref) >= 3 && strings.HasPrefix(m.ID, ref) {
			hits = append(hits, m)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return Meta{}, fmt.Errorf("%w: %s", ErrNoSuchContainer, ref)
	default:
		return Meta{}, fmt.Errorf("container ID prefix %q is ambiguous (%d containers): give more characters", ref, len(hits))
	}
}

// Stats reads a running container's cgroup counters.
func (e *Engine) Stats(ref string) (Meta, *cgroups.Stats, error) {
	m, err := e.Find(ref)
	if err != nil {
		return Meta{}, nil, err
	}
	c, err := e.Runtime.Load(m.ID)
	if err != nil {
		return m, nil, fmt.Errorf("container %s is not running", ref)
	}
	if st := c.State().Status; st != container.Running && st != container.Created && st != container.Paused {
		return m, nil, fmt.Errorf("container %s is %s: stats needs a running container", ref, st)
	}
	s, err := c.Stats()
	return m, s, err
}

// ImagesInUse is the set of image IDs that containers (running or not)
// were created from: rmi refuses those without -f, prune keeps them.
func (e *Engine) ImagesInUse() (map[digest.Digest]bool, error) {
	ms, err := e.metas()
	if err != nil {
		return nil, err
	}
	used := map[digest.Digest]bool{}
	for _, m := range ms {
		if m.ImageID != "" {
			used[digest.Digest(m.ImageID)] = true
		}
	}
	return used, nil
}
