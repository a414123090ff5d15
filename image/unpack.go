package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// Layer media types. Which compression a blob really uses is decided by its
// first bytes (see decompress), as docker does; the media type only has to
// be one we know.
const (
	mediaTypeDockerLayer        = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	mediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
	mediaTypeOCINonDistLayer    = "application/vnd.oci.image.layer.nondistributable.v1.tar"
	mediaTypeOCINonDistGzip     = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
	mediaTypeOCINonDistZstd     = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
)

// supportedLayerType says whether UnpackLayer can read a layer of this media
// type. An empty media type is accepted (the blob's first bytes decide).
func supportedLayerType(mediaType string) bool {
	switch mediaType {
	case "", ocispec.MediaTypeImageLayer, ocispec.MediaTypeImageLayerGzip, ocispec.MediaTypeImageLayerZstd,
		mediaTypeDockerLayer, mediaTypeDockerForeignLayer,
		mediaTypeOCINonDistLayer, mediaTypeOCINonDistGzip, mediaTypeOCINonDistZstd:
		return true
	}
	return false
}

// UnpackLayer unpacks the layer blob (already in the store) into
// layers/<diffID hex>/ and returns that directory. It is idempotent: a layer
// that is already unpacked is returned as it is (and marked as just used,
// see reuse in blob.go). While unpacking it hashes the uncompressed tar
// stream and refuses the layer if the hash is not diffID. The layer is first unpacked into layers/.tmp-<random>/ and renamed
// into place only when complete, so a half-unpacked layer never appears
// under its real name.
func (s *Store) UnpackLayer(blob digest.Digest, mediaType string, diffID digest.Digest) (string, error) {
	if err := diffID.Validate(); err != nil {
		return "", fmt.Errorf("unpack layer: diff ID %q: %w", diffID, err)
	}
	fail := func(format string, a ...any) (string, error) {
		return "", fmt.Errorf("unpack layer %s: %w", short(diffID), fmt.Errorf(format, a...))
	}
	if err := blob.Validate(); err != nil {
		return fail("blob digest %q: %w", blob, err)
	}
	if !supportedLayerType(mediaType) {
		return fail("unsupported media type %q", mediaType)
	}

	dir := s.layerDir(diffID)
	if fi, err := os.Lstat(dir); err == nil {
		if !fi.IsDir() {
			return fail("%s exists and is not a directory", dir)
		}
		// Already unpacked. reuse protects it from a concurrent Prune (see
		// gc.go); if Prune took it just now, unpack it again.
		if _, ok := s.reuse(dir); ok {
			return dir, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fail("%w", err)
	}

	f, err := os.Open(s.BlobPath(blob))
	if err != nil {
		return fail("blob %s: %w", blob, err)
	}
	defer f.Close()

	tmp, err := os.MkdirTemp(s.layersDir(), ".tmp-")
	if err != nil {
		return fail("%w", err)
	}
	renamed := false
	defer func() {
		if !renamed {
			os.RemoveAll(tmp) // never leave a half-unpacked layer behind
		}
	}()
	// MkdirTemp makes the directory 0700; a root filesystem's "/" is 0755
	// unless the tar has a "./" entry that says otherwise.
	if err := os.Chmod(tmp, lowerRootMode); err != nil {
		return fail("%w", err)
	}

	got, err := unpackTar(f, tmp, diffID.Algorithm())
	if err != nil {
		return fail("%w", err)
	}
	if got != diffID {
		return fail("diff ID mismatch: uncompressed content of blob %s hashes to %s", blob, got)
	}

	if err := renameNoReplace(tmp, dir); err != nil {
		if fi, statErr := os.Lstat(dir); statErr == nil && fi.IsDir() {
			return dir, nil // another importer unpacked the same layer meanwhile
		}
		return fail("%w", err)
	}
	renamed = true
	return dir, nil
}

// renameNoReplace renames oldpath to newpath but fails if newpath exists
// (even as an empty directory, which plain rename(2) would replace).
func renameNoReplace(oldpath, newpath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		// Filesystem or kernel without RENAME_NOREPLACE.
		return os.Rename(oldpath, newpath)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}

// unpackTar reads a (possibly compressed) layer tar from r, writes its
// entries under dir and returns the digest (with algorithm alg) of the
// uncompressed tar stream, i.e. the layer's diff ID.
func unpackTar(r io.Reader, dir string, alg digest.Algorithm) (digest.Digest, error) {
	plain, err := decompress(r)
	if err != nil {
		return "", err
	}
	defer plain.Close()
	digester := alg.Digester()
	stream := io.TeeReader(plain, digester.Hash())

	u := newUnpacker(dir)
	tr := tar.NewReader(stream)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		// ErrInsecurePath (only with GODEBUG=tarinsecurepath=0) still comes
		// with a usable header; our own checks below decide what to do.
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return "", fmt.Errorf("read tar: %w", err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return "", fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
	// The tar reader stops at the end-of-archive marker; read what follows
	// (padding) too, so that the digest covers the whole stream.
	if _, err := io.Copy(io.Discard, stream); err != nil {
		return "", fmt.Errorf("read tar: %w", err)
	}
	if err := u.finish(); err != nil {
		return "", err
	}
	return digester.Digest(), nil
}

// Magic numbers at the start of compressed streams.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// decompress returns the uncompressed stream of r, recognising gzip and
// zstd by their magic bytes. Anything else is taken as a plain tar (a tar
// starts with a file name, never with these non-printable bytes). The
// caller must Close the result: the zstd decoder runs goroutines that only
// Close stops.
//
// zstd (RFC 8878) is what `docker buildx --output compression=zstd` and
// many registries use for new images; it is decoded with
// github.com/klauspost/compress/zstd, the package containerd uses. Its
// default limits are kept: a frame may ask for a window of at most 512 MiB,
// which bounds the memory a hostile layer can make us allocate.
func decompress(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(len(zstdMagic))
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read: %w", err)
	}
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return &zstdReader{zr.IOReadCloser()}, nil
	}
	return io.NopCloser(br), nil
}

// zstdReader names the format in decoding errors ("zstd: ..."), as the
// gzip package does for gzip, so an error says which decompressor failed.
type zstdReader struct{ io.ReadCloser }

func (z *zstdReader) Read(p []byte) (int, error) {
	n, err := z.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("zstd: %w", err)
	}
	return n, err
}

// short shortens a digest for error messages: sha256:0123456789ab….
func short(d digest.Digest) string {
	if enc := d.Encoded(); len(enc) > 12 {
		return string(d.Algorithm()) + ":" + enc[:12] + "…"
	}
	return string(d)
}
