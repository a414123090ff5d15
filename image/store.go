package image

import (
	_ "crypto/sha256" // registers sha256 with go-digest

	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// Store is a local image store rooted at Root (for example /var/lib/minirun).
// See the package documentation for the layout on disk. A Store holds no
// open files or caches, so several Stores (even in several processes) may use
// the same Root at the same time.
type Store struct {
	Root string // absolute path of the store root

	// GracePeriod protects new blobs and layer directories from Prune:
	// those created or reused less than this long ago are kept even when no
	// tag references them yet, because a pull, load or import may have just
	// written them and be about to tag its image (see gc.go). Zero means
	// DefaultGracePeriod.
	GracePeriod time.Duration

	clock func() time.Time // what Prune takes as "now"; nil means time.Now (tests move it)
}

// Directory modes. The store root and layers/ are 0711: other users may
// traverse them (handy if a lowerdir is ever mounted from a user namespace)
// but may not list them. images/ holds nothing a container needs and is
// private to root.
const (
	rootDirMode   = 0o711
	imagesDirMode = 0o700
	layersDirMode = 0o711
	blobFileMode  = 0o644
	indexFileMode = 0o644
	// lowerRootMode is given to a new layer directory before unpacking; a
	// "./" entry in the tar may change it.
	lowerRootMode = 0o755
)

// Open opens the store at root, creating the directory layout if it is
// missing. root is made absolute so that Image.Layers are absolute paths.
func Open(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open image store %q: %w", root, err)
	}
	s := &Store{Root: abs}
	dirs := []struct {
		path string
		mode os.FileMode
	}{
		{abs, rootDirMode},
		{s.imagesDir(), imagesDirMode},
		{filepath.Join(s.imagesDir(), "blobs", string(digest.Canonical)), imagesDirMode},
		{s.layersDir(), layersDirMode},
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d.path, d.mode); err != nil {
			return nil, fmt.Errorf("open image store %q: %w", abs, err)
		}
	}
	if err := s.initLayout(); err != nil {
		return nil, fmt.Errorf("open image store %q: %w", abs, err)
	}
	return s, nil
}

func (s *Store) imagesDir() string { return filepath.Join(s.Root, "images") }
func (s *Store) layersDir() string { return filepath.Join(s.Root, "layers") }
func (s *Store) indexPath() string { return filepath.Join(s.imagesDir(), ocispec.ImageIndexFile) }

// layerDir is where the layer with the given diff ID is (or will be) unpacked.
func (s *Store) layerDir(diffID digest.Digest) string {
	return filepath.Join(s.layersDir(), diffID.Encoded())
}

// initLayout writes oci-layout and an empty index.json if they are missing.
// It runs under the store lock: otherwise a second Open could replace an
// index that a first process has just written a tag into.
func (s *Store) initLayout() error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()

	layoutPath := filepath.Join(s.imagesDir(), ocispec.ImageLayoutFile)
	if _, err := os.Stat(layoutPath); errors.Is(err, fs.ErrNotExist) {
		data, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
		if err := writeFileAtomic(layoutPath, data, indexFileMode); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if _, err := os.Stat(s.indexPath()); errors.Is(err, fs.ErrNotExist) {
		return s.writeIndex(&ocispec.Index{})
	} else if err != nil {
		return err
	}
	return nil
}

// lock takes the store-wide exclusive lock (flock on images/.lock) and
// returns the function that releases it. Every read-modify-write of
// index.json happens under this lock, so two importers never lose each
// other's tags. Each call opens the lock file anew: flock locks belong to an
// open file, so this also excludes goroutines of the same process.
func (s *Store) lock() (func(), error) {
	path := filepath.Join(s.imagesDir(), ".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock image store: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock image store: flock %s: %w", path, err)
	}
	return func() {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}

