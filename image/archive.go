package image

// Image archives: `docker load` and `docker save`.
//
// Two archive formats are in use, and Docker 25 and later writes both in one
// tar:
//
//   - The docker save format: manifest.json is a list of images, each with
//     "Config" (the archive path of its config JSON), "RepoTags" (its
//     names, ["busybox:latest"]) and "Layers" (the archive paths of its
//     layer tars, bottom first). Classic docker writes the config as
//     <image id hex>.json and each layer as an uncompressed <id>/layer.tar
//     (with <id>/json and <id>/VERSION, leftovers of the v1 format that
//     nothing reads), and a "repositories" file.
//   - An OCI image layout (image-spec image-layout.md): oci-layout,
//     index.json and every blob under blobs/<alg>/<hex>, exactly the
//     content-addressed store this package keeps in images/. index.json
//     names each image with the annotation org.opencontainers.image.ref.name,
//     which by the spec is often only a tag ("1.0"); Docker and containerd
//     add io.containerd.image.name with the full name.
//
// Docker 25 writes the OCI layout and a manifest.json whose Config and
// Layers point into blobs/sha256/, so one archive serves old and new
// loaders. Save does the same, with the blobs as the store has them
// (usually gzip layers; docker load decompresses whatever it finds).
//
// Load reads the tar once, as a stream (it may come from a pipe): every
// file entry goes straight into the store with PutBlob, which checks a
// blobs/<alg>/<hex> entry against the digest its name promises; the small
// JSON files are kept in memory. Symbolic and hard links between entries
// (classic docker links a layer shared by two images) are followed. Then
// every image is checked: its config parses, it has one diff ID per layer,
// and every layer's uncompressed content hashes to its diff ID (unpacking
// it, or re-reading the blob if the layer directory already exists). Only
// when every image is complete are the tags written, all at once (tagMany).
// A corrupt archive therefore tags nothing; the blobs it did store are
// valid content that Prune collects if nothing uses them.

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Names of the metadata files of an image archive.
const (
	archiveManifestFile = "manifest.json" // docker save
	archiveReposFile    = "repositories"  // docker save, legacy (ignored)
	// Annotation with the full image name that containerd and Docker put
	// next to org.opencontainers.image.ref.name (which holds only the tag).
	annotationContainerdName = "io.containerd.image.name"
	// Docker marks the provenance/SBOM manifests of an index with this
	// annotation; they are not images to run.
	annotationDockerRefType = "vnd.docker.reference.type"
)

// maxArchiveMeta bounds the JSON files of an archive that Load keeps in
// memory (manifest.json, index.json, ...).
const maxArchiveMeta = 32 << 20

// LoadOptions adjusts Load.
type LoadOptions struct {
	// Name names the images the archive does not name fully:
	//   - an OCI layout entry whose ref name is only a tag ("1.0") is
	//     tagged <repository of Name>:1.0;
	//   - an image with no name at all is tagged Name (":latest" is added
	//     if Name has no tag). Only one such image may need it.
	// Without Name, a bare tag is an error for that image (the others are
	// loaded), and an image without a name is loaded untagged (dangling,
	// reachable by its ID), as docker load does.
	Name string
}

// Load is `docker load`: it reads a docker save archive (manifest.json +
// config + layer tars, possibly with an OCI layout inside as Docker 25
// writes) or an OCI image layout tarball (oci-layout + index.json +
// blobs/), plain or gzip/zstd-compressed, stores every image it holds and
// tags the names it gives them (RepoTags in manifest.json, or the
// org.opencontainers.image.ref.name / io.containerd.image.name annotations
// of index.json). It returns the loaded images, one per image (Ref is its
// first name, "" if untagged). See LoadWithOptions for bare tags.
func (s *Store) Load(r io.Reader) ([]*Image, error) {
	return s.LoadWithOptions(r, LoadOptions{})
}

