package image

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BlobPath is the file that holds the blob with digest d:
// <root>/images/blobs/<algorithm>/<hex>. The file exists only if the blob
// has been stored. For an invalid digest (which could otherwise smuggle
// "../" into the path) BlobPath returns "".
func (s *Store) BlobPath(d digest.Digest) string {
	if d.Validate() != nil {
		return ""
	}
	return filepath.Join(s.imagesDir(), "blobs", string(d.Algorithm()), d.Encoded())
}

// PutBlob stores the content of r as a blob and returns its descriptor
// (digest and size; the caller fills in MediaType).
//
// If expected is not empty, the content must hash to it: on a mismatch
// PutBlob returns an error and keeps nothing. If a blob with the expected
// digest is already stored, PutBlob returns at once without reading r; this
// is what makes a second pull of the same layer free. (It then marks the
// blob as just used, see reuse, so that Prune leaves it to the caller.) If expected is empty
// the sha256 digest is computed while writing.
func (s *Store) PutBlob(r io.Reader, expected digest.Digest) (ocispec.Descriptor, error) {
	alg := digest.Canonical
	if expected != "" {
		if err := expected.Validate(); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("put blob: expected digest %q: %w", expected, err)
		}
		alg = expected.Algorithm()
		if fi, err := os.Stat(s.BlobPath(expected)); err == nil && fi.Mode().IsRegular() {
			if fi, ok := s.reuse(s.BlobPath(expected)); ok {
				return ocispec.Descriptor{Digest: expected, Size: fi.Size()}, nil
			}
			// Pruned in the meantime: store it again.
		}
	}
	w, err := s.newBlobWriter(alg)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer w.abort()
	if _, err := io.Copy(w, r); err != nil {
		if expected == "" {
			return ocispec.Descriptor{}, fmt.Errorf("put blob: %w", err)
		}
		return ocispec.Descriptor{}, fmt.Errorf("put blob %s: %w", expected, err)
	}
	return w.commit(expected)
}

// blobWriter writes a new blob into a temporary file, hashing it on the
// way, and moves it into blobs/ only once the digest is known (and checked).
type blobWriter struct {
	s        *Store
	f        *os.File
	digester digest.Digester
	size     int64
	done     bool
}

// newBlobWriter starts a blob whose digest will use algorithm alg. The
// temporary file lives in images/ (same filesystem as blobs/, so the final
// rename is atomic) with a ".tmp-" name nobody else uses.
func (s *Store) newBlobWriter(alg digest.Algorithm) (*blobWriter, error) {
	if !alg.Available() {
		return nil, fmt.Errorf("put blob: digest algorithm %q not available", alg)
	}
	if err := os.MkdirAll(filepath.Join(s.imagesDir(), "blobs", string(alg)), imagesDirMode); err != nil {
		return nil, fmt.Errorf("put blob: %w", err)
	}
	f, err := os.CreateTemp(s.imagesDir(), ".tmp-blob-")
	if err != nil {
		return nil, fmt.Errorf("put blob: %w", err)
	}
	return &blobWriter{s: s, f: f, digester: alg.Digester()}, nil
}

func (w *blobWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.digester.Hash().Write(p[:n]) // hash.Hash never returns an error
	w.size += int64(n)
	return n, err
}

// commit checks the digest (if expected != "") and moves the blob into
// place. If the same blob is already stored the temporary copy is dropped.
func (w *blobWriter) commit(expected digest.Digest) (ocispec.Descriptor, error) {
	got := w.digester.Digest()
	if expected != "" && got != expected {
		return ocispec.Descriptor{}, fmt.Errorf("put blob %s: digest mismatch: content hashes to %s", expected, got)
	}
	tmp := w.f.Name()
	if err := w.f.Close(); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("put blob %s: %w", got, err)
	}
	w.done = true
	desc := ocispec.Descriptor{Digest: got, Size: w.size}
	final := w.s.BlobPath(got)
	if _, err := os.Stat(final); err == nil {
		if _, ok := w.s.reuse(final); ok {
			os.Remove(tmp) // already stored (same digest means same content)
			return desc, nil
		}
	}
	if err := os.Chmod(tmp, blobFileMode); err != nil {
		os.Remove(tmp)
		return ocispec.Descriptor{}, fmt.Errorf("put blob %s: %w", got, err)
	}
	// Two writers of the same blob may race here; rename is atomic and both
	// files are identical, so whichever wins is fine.
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return ocispec.Descriptor{}, fmt.Errorf("put blob %s: %w", got, err)
	}
	return desc, nil
}

// abort throws the temporary file away unless commit succeeded. It is safe
// to call more than once (use it with defer).
func (w *blobWriter) abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.f.Name())
}

// readBlob returns the content of a (small) blob such as a manifest or a
// config, after checking that it still hashes to its digest.
func (s *Store) readBlob(d digest.Digest) ([]byte, error) {
	path := s.BlobPath(d)
	if path == "" {
		return nil, fmt.Errorf("blob %q: invalid digest", d)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: missing from the store: %w", d, err)
	} else if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	if got := d.Algorithm().FromBytes(data); got != d {
		return nil, fmt.Errorf("blob %s: corrupt, content hashes to %s", d, got)
	}
	return data, nil
}

// reuse is how a writer takes a blob file or layer directory that is
// already in the store: it reports whether path exists and, if it does,
// marks it as just used (see touch) so that Prune's grace period protects it
// while the writer goes on to tag its image. Both happen under the store
// lock, which Prune holds while it decides and deletes, so either Prune has
// already deleted path (reuse says so, and the writer stores it again) or
// Prune sees it as new.
func (s *Store) reuse(path string) (fs.FileInfo, bool) {
	if unlock, err := s.lock(); err == nil {
		defer unlock()
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, false
	}
	touch(path, fi)
	return fi, true
}

// touch sets the same permissions on path again: chmod(2) updates the
// inode's change time (ctime), which is what Prune looks at (see gc.go),
// and changes nothing else: not the content, not the modification time a
// container would see on a layer's root directory. Errors are ignored: at
// worst Prune may take the blob, and then Tag reports it missing.
func touch(path string, fi fs.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		_ = syscall.Chmod(path, st.Mode&0o7777)
	}
}