// readIndex reads images/index.json. Readers need no lock: the file is only
// ever replaced whole, by rename.
func (s *Store) readIndex() (*ocispec.Index, error) {
	data, err := os.ReadFile(s.indexPath())
	if err != nil {
		return nil, fmt.Errorf("read image index: %w", err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("parse image index %s: %w", s.indexPath(), err)
	}
	return &idx, nil
}

// writeIndex replaces images/index.json. The caller holds the lock.
func (s *Store) writeIndex(idx *ocispec.Index) error {
	idx.SchemaVersion = 2
	idx.MediaType = ocispec.MediaTypeImageIndex
	if idx.Manifests == nil {
		idx.Manifests = []ocispec.Descriptor{} // "manifests": [] rather than null
	}
	// Keep the file in a stable order: easier to read and to diff.
	sort.SliceStable(idx.Manifests, func(i, j int) bool {
		return refName(idx.Manifests[i]) < refName(idx.Manifests[j])
	})
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return fmt.Errorf("write image index: %w", err)
	}
	if err := writeFileAtomic(s.indexPath(), append(data, '\n'), indexFileMode); err != nil {
		return fmt.Errorf("write image index: %w", err)
	}
	return nil
}

// refName is the tag an index entry carries, "" if it has none.
func refName(d ocispec.Descriptor) string {
	return d.Annotations[ocispec.AnnotationRefName]
}

// Tag points ref (normalised first) at the manifest described by manifest,
// replacing any existing tag of the same ref. If manifest.MediaType is empty
// the OCI manifest type is assumed.
//
// The manifest and every blob it names (config and layers) must already be
// in the store: Tag checks that under the store lock, the same lock GC
// (Remove, Prune) holds while it deletes, so a tag never points at an image
// with missing blobs. A writer that stores blobs and then tags (Import,
// Load, Pull) therefore either sees its blobs survive or gets a clear error,
// never a broken image. Layer directories are not checked: they are a cache
// that Get recreates from the blobs.
//
// If the tag moves away from an image that has no other name, that image
// stays in the index as a dangling entry (docker's "<none>:<none>"): a
// container may still use it. Remove and Prune delete dangling images.
func (s *Store) Tag(ref string, manifest ocispec.Descriptor) error {
	name, err := NormalizeRef(ref)
	if err != nil {
		return err
	}
	return s.tagMany([]tagRequest{{name: name, desc: manifest}})
}

// tagRequest is one index entry for tagMany to add: desc tagged name, or a
// dangling entry for desc if name is "".
type tagRequest struct {
	name string
	desc ocispec.Descriptor
}

// tagMany adds several index entries in one update of index.json, under one
// hold of the store lock, after checking that every blob of every manifest
// is in place. Either all entries are added or, on error, none.
func (s *Store) tagMany(reqs []tagRequest) error {
	for i, r := range reqs {
		what := r.name
		if what == "" {
			what = "untagged image " + string(r.desc.Digest)
		}
		if err := r.desc.Digest.Validate(); err != nil {
			return fmt.Errorf("tag %s: manifest digest %q: %w", what, r.desc.Digest, err)
		}
		if r.desc.MediaType == "" {
			r.desc.MediaType = ocispec.MediaTypeImageManifest
		}
		// Copy the annotations: the caller's map must not change under it.
		ann := map[string]string{}
		for k, v := range r.desc.Annotations {
			ann[k] = v
		}
		delete(ann, ocispec.AnnotationRefName)
		if r.name != "" {
			ann[ocispec.AnnotationRefName] = r.name
		}
		if len(ann) == 0 {
			ann = nil
		}
		r.desc.Annotations = ann
		reqs[i] = r
	}

	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	for _, r := range reqs {
		if err := s.checkComplete(r.desc); err != nil {
			if r.name == "" {
				return fmt.Errorf("store untagged image: %w", err)
			}
			return fmt.Errorf("tag %s: %w", r.name, err)
		}
	}
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	for _, r := range reqs {
		if r.name == "" {
			// A dangling entry only if the manifest has no entry at all yet.
			if !hasManifest(idx.Manifests, r.desc.Digest) {
				idx.Manifests = append(idx.Manifests, r.desc)
			}
			continue
		}
		var old *ocispec.Descriptor
		kept := make([]ocispec.Descriptor, 0, len(idx.Manifests)+1)
		for _, d := range idx.Manifests {
			switch {
			case refName(d) == r.name:
				old = &d
			case refName(d) == "" && d.Digest == r.desc.Digest:
				// A dangling entry of this manifest: it has a name again.
			default:
				kept = append(kept, d)
			}
		}
		if old != nil && old.Digest != r.desc.Digest && !hasManifest(kept, old.Digest) {
			kept = append(kept, dangling(*old))
		}
		idx.Manifests = append(kept, r.desc)
	}
	return s.writeIndex(idx)
}