// LoadWithOptions is Load with options. If the archive is corrupt
// (truncated, a blob that does not match its digest, a layer whose content
// does not match its diff ID, a missing entry, bad JSON) it fails with an
// error naming the archive entry, and tags nothing. If only some images
// could not be named (a bare tag and no opts.Name), the others are loaded
// and returned together with an error that lists the skipped ones.
func (s *Store) LoadWithOptions(r io.Reader, opts LoadOptions) ([]*Image, error) {
	a, err := s.readArchive(r)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	var plans []*loadPlan
	var skipped []error
	switch {
	case a.meta[archiveManifestFile] != nil:
		plans, err = s.planDockerSave(a)
	case a.meta[ocispec.ImageIndexFile] != nil:
		plans, err = s.planOCILayout(a)
	default:
		err = errors.New("the archive has neither manifest.json (docker save) nor index.json (OCI image layout): " +
			"not an image archive (a root filesystem tar is brought in with import)")
	}
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if len(plans) == 0 {
		return nil, errors.New("load: the archive holds no image")
	}
	if plans, skipped, err = nameImages(plans, opts.Name); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}

	// Check and unpack every image before tagging any.
	for _, p := range plans {
		if err := s.prepareImage(p); err != nil {
			return nil, fmt.Errorf("load: %s: %w", p.label, err)
		}
	}
	var reqs []tagRequest
	for _, p := range plans {
		if len(p.refs) == 0 {
			reqs = append(reqs, tagRequest{desc: p.manifest}) // dangling
		}
		for _, ref := range p.refs {
			reqs = append(reqs, tagRequest{name: ref, desc: p.manifest})
		}
	}
	if err := s.tagMany(reqs); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	var imgs []*Image
	for _, p := range plans {
		ref := ""
		if len(p.refs) > 0 {
			ref = p.refs[0]
		}
		img, err := s.load(p.manifest, ref)
		if err != nil {
			return imgs, fmt.Errorf("load: %s: %w", p.label, err)
		}
		imgs = append(imgs, img)
	}
	return imgs, errors.Join(skipped...)
}

// archive is what readArchive found in an image archive.
type archive struct {
	files map[string]ocispec.Descriptor // file entries, stored as blobs: path -> digest, size
	links map[string]string             // link entries: path -> path of the target entry
	meta  map[string][]byte             // manifest.json, index.json, oci-layout
}

// readArchive reads an image archive (plain, gzip or zstd tar), storing
// every file entry as a blob.
func (s *Store) readArchive(r io.Reader) (*archive, error) {
	plain, err := decompress(r)
	if err != nil {
		return nil, fmt.Errorf("read archive: %w", err)
	}
	defer plain.Close()
	a := &archive{files: map[string]ocispec.Descriptor{}, links: map[string]string{}, meta: map[string][]byte{}}
	tail := &tailReader{r: plain}
	tr := tar.NewReader(tail)
	last := "" // the last entry read, to say where a truncated archive ends
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			if last == "" {
				return nil, fmt.Errorf("read archive: %w (is it a tar archive?)", err)
			}
			return nil, fmt.Errorf("read archive: after entry %s: %w (truncated or corrupt?)", last, err)
		}
		last = hdr.Name
		name, err := archivePath(hdr.Name)
		if err != nil {
			return nil, fmt.Errorf("archive entry %q: %w", hdr.Name, err)
		}
		switch hdr.Typeflag {
		case tar.TypeDir, tar.TypeXGlobalHeader:
			continue
		case tar.TypeSymlink:
			if path.IsAbs(hdr.Linkname) {
				return nil, fmt.Errorf("archive entry %s: symbolic link to an absolute path %q", name, hdr.Linkname)
			}
			target, err := archivePath(path.Join(path.Dir(name), hdr.Linkname))
			if err != nil {
				return nil, fmt.Errorf("archive entry %s: link target %q: %w", name, hdr.Linkname, err)
			}
			a.links[name] = target
		case tar.TypeLink:
			target, err := archivePath(hdr.Linkname)
			if err != nil {
				return nil, fmt.Errorf("archive entry %s: link target %q: %w", name, hdr.Linkname, err)
			}
			a.links[name] = target
		case tar.TypeReg:
			if err := s.readArchiveFile(a, name, hdr, tr); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("archive entry %s: unexpected entry type %q: an image archive holds files, directories and links",
				name, hdr.Typeflag)
		}
	}
	// A tar ends with two zero blocks. Go's tar reader also stops quietly
	// when its input ends between two entries, which is what an archive cut
	// short at the wrong place looks like: say so rather than complain
	// later about missing entries.
	if !tail.endMarker() {
		if last == "" {
			return nil, errors.New("read archive: empty input")
		}
		return nil, fmt.Errorf("read archive: it ends after entry %s without the tar end-of-archive marker: truncated?", last)
	}
	// Read to the end: a gzip or zstd stream checks its checksum there.
	if _, err := io.Copy(io.Discard, plain); err != nil {
		return nil, fmt.Errorf("read archive: after the last entry %s: %w", last, err)
	}
	return a, nil
}

