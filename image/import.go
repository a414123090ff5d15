package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// importHistory is the history comment of an imported image.
const importHistory = "imported from tarball by minirun"

// Import is `docker import`: r is a tar stream (plain, gzip or zstd, told
// apart by its first bytes) of a root filesystem. Import stores it as one
// gzip-compressed layer blob, unpacks it, writes an OCI image config
// (with cfg as its execution parameters) and an OCI manifest, and tags ref.
// Importing the same tar again reuses the layer blob and the layer directory;
// only the small config and manifest are new (the config records the
// creation time, so the image ID differs, as with docker).
func (s *Store) Import(r io.Reader, ref string, cfg ocispec.ImageConfig) (*Image, error) {
	name, err := NormalizeRef(ref)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if isDigested(name) {
		return nil, fmt.Errorf("import: reference %q must be a tag, not a digest", ref)
	}

	layer, diffID, err := s.putLayerFromTar(r)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", name, err)
	}
	if _, err := s.UnpackLayer(layer.Digest, layer.MediaType, diffID); err != nil {
		return nil, fmt.Errorf("import %s: %w", name, err)
	}

	now := time.Now().UTC()
	config := ocispec.Image{
		Created:  &now,
		Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		Config:   cfg,
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
		History:  []ocispec.History{{Created: &now, Comment: importHistory}},
	}
	configDesc, err := s.putJSON(config, ocispec.MediaTypeImageConfig)
	if err != nil {
		return nil, fmt.Errorf("import %s: config: %w", name, err)
	}
	manifest := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    configDesc,
		Layers:    []ocispec.Descriptor{layer},
	}
	manifestDesc, err := s.putJSON(manifest, ocispec.MediaTypeImageManifest)
	if err != nil {
		return nil, fmt.Errorf("import %s: manifest: %w", name, err)
	}
	if err := s.Tag(name, manifestDesc); err != nil {
		return nil, fmt.Errorf("import %s: %w", name, err)
	}
	// Build the result from what we wrote, not by looking the tag up again:
	// another importer may already have moved the tag.
	img, err := s.load(manifestDesc, name)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", name, err)
	}
	return img, nil
}

// putLayerFromTar reads a root filesystem tar (plain or gzip), stores it as
// a gzip-compressed layer blob and returns the blob's descriptor and the
// diff ID (sha256 of the uncompressed tar). It reads r only once: the
// uncompressed bytes flow at the same time into the diff ID hash, into the
// gzip compressor that writes the blob, and into a tar reader that checks
// the stream really is a tar. Nothing is kept if that check fails.
func (s *Store) putLayerFromTar(r io.Reader) (ocispec.Descriptor, digest.Digest, error) {
	plain, err := decompress(r)
	if err != nil {
		return ocispec.Descriptor{}, "", fmt.Errorf("read tar: %w", err)
	}
	defer plain.Close()
	w, err := s.newBlobWriter(digest.Canonical)
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	defer w.abort()

	// gzip output is deterministic (no file name or time in the header), so
	// the same tar always gives the same blob digest.
	zw := gzip.NewWriter(w)
	diffID := digest.Canonical.Digester()
	counter := &countingWriter{}
	stream := io.TeeReader(plain, io.MultiWriter(diffID.Hash(), zw, counter))
	if err := checkTar(stream); err != nil {
		return ocispec.Descriptor{}, "", err
	}
	if counter.n == 0 {
		return ocispec.Descriptor{}, "", errors.New("read tar: empty input")
	}
	if err := zw.Close(); err != nil {
		return ocispec.Descriptor{}, "", fmt.Errorf("compress layer: %w", err)
	}
	desc, err := w.commit("")
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	desc.MediaType = ocispec.MediaTypeImageLayerGzip
	return desc, diffID.Digest(), nil
}

// checkTar reads a whole tar stream, entry by entry, and then whatever
// follows the end-of-archive marker, failing if it is not a valid tar.
func checkTar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return fmt.Errorf("read tar: %w", err)
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return fmt.Errorf("read tar: entry %q: %w", hdr.Name, err)
		}
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("read tar: %w", err)
	}
	return nil
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// putJSON stores v, encoded as JSON, as a blob of the given media type.
func (s *Store) putJSON(v any, mediaType string) (ocispec.Descriptor, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc, err := s.PutBlob(bytes.NewReader(data), "")
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc.MediaType = mediaType
	return desc, nil
}

// isDigested reports whether a normalised reference carries a digest.
func isDigested(name string) bool {
	named, err := parseNormalizedRef(name)
	return err == nil && named.digest != ""
}