// checkComplete checks that the manifest d and, for an image manifest,
// its config and layer blobs are stored. The caller holds the lock. For an
// image index only the index blob itself is checked (an index usually
// lists platforms that were never fetched).
func (s *Store) checkComplete(d ocispec.Descriptor) error {
	if !blobStored(s.BlobPath(d.Digest)) {
		return fmt.Errorf("manifest blob %s is not in the store", d.Digest)
	}
	if isIndexType(d.MediaType) {
		return nil
	}
	m, err := s.readManifest(d)
	if err != nil {
		return err
	}
	missing := func(what string, b ocispec.Descriptor) error {
		return fmt.Errorf("manifest %s: %s blob %s is not in the store (removed by a concurrent rmi or prune?): pull, load or import the image again",
			short(d.Digest), what, b.Digest)
	}
	if !blobStored(s.BlobPath(m.Config.Digest)) {
		return missing("config", m.Config)
	}
	for i, l := range m.Layers {
		if isForeignLayer(l.MediaType) {
			continue // never distributed with the image, never stored
		}
		if !blobStored(s.BlobPath(l.Digest)) {
			return missing(fmt.Sprintf("layer %d", i), l)
		}
	}
	return nil
}

// blobStored reports whether path is an existing regular file ("" is not).
func blobStored(path string) bool {
	if path == "" {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// isIndexType says whether a media type is an image index (OCI) or a
// manifest list (Docker): a list of manifests rather than one image.
func isIndexType(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageIndex || mediaType == dockerManifestListType
}

// dockerManifestListType is Docker's name for an image index.
const dockerManifestListType = "application/vnd.docker.distribution.manifest.list.v2+json"

// isForeignLayer says whether a layer is "non-distributable": its blob is
// fetched from elsewhere, if at all (Windows base layers), not stored.
func isForeignLayer(mediaType string) bool {
	switch mediaType {
	case mediaTypeDockerForeignLayer, mediaTypeOCINonDistLayer, mediaTypeOCINonDistGzip, mediaTypeOCINonDistZstd:
		return true
	}
	return false
}

// hasManifest says whether any entry of descs points at manifest d.
func hasManifest(descs []ocispec.Descriptor, d digest.Digest) bool {
	for _, e := range descs {
		if e.Digest == d {
			return true
		}
	}
	return false
}

// dangling is the untagged copy of an index entry: the same descriptor
// without the ref name annotation.
func dangling(d ocispec.Descriptor) ocispec.Descriptor {
	ann := map[string]string{}
	for k, v := range d.Annotations {
		if k != ocispec.AnnotationRefName {
			ann[k] = v
		}
	}
	if len(ann) == 0 {
		ann = nil
	}
	d.Annotations = ann
	return d
}

// Untag removes the tag ref (normalised first). If that was the image's
// last name the image stays, as a dangling entry (see Tag): only Remove
// and Prune, which ask whether a container uses an image, delete images.
// Returns an error wrapping ErrNotFound if the tag does not exist.
func (s *Store) Untag(ref string) error {
	name, err := NormalizeRef(ref)
	if err != nil {
		return err
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	kept := withoutRef(idx.Manifests, name)
	if len(kept) == len(idx.Manifests) {
		return fmt.Errorf("image %q: %w", name, ErrNotFound)
	}
	for _, d := range idx.Manifests {
		if refName(d) == name && !hasManifest(kept, d.Digest) {
			kept = append(kept, dangling(d))
		}
	}
	idx.Manifests = kept
	return s.writeIndex(idx)
}

// withoutRef returns the entries of descs not tagged name (a new slice).
func withoutRef(descs []ocispec.Descriptor, name string) []ocispec.Descriptor {
	kept := make([]ocispec.Descriptor, 0, len(descs))
	for _, d := range descs {
		if refName(d) != name {
			kept = append(kept, d)
		}
	}
	return kept
}

// writeFileAtomic writes data to a temporary file next to path and renames
// it over path, so readers see either the old or the new content, never a
// half-written file. (No fsync: a crash may lose the update but never
// leaves a torn file behind the name.)
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, mode)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