// tailReader remembers the last tarEndSize bytes read through it.
type tailReader struct {
	r    io.Reader
	tail []byte
}

// tarEndSize is the size of a tar's end-of-archive marker: two zero blocks.
const tarEndSize = 2 * 512

func (t *tailReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.tail = append(t.tail, p[:n]...)
	if len(t.tail) > tarEndSize {
		t.tail = append(t.tail[:0], t.tail[len(t.tail)-tarEndSize:]...)
	}
	return n, err
}

// endMarker says whether the last bytes read were the end-of-archive marker.
func (t *tailReader) endMarker() bool {
	return len(t.tail) == tarEndSize && bytes.Count(t.tail, []byte{0}) == tarEndSize
}

// readArchiveFile handles one regular file of an archive.
func (s *Store) readArchiveFile(a *archive, name string, hdr *tar.Header, r io.Reader) error {
	switch {
	case name == archiveManifestFile || name == ocispec.ImageIndexFile || name == ocispec.ImageLayoutFile:
		if hdr.Size > maxArchiveMeta {
			return fmt.Errorf("archive entry %s: %d bytes is too large for image metadata (at most %d)", name, hdr.Size, maxArchiveMeta)
		}
		data, err := io.ReadAll(r)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("archive entry %s: %w (the archive is truncated)", name, err)
		} else if err != nil {
			return fmt.Errorf("archive entry %s: %w", name, err)
		}
		a.meta[name] = data
		return nil
	case name == archiveReposFile, path.Dir(name) != "." && (path.Base(name) == "json" || path.Base(name) == "VERSION"):
		return nil // v1 leftovers of classic docker save: nothing reads them
	}
	// Everything else is (or may be) a blob. Under blobs/ its name is its
	// digest, and PutBlob refuses content that does not match.
	var expected digest.Digest
	if rest, ok := strings.CutPrefix(name, "blobs/"); ok {
		alg, enc, ok := strings.Cut(rest, "/")
		expected = digest.NewDigestFromEncoded(digest.Algorithm(alg), enc)
		if !ok || expected.Validate() != nil {
			return fmt.Errorf("archive entry %s: not a valid blob name (blobs/<algorithm>/<hex digest>)", name)
		}
	}
	desc, err := s.PutBlob(r, expected)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("archive entry %s: %w (the archive is truncated)", name, err)
	} else if err != nil {
		return fmt.Errorf("archive entry %s: %w", name, err)
	}
	if desc.Size != hdr.Size {
		return fmt.Errorf("archive entry %s: %d bytes, but blob %s has %d", name, hdr.Size, desc.Digest, desc.Size)
	}
	a.files[name] = desc
	return nil
}

// archivePath cleans an entry name ("./x" and "x" are the same entry) and
// refuses names that leave the archive.
func archivePath(name string) (string, error) {
	clean := path.Clean(strings.TrimPrefix(name, "/"))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", errors.New("path leaves the archive")
	}
	return clean, nil
}

// entry returns the blob stored for an archive path, following links.
func (a *archive) entry(name string) (ocispec.Descriptor, error) {
	clean, err := archivePath(name)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("archive entry %q: %w", name, err)
	}
	for range 16 { // a link to a link ...; 16 is plenty and stops loops
		if d, ok := a.files[clean]; ok {
			return d, nil
		}
		target, ok := a.links[clean]
		if !ok {
			break
		}
		clean = target
	}
	return ocispec.Descriptor{}, fmt.Errorf("the archive has no file entry %s", name)
}

// archiveBlob checks that the blob d of an OCI layout is available: in the
// archive, or already in the store (then the archive may omit it).
func (s *Store) archiveBlob(a *archive, d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("digest %q: %w", d, err)
	}
	name := "blobs/" + string(d.Algorithm()) + "/" + d.Encoded()
	if _, err := a.entry(name); err == nil || blobStored(s.BlobPath(d)) {
		return nil
	}
	return fmt.Errorf("the archive has no entry %s", name)
}

