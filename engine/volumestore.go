package engine

// The named-volume store, Docker's "local" volume driver:
//
//	<data>/volumes/.lock          flock(2): create, seed, rm and prune one at a time
//	<data>/volumes/NAME/volume.json  name, creation time, labels, mount point
//	<data>/volumes/NAME/_data/    what containers see (bind-mounted)
//
// A volume is in use while a container, running or stopped, names it in
// its meta.json Mounts: `volume rm` refuses it and `volume prune` keeps it,
// as Docker does. A volume is made whole or not at all: its directory is
// prepared under a temporary name and renamed into place.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNoSuchVolume is returned for a volume name the store does not have.
var ErrNoSuchVolume = errors.New("no such volume")

// Volume is a named volume as `volume inspect` shows it (Docker's fields).
type Volume struct {
	CreatedAt  string            `json:"CreatedAt"`
	Driver     string            `json:"Driver"`
	Labels     map[string]string `json:"Labels"`
	Mountpoint string            `json:"Mountpoint"`
	Name       string            `json:"Name"`
	Options    map[string]string `json:"Options"`
	Scope      string            `json:"Scope"`
}

// volumeRecord is volume.json.
type volumeRecord struct {
	Name       string            `json:"name"`
	Created    time.Time         `json:"created"`
	Labels     map[string]string `json:"labels,omitempty"`
	Mountpoint string            `json:"mountpoint"`
}

var volumeNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`) })

// validVolumeName is the local driver's rule (Docker's words): a volume
// name is also a directory name, so it can hold no "/" and cannot be "..".
func validVolumeName(name string) error {
	if len(name) == 1 {
		return fmt.Errorf("volume name %q is too short, names should be at least two alphanumeric characters", name)
	}
	if !volumeNameRE().MatchString(name) || len(name) > 255 {
		return fmt.Errorf("%q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", name)
	}
	return nil
}

func (e *Engine) volumesDir() string               { return filepath.Join(e.DataRoot, "volumes") }
func (e *Engine) volumeDir(name string) string     { return filepath.Join(e.volumesDir(), name) }
func (e *Engine) volumeDataDir(name string) string { return filepath.Join(e.volumeDir(name), "_data") }

// lockVolumes takes the store's lock.
func (e *Engine) lockVolumes() (func(), error) {
	if err := os.MkdirAll(e.volumesDir(), 0o701); err != nil {
		return nil, err
	}
	return lockFile(filepath.Join(e.volumesDir(), ".lock"))
}

// CreateVolume is `volume create [NAME]`: a volume with a random name when
// name is empty. Creating a volume that exists returns it, as Docker does.
func (e *Engine) CreateVolume(name string, labels map[string]string) (*Volume, error) {
	if name == "" {
		name = newID()
	}
	if err := validVolumeName(name); err != nil {
		return nil, err
	}
	unlock, err := e.lockVolumes()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return e.ensureVolume(name, labels)
}

// ensureVolume returns the volume, creating it if it does not exist; the
// caller holds the lock.
func (e *Engine) ensureVolume(name string, labels map[string]string) (*Volume, error) {
	v, err := e.loadVolume(name)
	if !errors.Is(err, ErrNoSuchVolume) {
		return v, err
	}
	// <data>/volumes is 0701 and a volume's directory 0711: nobody else
	// can list them, and a root that is not the host's root (a user
	// namespace) can still reach _data to mount it.
	if err := os.MkdirAll(e.volumesDir(), 0o701); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(e.volumesDir(), ".new-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // gone once renamed; a failure leaves nothing
	if err := os.Chmod(tmp, 0o711); err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(tmp, "_data"), 0o755); err != nil {
		return nil, err
	}
	rec := volumeRecord{Name: name, Created: time.Now().UTC(), Labels: labels, Mountpoint: e.volumeDataDir(name)}
	b, _ := json.MarshalIndent(rec, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "volume.json"), b, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, e.volumeDir(name)); err != nil {
		if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
			return nil, fmt.Errorf("create volume %s: %s exists but has no volume.json: move it away", name, e.volumeDir(name))
		}
		return nil, fmt.Errorf("create volume %s: %w", name, err)
	}
	return rec.volume(), nil
}

func (r volumeRecord) volume() *Volume {
	labels := r.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return &Volume{CreatedAt: r.Created.Local().Format(time.RFC3339), Driver: "local", Labels: labels,
		Mountpoint: r.Mountpoint, Name: r.Name, Scope: "local"}
}

// loadVolume reads a volume's record.
func (e *Engine) loadVolume(name string) (*Volume, error) {
	if validVolumeName(name) != nil {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchVolume, name)
	}
	b, err := os.ReadFile(filepath.Join(e.volumeDir(name), "volume.json"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%w: %s", ErrNoSuchVolume, name)
		}
		return nil, err
	}
	var rec volumeRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("volume %s: volume.json: %w", name, err)
	}
	rec.Name, rec.Mountpoint = name, e.volumeDataDir(name)
	return rec.volume(), nil
}

// Volumes lists the named volumes, by name.
func (e *Engine) Volumes() ([]*Volume, error) {
	ents, err := os.ReadDir(e.volumesDir())
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []*Volume
	for _, ent := range ents {
		if strings.HasPrefix(ent.Name(), ".") || !ent.IsDir() {
			continue // the lock, and volumes being made or removed
		}
		if v, err := e.loadVolume(ent.Name()); err == nil {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// InspectVolume is `volume inspect NAME`.
func (e *Engine) InspectVolume(name string) (*Volume, error) { return e.loadVolume(name) }

// volumeUsers maps each named volume to the IDs of the containers
// (running or stopped) that mount it.
func (e *Engine) volumeUsers() (map[string][]string, error) {
	ms, err := e.metas()
	if err != nil {
		return nil, err
	}
	users := map[string][]string{}
	for _, m := range ms {
		for _, mp := range m.Mounts {
			if mp.Type == "volume" && mp.Name != "" {
				users[mp.Name] = append(users[mp.Name], m.ID)
			}
		}
	}
	return users, nil
}

// RemoveVolume is `volume rm`: a volume any container uses, running or
// stopped, is refused (with or without force, as in Docker); force makes
// an unknown name no error.
func (e *Engine) RemoveVolume(name string, force bool) error {
	unlock, err := e.lockVolumes()
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := e.loadVolume(name); err != nil {
		if force && errors.Is(err, ErrNoSuchVolume) {
			return nil
		}
		return err
	}
	users, err := e.volumeUsers()
	if err != nil {
		return err
	}
	if ids := users[name]; len(ids) > 0 {
		return fmt.Errorf("remove %s: volume is in use - [%s]", name, strings.Join(ids, ", "))
	}
	return e.removeVolumeDir(name)
}

// removeVolumeDir renames the volume out of sight first, so that a crash
// halfway through leaves no half volume under its name.
func (e *Engine) removeVolumeDir(name string) error {
	gone := filepath.Join(e.volumesDir(), ".rm-"+newID()[:16])
	if err := os.Rename(e.volumeDir(name), gone); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return nil
}

// PruneVolumes is `volume prune`: it removes every named volume no
// container uses and returns their names and the bytes their files took.
func (e *Engine) PruneVolumes() (removed []string, reclaimed int64, err error) {
	unlock, err := e.lockVolumes()
	if err != nil {
		return nil, 0, err
	}
	defer unlock()
	users, err := e.volumeUsers()
	if err != nil {
		return nil, 0, err
	}
	vols, err := e.Volumes()
	if err != nil {
		return nil, 0, err
	}
	for _, v := range vols {
		if len(users[v.Name]) > 0 {
			continue
		}
		size := dirSize(e.volumeDataDir(v.Name))
		if err := e.removeVolumeDir(v.Name); err != nil {
			return removed, reclaimed, err
		}
		removed = append(removed, v.Name)
		reclaimed += size
	}
	return removed, reclaimed, nil
}

// dirSize adds up the sizes of the files below dir, each hard-linked
// inode once (as Docker counts a volume's size).
func dirSize(dir string) int64 {
	var total int64
	seen := map[[2]uint64]bool{}
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		if st, ok := fi.Sys().(*unix.Stat_t); ok && st.Nlink > 1 {
			k := [2]uint64{st.Dev, st.Ino}
			if seen[k] {
				return nil
			}
			seen[k] = true
		}
		total += fi.Size()
		return nil
	})
	return total
}
