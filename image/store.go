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
// replacing any existing tag of the same ref. The manifest blob must already
// be in the store. If manifest.MediaType is empty the OCI manifest type is
// assumed.
func (s *Store) Tag(ref string, manifest ocispec.Descriptor) error {
	name, err := NormalizeRef(ref)
	if err != nil {
		return err
	}
	if err := manifest.Digest.Validate(); err != nil {
		return fmt.Errorf("tag %s: manifest digest %q: %w", name, manifest.Digest, err)
	}
	if _, err := os.Stat(s.BlobPath(manifest.Digest)); err != nil {
		return fmt.Errorf("tag %s: manifest blob %s: %w", name, manifest.Digest, err)
	}
	if manifest.MediaType == "" {
		manifest.MediaType = ocispec.MediaTypeImageManifest
	}
	// Copy the annotations: the caller's map must not change under it.
	ann := map[string]string{}
	for k, v := range manifest.Annotations {
		ann[k] = v
	}
	ann[ocispec.AnnotationRefName] = name
	manifest.Annotations = ann

	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	idx.Manifests = append(withoutRef(idx.Manifests, name), manifest)
	return s.writeIndex(idx)
}

// Untag removes the tag ref (normalised first). The blobs and layers stay:
// another tag may still use them. Returns an error wrapping ErrNotFound if
// the tag does not exist.
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