// loadPlan is one image of an archive, on its way into the store.
type loadPlan struct {
	label    string             // names the image in messages
	manifest ocispec.Descriptor // Digest "": prepareImage writes one from config and layers
	config   ocispec.Descriptor
	image    ocispec.Image
	layers   []ocispec.Descriptor
	entries  []string // archive entries of the layers, for messages ("" if unknown)
	refs     []string // normalised names to tag
	// bareTags are ref names that are only a tag ("1.0"), waiting for
	// LoadOptions.Name; unnamed is true if the archive gives no name at all.
	bareTags []string
	unnamed  bool
}

// dockerSaveEntry is one image of manifest.json.
type dockerSaveEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
	// LayerSources describes foreign layers (Windows); minirun writes none.
	LayerSources map[digest.Digest]ocispec.Descriptor `json:",omitempty"`
}

// planDockerSave reads manifest.json. If the archive also has an OCI
// layout (Docker 25), an image's manifest is taken from there, so that it
// keeps its manifest digest; otherwise one is written for it.
func (s *Store) planDockerSave(a *archive) ([]*loadPlan, error) {
	var entries []dockerSaveEntry
	if err := json.Unmarshal(a.meta[archiveManifestFile], &entries); err != nil {
		return nil, fmt.Errorf("archive entry %s: %w", archiveManifestFile, err)
	}
	// The images of the OCI layout, if there is one. manifest.json is what
	// counts here (as in docker load), so an OCI layout that cannot be read
	// only means that manifests are written anew.
	var ociPlans []*loadPlan
	if a.meta[ocispec.ImageIndexFile] != nil {
		ociPlans, _ = s.planOCILayout(a)
	}
	var plans []*loadPlan
	for i, e := range entries {
		p := &loadPlan{label: fmt.Sprintf("%s image %d", archiveManifestFile, i+1)}
		if len(e.RepoTags) > 0 {
			p.label += " (" + strings.Join(e.RepoTags, ", ") + ")"
		}
		fail := func(format string, args ...any) ([]*loadPlan, error) {
			return nil, fmt.Errorf("%s: %w", p.label, fmt.Errorf(format, args...))
		}
		cfg, err := a.entry(e.Config)
		if err != nil {
			return fail("config: %w", err)
		}
		p.config = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cfg.Digest, Size: cfg.Size}
		if err := s.readArchiveConfig(p); err != nil {
			return fail("config (archive entry %s): %w", e.Config, err)
		}
		if n := len(p.image.RootFS.DiffIDs); n != len(e.Layers) {
			return fail("the config lists %d diff IDs but manifest.json lists %d layers", n, len(e.Layers))
		}
		for j, name := range e.Layers {
			l, err := a.entry(name)
			if err != nil {
				return fail("layer %d: %w", j, err)
			}
			l.MediaType, err = s.sniffLayerType(l.Digest)
			if err != nil {
				return fail("layer %d (archive entry %s): %w", j, name, err)
			}
			p.layers = append(p.layers, l)
			p.entries = append(p.entries, name)
		}
		for _, t := range e.RepoTags {
			name, err := NormalizeRef(t)
			if err != nil {
				return fail("RepoTags: %w", err)
			}
			p.refs = append(p.refs, name)
		}
		p.unnamed = len(p.refs) == 0
		// The same image in the OCI layout: use its manifest.
		for _, o := range ociPlans {
			if o.config.Digest == p.config.Digest && sameBlobs(o.layers, p.layers) {
				p.manifest, p.config, p.layers = o.manifest, o.config, o.layers
				break
			}
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// sameBlobs says whether two layer lists name the same blobs in order.
func sameBlobs(a, b []ocispec.Descriptor) bool {
	return slices.EqualFunc(a, b, func(x, y ocispec.Descriptor) bool { return x.Digest == y.Digest })
}

// planOCILayout reads index.json of an OCI image layout. Entries that point
// to the same manifest become one image with several names.
func (s *Store) planOCILayout(a *archive) ([]*loadPlan, error) {
	if data := a.meta[ocispec.ImageLayoutFile]; data != nil {
		var layout ocispec.ImageLayout
		if err := json.Unmarshal(data, &layout); err != nil {
			return nil, fmt.Errorf("archive entry %s: %w", ocispec.ImageLayoutFile, err)
		}
		if layout.Version != ocispec.ImageLayoutVersion {
			return nil, fmt.Errorf("archive entry %s: image layout version %q, only %q is supported",
				ocispec.ImageLayoutFile, layout.Version, ocispec.ImageLayoutVersion)
		}
	}
	var idx ocispec.Index
	if err := json.Unmarshal(a.meta[ocispec.ImageIndexFile], &idx); err != nil {
		return nil, fmt.Errorf("archive entry %s: %w", ocispec.ImageIndexFile, err)
	}
	var plans []*loadPlan
	byManifest := map[digest.Digest]*loadPlan{}
	for i, d := range idx.Manifests {
		label := fmt.Sprintf("%s entry %d", ocispec.ImageIndexFile, i+1)
		if n := d.Annotations[annotationContainerdName]; n != "" {
			label += " (" + n + ")"
		} else if n := refName(d); n != "" {
			label += " (" + n + ")"
		}
		m, err := s.chooseManifest(a, d, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		p := byManifest[m.Digest]
		if p == nil {
			p = &loadPlan{label: label, manifest: m}
			if err := s.readArchiveManifest(a, p); err != nil {
				return nil, fmt.Errorf("%s: %w", label, err)
			}
			byManifest[m.Digest] = p
			plans = append(plans, p)
		}
		// The name: containerd's full name, else the OCI ref name, which is
		// a full reference if it has a repository part, else a bare tag.
		full, tag := d.Annotations[annotationContainerdName], refName(d)
		if full == "" && strings.ContainsAny(tag, ":/@") {
			full, tag = tag, ""
		}
		switch {
		case full != "":
			name, err := NormalizeRef(full)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", label, err)
			}
			if !slices.Contains(p.refs, name) {
				p.refs = append(p.refs, name)
			}
		case tag != "":
			p.bareTags = append(p.bareTags, tag)
		}
	}
	for _, p := range plans {
		p.unnamed = len(p.refs) == 0 && len(p.bareTags) == 0
	}
	return plans, nil
}

// chooseManifest returns the image manifest an index.json entry stands for.
// An entry may be an image index (a multi-platform image): then the
// manifest for this machine's platform (linux/GOARCH) that the archive
// holds is taken, as docker load does.
func (s *Store) chooseManifest(a *archive, d ocispec.Descriptor, depth int) (ocispec.Descriptor, error) {
	if err := s.archiveBlob(a, d.Digest); err != nil {
		return ocispec.Descriptor{}, err
	}
	if !isIndexType(d.MediaType) {
		return d, nil
	}
	if depth >= maxIndexDepth {
		return ocispec.Descriptor{}, fmt.Errorf("indexes nested more than %d deep", maxIndexDepth)
	}
	data, err := s.readBlob(d.Digest)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("index %s (archive entry blobs/%s/%s): %w", d.Digest, d.Digest.Algorithm(), d.Digest.Encoded(), err)
	}
	var present []ocispec.Descriptor
	for _, c := range idx.Manifests {
		if c.Annotations[annotationDockerRefType] != "" || s.archiveBlob(a, c.Digest) != nil {
			continue // an attestation, or a platform the archive does not carry
		}
		if c.Platform != nil && c.Platform.OS == "linux" && c.Platform.Architecture == runtime.GOARCH {
			return s.chooseManifest(a, c, depth+1)
		}
		present = append(present, c)
	}
	if len(present) == 1 && (present[0].Platform == nil || isIndexType(present[0].MediaType)) {
		return s.chooseManifest(a, present[0], depth+1)
	}
	return ocispec.Descriptor{}, fmt.Errorf("image index %s has no manifest for linux/%s in the archive", d.Digest, runtime.GOARCH)
}

// readArchiveManifest fills in p from its manifest (already stored).
func (s *Store) readArchiveManifest(a *archive, p *loadPlan) error {
	m, err := s.readManifest(p.manifest)
	if err != nil {
		return err
	}
	p.config = m.Config
	switch m.Config.MediaType {
	case ocispec.MediaTypeImageConfig, mediaTypeDockerConfig:
	default:
		return fmt.Errorf("manifest %s: config media type %q: not a container image", p.manifest.Digest, m.Config.MediaType)
	}
	if err := s.archiveBlob(a, m.Config.Digest); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := s.readArchiveConfig(p); err != nil {
		return fmt.Errorf("config (archive entry blobs/%s/%s): %w", m.Config.Digest.Algorithm(), m.Config.Digest.Encoded(), err)
	}
	if n := len(p.image.RootFS.DiffIDs); n != len(m.Layers) {
		return fmt.Errorf("manifest %s lists %d layers but its config lists %d diff IDs", p.manifest.Digest, len(m.Layers), n)
	}
	for j, l := range m.Layers {
		if err := s.archiveBlob(a, l.Digest); err != nil {
			return fmt.Errorf("layer %d: %w", j, err)
		}
		p.layers = append(p.layers, l)
		p.entries = append(p.entries, "blobs/"+string(l.Digest.Algorithm())+"/"+l.Digest.Encoded())
	}
	return nil
}

// readArchiveConfig reads and parses p.config (already stored).
func (s *Store) readArchiveConfig(p *loadPlan) error {
	data, err := s.readBlob(p.config.Digest)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &p.image); err != nil {
		return err
	}
	for i, id := range p.image.RootFS.DiffIDs {
		if err := id.Validate(); err != nil {
			return fmt.Errorf("diff ID %d %q: %w", i, id, err)
		}
	}
	return nil
}

