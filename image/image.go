package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Image is one tagged image of the store, ready to run.
type Image struct {
	Ref      string        // normalised reference it was found by (for List: each tag is one entry); "" for a dangling (untagged) image found by ID
	ID       digest.Digest // digest of the config blob (Docker's image ID)
	Manifest digest.Digest // digest of the manifest blob
	Config   ocispec.Image // parsed config
	Layers   []string      // absolute paths of the unpacked layer dirs, BOTTOM layer first
	// Size is the sum of the sizes of the compressed layer blobs, as listed
	// in the manifest (what a registry transfers; cheap to compute). The
	// unpacked size on disk is usually larger.
	Size    int64
	Created time.Time // from Config.Created, zero if absent
}

// Media types of the manifests and configs we can read. Docker's schema 2
// manifest and config have the same JSON shape as the OCI ones, so a pull
// can store them unchanged (keeping their digests).
const (
	mediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerConfig   = "application/vnd.docker.container.image.v1+json"
)

// minIDPrefix is the shortest image ID prefix Get accepts, like docker.
const minIDPrefix = 4

// Get finds an image by reference (normalised first), by full image ID
// ("sha256:<hex>" or the bare 64-digit hex) or by a unique prefix of at
// least 4 hex digits of the image ID, like docker. It makes sure every
// layer directory exists, unpacking missing ones from their blobs.
// A missing image gives an error wrapping ErrNotFound.
func (s *Store) Get(ref string) (*Image, error) {
	_, _, img, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	if err := s.ensureLayers(img); err != nil {
		return nil, err
	}
	return img, nil
}

// lookup finds ref in the index (as Get describes) and loads the image's
// manifest and config; it returns the index and the image's entry in it
// too, for callers that need them (Inspect).
func (s *Store) lookup(ref string) (*ocispec.Index, ocispec.Descriptor, *Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, ocispec.Descriptor{}, nil, err
	}
	entry, name, err := s.find(idx, ref)
	if err != nil {
		return nil, ocispec.Descriptor{}, nil, err
	}
	img, err := s.load(entry, name)
	return idx, entry, img, err
}

// List returns one Image per tag, sorted by Ref. It does not unpack
// missing layer directories (Layers holds the paths they will have); call
// Get before using Layers.
func (s *Store) List() ([]Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var imgs []Image
	for _, d := range idx.Manifests {
		name := refName(d)
		if name == "" {
			continue // an untagged entry (not written by us); nothing to list it by
		}
		img, err := s.load(d, name)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, *img)
	}
	sort.Slice(imgs, func(i, j int) bool { return imgs[i].Ref < imgs[j].Ref })
	return imgs, nil
}

// find picks the index entry that ref names, and the reference to report it
// by. The order is docker's: full ID, then reference, then ID prefix.
func (s *Store) find(idx *ocispec.Index, ref string) (ocispec.Descriptor, string, error) {
	notFound := fmt.Errorf("image %q: %w", ref, ErrNotFound)

	// 1. A full image ID. Checked first because "sha256:<hex>" would
	//    otherwise parse as the image "docker.io/library/sha256" tagged <hex>.
	if d, err := digest.Parse(ref); err == nil {
		if e, name, ok := s.findByID(idx, func(id digest.Digest) bool { return id == d }); ok {
			return e, name, nil
		}
		return ocispec.Descriptor{}, "", notFound
	}

	// 2. A reference.
	name, refErr := NormalizeRef(ref)
	if refErr == nil {
		if e, ok := findByRef(idx, name); ok {
			return e, name, nil
		}
	}

	// 3. A prefix of the hex of an image ID ("sha256:" may be written).
	prefix := strings.TrimPrefix(ref, string(digest.SHA256)+":")
	if isHexPrefix(prefix) {
		var match []ocispec.Descriptor
		var names []string
		ids := map[digest.Digest]bool{}
		for _, e := range idx.Manifests {
			id, err := s.configDigest(e)
			if err != nil || !strings.HasPrefix(id.Encoded(), prefix) {
				continue
			}
			ids[id] = true
			match = append(match, e)
			names = append(names, refName(e))
		}
		if len(ids) > 1 {
			return ocispec.Descriptor{}, "", fmt.Errorf("image ID prefix %q is ambiguous: it matches %d images", ref, len(ids))
		}
		if len(match) > 0 {
			i := indexOfSmallest(names)
			return match[i], names[i], nil
		}
	}
	if refErr != nil && !isHexPrefix(prefix) {
		return ocispec.Descriptor{}, "", refErr
	}
	return ocispec.Descriptor{}, "", notFound
}