// sniffLayerType tells the media type of a stored layer blob from its
// first bytes (a docker save archive does not say how its layers are
// compressed).
func (s *Store) sniffLayerType(d digest.Digest) (string, error) {
	f, err := os.Open(s.BlobPath(d))
	if err != nil {
		return "", err
	}
	defer f.Close()
	magic := make([]byte, len(zstdMagic))
	n, err := io.ReadFull(f, magic)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", err
	}
	switch magic = magic[:n]; {
	case bytes.HasPrefix(magic, gzipMagic):
		return ocispec.MediaTypeImageLayerGzip, nil
	case bytes.HasPrefix(magic, zstdMagic):
		return ocispec.MediaTypeImageLayerZstd, nil
	}
	return ocispec.MediaTypeImageLayer, nil
}

// nameImages turns bare tags and unnamed images into names, with the
// caller's name if given. Images that cannot be named are dropped from the
// plan, with an error each.
func nameImages(plans []*loadPlan, name string) ([]*loadPlan, []error, error) {
	var repo imageRef // repo.path == "" if no name was given
	var full string
	if name != "" {
		n, err := parseNormalizedRef(name)
		if err != nil {
			return nil, nil, fmt.Errorf("name %q: %w", name, err)
		}
		if n.digest != "" {
			return nil, nil, fmt.Errorf("name %q: give a repository or a tag, not a digest", name)
		}
		repo = n.repository()
		full = n.tagNameOnly().String()
		unnamed := 0
		for _, p := range plans {
			if p.unnamed {
				unnamed++
			}
		}
		if unnamed > 1 {
			return nil, nil, fmt.Errorf("name %q: the archive holds %d images without a name, and one name cannot tag them all", name, unnamed)
		}
	}
	var kept []*loadPlan
	var skipped []error
	for _, p := range plans {
		if p.unnamed && full != "" {
			p.refs = append(p.refs, full)
		}
		ok := true
		for _, tag := range p.bareTags {
			if repo.path == "" {
				skipped = append(skipped, fmt.Errorf("load: %s: skipped: its name %q is only a tag, with no repository: "+
					"load it with a name (the repository to tag it in)", p.label, tag))
				ok = false
				break
			}
			t, err := repo.withTag(tag)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: tag %q: %w", p.label, tag, err)
			}
			if !slices.Contains(p.refs, t.String()) {
				p.refs = append(p.refs, t.String())
			}
		}
		if ok {
			kept = append(kept, p)
		}
	}
	return kept, skipped, nil
}

// prepareImage checks one image of an archive and unpacks its layers: each
// layer must be of a type UnpackLayer reads and its uncompressed content
// must hash to the diff ID the config gives. Finally it stores a manifest
// if the archive had none for the image.
func (s *Store) prepareImage(p *loadPlan) error {
	for j, l := range p.layers {
		where := fmt.Sprintf("layer %d", j)
		if p.entries[j] != "" {
			where += " (archive entry " + p.entries[j] + ")"
		}
		if !supportedLayerType(l.MediaType) || isForeignLayer(l.MediaType) {
			return fmt.Errorf("%s: unsupported media type %q", where, l.MediaType)
		}
		diffID := p.image.RootFS.DiffIDs[j]
		// A layer directory that is already there was checked when it was
		// unpacked, but this blob was not: check its content here.
		if _, err := os.Lstat(s.layerDir(diffID)); err == nil {
			if err := s.checkDiffID(l.Digest, diffID); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		}
		if _, err := s.UnpackLayer(l.Digest, l.MediaType, diffID); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	if p.manifest.Digest != "" {
		return nil
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    p.config,
		Layers:    p.layers,
	}
	desc, err := s.putJSON(m, ocispec.MediaTypeImageManifest)
	if err != nil {
		return fmt.Errorf("store manifest: %w", err)
	}
	p.manifest = desc
	return nil
}

// checkDiffID checks that the uncompressed content of a layer blob hashes
// to diffID.
func (s *Store) checkDiffID(blob, diffID digest.Digest) error {
	f, err := os.Open(s.BlobPath(blob))
	if err != nil {
		return fmt.Errorf("blob %s: %w", blob, err)
	}
	defer f.Close()
	plain, err := decompress(f)
	if err != nil {
		return fmt.Errorf("blob %s: %w", blob, err)
	}
	defer plain.Close()
	h := diffID.Algorithm().Digester()
	if _, err := io.Copy(h.Hash(), plain); err != nil {
		return fmt.Errorf("blob %s: %w", blob, err)
	}
	if got := h.Digest(); got != diffID {
		return fmt.Errorf("diff ID mismatch: uncompressed content of blob %s hashes to %s, the config says %s", blob, got, diffID)
	}
	return nil
}

// Save is `docker save`: it writes the images refs name (tags, digest
// references, image IDs or ID prefixes) as one tar archive that docker load
// (old and new) and Load read. The archive is an OCI image layout
// (oci-layout, index.json, blobs/<alg>/<hex> with every manifest, config
// and layer blob as stored, nothing re-compressed) plus the docker save
// manifest.json, whose Config and Layers point into blobs/ as Docker 25
// writes them. An image named by tag carries that tag (RepoTags, and the
// io.containerd.image.name and org.opencontainers.image.ref.name
// annotations in index.json); one named by ID carries none, as in docker.
//
// Each blob is hashed as it is copied: a blob that no longer matches its
// digest in the store fails the save (the archive written so far is then
// incomplete and must be discarded).
func (s *Store) Save(w io.Writer, refs []string) error {
	if len(refs) == 0 {
		return errors.New("save: no image given")
	}
	idx, err := s.readIndex()
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	type savedImage struct {
		desc     ocispec.Descriptor
		manifest *ocispec.Manifest
		names    []string // normalised
	}
	var images []*savedImage
	byDigest := map[digest.Digest]*savedImage{}
	for _, ref := range refs {
		entry, name, err := s.resolveForSave(idx, ref)
		if err != nil {
			return fmt.Errorf("save: %w", err)
		}
		img := byDigest[entry.Digest]
		if img == nil {
			m, err := s.readManifest(entry)
			if err != nil {
				return fmt.Errorf("save %s: %w", ref, err)
			}
			for i, l := range m.Layers {
				if isForeignLayer(l.MediaType) {
					return fmt.Errorf("save %s: layer %d is a foreign layer (%s), which minirun does not store", ref, i, l.MediaType)
				}
			}
			img = &savedImage{desc: ocispec.Descriptor{MediaType: entry.MediaType, Digest: entry.Digest, Size: entry.Size}, manifest: m}
			if img.desc.MediaType == "" {
				img.desc.MediaType = ocispec.MediaTypeImageManifest
			}
			byDigest[entry.Digest] = img
			images = append(images, img)
		}
		if name != "" && !slices.Contains(img.names, name) {
			img.names = append(img.names, name)
		}
	}

	aw := &archiveWriter{s: s, tw: tar.NewWriter(w), written: map[digest.Digest]bool{}}
	layout, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err := aw.file(ocispec.ImageLayoutFile, layout); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	for _, dir := range []string{"blobs/", "blobs/" + string(digest.Canonical) + "/"} {
		if err := aw.dir(dir); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	}
	var index ocispec.Index
	index.SchemaVersion = 2
	index.MediaType = ocispec.MediaTypeImageIndex
	var manifestJSON []dockerSaveEntry
	for _, img := range images {
		m := img.manifest
		for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
			if err := aw.blob(d); err != nil {
				return fmt.Errorf("save: %w", err)
			}
		}
		if err := aw.blob(img.desc); err != nil {
			return fmt.Errorf("save: %w", err)
		}
		entry := dockerSaveEntry{Config: blobName(m.Config.Digest)}
		for _, l := range m.Layers {
			entry.Layers = append(entry.Layers, blobName(l.Digest))
		}
		if len(img.names) == 0 {
			index.Manifests = append(index.Manifests, img.desc)
		}
		for _, n := range img.names {
			d := img.desc
			d.Annotations = map[string]string{annotationContainerdName: n}
			if named, err := parseNormalizedRef(n); err == nil && named.tag != "" {
				d.Annotations[ocispec.AnnotationRefName] = named.tag
				entry.RepoTags = append(entry.RepoTags, named.familiar())
			}
			index.Manifests = append(index.Manifests, d)
		}
		manifestJSON = append(manifestJSON, entry)
	}
	if index.Manifests == nil {
		index.Manifests = []ocispec.Descriptor{}
	}
	data, err := json.Marshal(index)
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if err := aw.file(ocispec.ImageIndexFile, data); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if data, err = json.Marshal(manifestJSON); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if err := aw.file(archiveManifestFile, data); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if err := aw.tw.Close(); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

// resolveForSave finds the image ref names, and the name to save it under:
// ref normalised if it is a name with an entry, "" if it is an image ID (or
// a prefix of one), since docker save <ID> writes no tag.
func (s *Store) resolveForSave(idx *ocispec.Index, ref string) (ocispec.Descriptor, string, error) {
	if _, err := digest.Parse(ref); err != nil {
		if name, err := NormalizeRef(ref); err == nil {
			if e, ok := findByRef(idx, name); ok {
				return e, name, nil
			}
		}
	}
	e, _, err := s.find(idx, ref)
	return e, "", err
}

// blobName is the archive path of a blob in an OCI layout.
func blobName(d digest.Digest) string {
	return "blobs/" + string(d.Algorithm()) + "/" + d.Encoded()
}

// archiveWriter writes the entries of Save. Every entry gets the same
// owner, mode and time, so the same images always give the same archive.
type archiveWriter struct {
	s       *Store
	tw      *tar.Writer
	written map[digest.Digest]bool
}

var archiveTime = time.Unix(0, 0)

func (aw *archiveWriter) dir(name string) error {
	return aw.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: archiveTime})
}