// findByRef finds the entry tagged name. For a digest reference
// ("repo@sha256:...") an entry of the same repository whose manifest has
// that digest also matches, as in docker.
func findByRef(idx *ocispec.Index, name string) (ocispec.Descriptor, bool) {
	for _, e := range idx.Manifests {
		if refName(e) == name {
			return e, true
		}
	}
	canonical, err := parseNormalizedRef(name)
	if err != nil || canonical.digest == "" {
		return ocispec.Descriptor{}, false
	}
	for _, e := range idx.Manifests {
		tagged, err := parseNormalizedRef(refName(e))
		if err == nil && tagged.name() == canonical.name() && e.Digest == canonical.digest {
			return e, true
		}
	}
	return ocispec.Descriptor{}, false
}

// findByID returns the entry whose image ID satisfies match. If several
// tags name the same image, the alphabetically first tag is reported.
func (s *Store) findByID(idx *ocispec.Index, match func(digest.Digest) bool) (ocispec.Descriptor, string, bool) {
	var found []ocispec.Descriptor
	var names []string
	for _, e := range idx.Manifests {
		if id, err := s.configDigest(e); err == nil && match(id) {
			found = append(found, e)
			names = append(names, refName(e))
		}
	}
	if len(found) == 0 {
		return ocispec.Descriptor{}, "", false
	}
	i := indexOfSmallest(names)
	return found[i], names[i], true
}

// indexOfSmallest picks the alphabetically first name, preferring any tag
// to "" (a dangling entry, which has no name).
func indexOfSmallest(names []string) int {
	best := 0
	for i, n := range names {
		if names[best] == "" || (n != "" && n < names[best]) {
			best = i
		}
	}
	return best
}

// isHexPrefix reports whether s could be the start of a sha256 hex string.
func isHexPrefix(s string) bool {
	if len(s) < minIDPrefix || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// readManifest reads and parses the manifest an index entry points to.
func (s *Store) readManifest(d ocispec.Descriptor) (*ocispec.Manifest, error) {
	switch d.MediaType {
	case ocispec.MediaTypeImageManifest, mediaTypeDockerManifest, "":
	default:
		return nil, fmt.Errorf("manifest %s: unsupported media type %q", d.Digest, d.MediaType)
	}
	data, err := s.readBlob(d.Digest)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", d.Digest, err)
	}
	return &m, nil
}

// configDigest is the image ID of an index entry.
func (s *Store) configDigest(d ocispec.Descriptor) (digest.Digest, error) {
	m, err := s.readManifest(d)
	if err != nil {
		return "", err
	}
	return m.Config.Digest, nil
}

// load builds the Image for an index entry, without touching layer dirs.
// name is "" for a dangling entry.
func (s *Store) load(entry ocispec.Descriptor, ref string) (*Image, error) {
	name := ref // for messages
	if name == "" {
		name = "(untagged) " + string(entry.Digest)
	}
	m, err := s.readManifest(entry)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	switch m.Config.MediaType {
	case ocispec.MediaTypeImageConfig, mediaTypeDockerConfig:
	default:
		return nil, fmt.Errorf("image %s: config %s: unsupported media type %q", name, m.Config.Digest, m.Config.MediaType)
	}
	data, err := s.readBlob(m.Config.Digest)
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", name, err)
	}
	img := &Image{Ref: ref, ID: m.Config.Digest, Manifest: entry.Digest}
	if err := json.Unmarshal(data, &img.Config); err != nil {
		return nil, fmt.Errorf("image %s: config %s: %w", name, m.Config.Digest, err)
	}
	diffIDs := img.Config.RootFS.DiffIDs
	if len(diffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("image %s: manifest lists %d layers but config lists %d diff IDs",
			name, len(m.Layers), len(diffIDs))
	}
	for i, l := range m.Layers {
		if err := diffIDs[i].Validate(); err != nil {
			return nil, fmt.Errorf("image %s: layer %d: diff ID %q: %w", name, i, diffIDs[i], err)
		}
		img.Layers = append(img.Layers, s.layerDir(diffIDs[i]))
		img.Size += l.Size
	}
	if img.Config.Created != nil {
		img.Created = *img.Config.Created
	}
	return img, nil
}

// ensureLayers unpacks every layer of img whose directory is missing.
func (s *Store) ensureLayers(img *Image) error {
	name := img.Ref // for messages
	if name == "" {
		name = "(untagged) " + string(img.Manifest)
	}
	var m *ocispec.Manifest
	for i, dir := range img.Layers {
		if _, err := os.Lstat(dir); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("image %s: layer %d: %w", name, i, err)
		}
		if m == nil {
			var err error
			if m, err = s.readManifest(ocispec.Descriptor{Digest: img.Manifest}); err != nil {
				return fmt.Errorf("image %s: %w", name, err)
			}
		}
		l := m.Layers[i]
		if _, err := s.UnpackLayer(l.Digest, l.MediaType, img.Config.RootFS.DiffIDs[i]); err != nil {
			return fmt.Errorf("image %s: %w", name, err)
		}
	}
	return nil
}