func (aw *archiveWriter) file(name string, data []byte) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: archiveTime}
	if err := aw.tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := aw.tw.Write(data)
	return err
}

// blob copies a blob of the store into the archive (once), checking its
// size before and its digest while copying.
func (aw *archiveWriter) blob(d ocispec.Descriptor) error {
	if aw.written[d.Digest] {
		return nil
	}
	path := aw.s.BlobPath(d.Digest)
	if path == "" {
		return fmt.Errorf("blob %q: invalid digest", d.Digest)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("blob %s: %w (the image is incomplete: pull or load it again)", d.Digest, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	if d.Size > 0 && fi.Size() != d.Size {
		return fmt.Errorf("blob %s: %d bytes in the store, %d expected: the store is corrupt, pull or load the image again", d.Digest, fi.Size(), d.Size)
	}
	if d.Digest.Algorithm() != digest.Canonical {
		if err := aw.dir("blobs/" + string(d.Digest.Algorithm()) + "/"); err != nil {
			return err
		}
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: blobName(d.Digest), Mode: 0o644, Size: fi.Size(), ModTime: archiveTime}
	if err := aw.tw.WriteHeader(hdr); err != nil {
		return err
	}
	h := d.Digest.Algorithm().Digester()
	if _, err := io.Copy(io.MultiWriter(aw.tw, h.Hash()), io.LimitReader(f, fi.Size())); err != nil {
		return fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	if got := h.Digest(); got != d.Digest {
		return fmt.Errorf("blob %s: corrupt in the store (content hashes to %s): the archive is incomplete; pull or load the image again", d.Digest, got)
	}
	aw.written[d.Digest] = true
	return nil
}
