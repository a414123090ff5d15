package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// archLayer is one layer for putArchImage and the hand-built archives.
type archLayer struct {
	tar  []byte // uncompressed
	blob []byte // as stored (tar, gzip or zstd)
	mt   string // media type
}

func archPlainLayer(t *testing.T, tarData []byte) archLayer {
	return archLayer{tar: tarData, blob: tarData, mt: ocispec.MediaTypeImageLayer}
}
func archGzipLayer(t *testing.T, tarData []byte) archLayer {
	return archLayer{tar: tarData, blob: gzipped(t, tarData), mt: ocispec.MediaTypeImageLayerGzip}
}
func archZstdLayer(t *testing.T, tarData []byte) archLayer {
	return archLayer{tar: tarData, blob: zstded(t, tarData), mt: ocispec.MediaTypeImageLayerZstd}
}

// archImage is an image built by hand: its blobs, ready to be put in a
// store or an archive.
type archImage struct {
	config, manifest         []byte
	configDesc, manifestDesc ocispec.Descriptor
	layers                   []archLayer
}

func makeArchImage(t *testing.T, cmd string, layers ...archLayer) *archImage {
	t.Helper()
	ti := &archImage{layers: layers}
	cfg := ocispec.Image{
		Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		Config:   ocispec.ImageConfig{Cmd: []string{cmd}},
		RootFS:   ocispec.RootFS{Type: "layers"},
	}
	m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest}
	for _, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.FromBytes(l.tar))
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: l.mt, Digest: digest.FromBytes(l.blob), Size: int64(len(l.blob))})
	}
	ti.config, _ = json.Marshal(cfg)
	ti.configDesc = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(ti.config), Size: int64(len(ti.config))}
	m.Config = ti.configDesc
	ti.manifest, _ = json.Marshal(m)
	ti.manifestDesc = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(ti.manifest), Size: int64(len(ti.manifest))}
	return ti
}

// putArchImage stores a hand-built image and tags it ref.
func putArchImage(t *testing.T, s *Store, ref string, ti *archImage) *Image {
	t.Helper()
	for _, b := range append([][]byte{ti.config, ti.manifest}, blobsOf(ti)...) {
		if _, err := s.PutBlob(bytes.NewReader(b), ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Tag(ref, ti.manifestDesc); err != nil {
		t.Fatal(err)
	}
	img, err := s.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func blobsOf(ti *archImage) [][]byte {
	var bs [][]byte
	for _, l := range ti.layers {
		bs = append(bs, l.blob)
	}
	return bs
}

// ociEntries are the blobs/ entries of a hand-built OCI layout.
func ociEntries(ti *archImage) []entry {
	var es []entry
	for _, b := range append([][]byte{ti.config, ti.manifest}, blobsOf(ti)...) {
		es = append(es, file("blobs/sha256/"+digest.FromBytes(b).Encoded(), string(b), 0o644))
	}
	return es
}

func jsonFile(t *testing.T, name string, v any) entry {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return file(name, string(data), 0o644)
}

// tarEntries lists the names of the entries of a tar.
func tarEntries(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		files[hdr.Name] = body
	}
	return files
}

// rewriteTar copies a tar, letting edit change or drop (return nil) each
// file's content.
func rewriteTar(t *testing.T, data []byte, edit func(name string, body []byte) []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if hdr.Typeflag == tar.TypeReg {
			if body = edit(hdr.Name, body); body == nil {
				continue
			}
			hdr.Size = int64(len(body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// treeContent describes a directory tree: every path with its type and,
// for files, content.
func treeContent(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range listTree(t, root) {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s", p, fi.Mode().Type())
		if fi.Mode().IsRegular() {
			data, _ := os.ReadFile(filepath.Join(root, p))
			fmt.Fprintf(&b, " %q", data)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func assertNothingTagged(t *testing.T, s *Store) {
	t.Helper()
	idx, err := s.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 0 {
		t.Errorf("index has entries after a failed load: %+v", idx.Manifests)
	}
	assertNoTemp(t, s)
}

func TestSaveLoadRoundTrip(t *testing.T) {
	s := openStore(t)
	app, err := s.Import(bytes.NewReader(rootfsTar(t)), "app:1", ocispec.ImageConfig{Cmd: []string{"/bin/hello"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("app:latest", ocispec.Descriptor{Digest: app.Manifest}); err != nil {
		t.Fatal(err)
	}
	// Two layers, one of them zstd, the other shared with app.
	tools := putArchImage(t, s, "example.com/tools:2", makeArchImage(t, "sh",
		archGzipLayer(t, rootfsTar(t)), archZstdLayer(t, dataTar(t, "tools"))))
	// Saved by ID only: no name in the archive.
	anon, err := s.Import(bytes.NewReader(dataTar(t, "anon")), "anon", ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	refs := []string{"app:1", "app", "example.com/tools:2", string(tools.ID), anon.ID.Encoded()[:12]}

	var buf bytes.Buffer
	if err := s.Save(&buf, refs); err != nil {
		t.Fatal(err)
	}
	archive := buf.Bytes()

	// What is in the archive: both formats, blobs as stored.
	files := tarEntries(t, archive)
	for _, n := range []string{"oci-layout", "index.json", "manifest.json"} {
		if files[n] == nil {
			t.Errorf("archive has no %s", n)
		}
	}
	for _, img := range []*Image{app, tools, anon} {
		for _, b := range imageBlobs(t, s, img) {
			stored, _ := os.ReadFile(s.BlobPath(b))
			if !bytes.Equal(files["blobs/sha256/"+b.Encoded()], stored) {
				t.Errorf("blob %s not in the archive as stored", b)
			}
		}
	}
	var mj []dockerSaveEntry
	if err := json.Unmarshal(files["manifest.json"], &mj); err != nil || len(mj) != 3 {
		t.Fatalf("manifest.json = %s, %v", files["manifest.json"], err)
	}
	if mj[0].Config != "blobs/sha256/"+app.ID.Encoded() || !slices.Equal(mj[0].RepoTags, []string{"app:1", "app:latest"}) ||
		len(mj[0].Layers) != 1 || !strings.HasPrefix(mj[0].Layers[0], "blobs/sha256/") {
		t.Errorf("manifest.json[0] = %+v", mj[0])
	}
	if !slices.Equal(mj[1].RepoTags, []string{"example.com/tools:2"}) || mj[2].RepoTags != nil {
		t.Errorf("RepoTags = %v, %v", mj[1].RepoTags, mj[2].RepoTags)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil || len(idx.Manifests) != 4 {
		t.Fatalf("index.json = %s, %v", files["index.json"], err)
	}
	if a := idx.Manifests[0].Annotations; a[annotationContainerdName] != "docker.io/library/app:1" || a[ocispec.AnnotationRefName] != "1" {
		t.Errorf("index.json annotations = %v", a)
	}

	// The same images always give the same bytes.
	var again bytes.Buffer
	if err := s.Save(&again, refs); err != nil || !bytes.Equal(again.Bytes(), archive) {
		t.Errorf("a second Save differs (%v)", err)
	}

	// Into a fresh store, plain and gzip-compressed.
	for _, input := range [][]byte{archive, gzipped(t, archive)} {
		s2 := openStore(t)
		imgs, err := s2.Load(bytes.NewReader(input))
		if err != nil {
			t.Fatal(err)
		}
		if len(imgs) != 3 {
			t.Fatalf("Load returned %d images, want 3", len(imgs))
		}
		for i, want := range []*Image{app, tools, anon} {
			got := imgs[i]
			if got.ID != want.ID || got.Manifest != want.Manifest {
				t.Errorf("image %d: ID %s manifest %s, want %s %s", i, got.ID, got.Manifest, want.ID, want.Manifest)
			}
			if len(got.Layers) != len(want.Layers) {
				t.Fatalf("image %d: %d layers", i, len(got.Layers))
			}
			for j := range got.Layers {
				if a, b := treeContent(t, got.Layers[j]), treeContent(t, want.Layers[j]); a != b {
					t.Errorf("image %d layer %d differs:\n%s\nwant\n%s", i, j, a, b)
				}
			}
		}
		for _, ref := range []string{"app:1", "app:latest", "example.com/tools:2"} {
			if _, err := s2.Get(ref); err != nil {
				t.Errorf("Get(%s) after load: %v", ref, err)
			}
		}
		if imgs[2].Ref != "" {
			t.Errorf("image saved by ID loaded as %q, want untagged", imgs[2].Ref)
		}
		if got, err := s2.Get(string(anon.ID)); err != nil || got.ID != anon.ID {
			t.Errorf("untagged image not reachable by ID: %v", err)
		}
		if list, _ := s2.List(); len(list) != 3 {
			t.Errorf("List = %d images, want 3 tags", len(list))
		}
		assertNoTemp(t, s2)
	}

	// Errors name what is wrong.
	if err := s.Save(io.Discard, []string{"nothere"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Save(nothere) = %v", err)
	}
	if err := s.Save(io.Discard, nil); err == nil {
		t.Errorf("Save of nothing succeeded")
	}
	if err := os.WriteFile(s.BlobPath(imageBlobs(t, s, anon)[2]), []byte("rotten"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(io.Discard, []string{string(anon.ID)}); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("Save with a corrupt blob = %v", err)
	}
}

// TestSaveReadByGGCR checks the archive with an independent reader:
// go-containerregistry reads both the docker save and the OCI layout view
// and validates every digest and diff ID.
func TestSaveReadByGGCR(t *testing.T) {
	s := openStore(t)
	img := putArchImage(t, s, "example.com/check:1", makeArchImage(t, "sh",
		archGzipLayer(t, rootfsTar(t)), archGzipLayer(t, dataTar(t, "second"))))
	path := filepath.Join(t.TempDir(), "saved.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(f, []string{"example.com/check:1"}); err != nil {
		t.Fatal(err)
	}
	f.Close()

	tag, _ := name.NewTag("example.com/check:1")
	gimg, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(gimg); err != nil {
		t.Errorf("docker save view: %v", err)
	}
	if id, err := gimg.ConfigName(); err != nil || id.String() != string(img.ID) {
		t.Errorf("config name = %v, %v; want %s", id, err, img.ID)
	}

	dir := t.TempDir()
	untar(t, path, dir)
	ii, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := ii.IndexManifest()
	if len(im.Manifests) != 1 || im.Manifests[0].Digest.String() != string(img.Manifest) {
		t.Fatalf("index = %+v", im)
	}
	limg, err := ii.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(limg); err != nil {
		t.Errorf("OCI layout view: %v", err)
	}
}

// untar unpacks a plain archive of files and directories into dir.
func untar(t *testing.T, path, dir string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, filepath.Clean("/"+hdr.Name))
		if hdr.Typeflag == tar.TypeDir {
			os.MkdirAll(target, 0o755)
			continue
		}
		os.MkdirAll(filepath.Dir(target), 0o755)
		data, _ := io.ReadAll(tr)
		if err := os.WriteFile(target, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// tarDir packs a directory (files and directories) into a tar.
func tarDir(t *testing.T, root string) []byte {
	t.Helper()
	var es []entry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			es = append(es, dir(rel+"/", 0o755))
			return nil
		}
		data, err := os.ReadFile(p)
		es = append(es, file(rel, string(data), 0o644))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return buildTar(t, es...)
}

// TestLoadGGCRArchives loads what go-containerregistry writes: a tarball
// (docker save format, with "sha256:<hex>" config and "<hex>.tar.gz" layer
// names) and an OCI layout.
func TestLoadGGCRArchives(t *testing.T) {
	gimg, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := gimg.ConfigName()
	md, _ := gimg.Digest()

	tag, _ := name.NewTag("example.com/random:v1")
	var buf bytes.Buffer
	if err := tarball.Write(tag, gimg, &buf); err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	imgs, err := s.Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].ID.String() != id.String() || imgs[0].Ref != "example.com/random:v1" || len(imgs[0].Layers) != 2 {
		t.Fatalf("loaded %+v, want ID %s", imgs, id)
	}

	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(gimg, layout.WithAnnotations(map[string]string{ocispec.AnnotationRefName: "example.com/random:oci"})); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t)
	imgs, err = s2.Load(bytes.NewReader(gzipped(t, tarDir(t, dir))))
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].ID.String() != id.String() || imgs[0].Manifest.String() != md.String() || imgs[0].Ref != "example.com/random:oci" {
		t.Fatalf("loaded %+v, want ID %s manifest %s", imgs, id, md)
	}
}

// classicArchive builds a docker save archive as classic docker (before
// 25) writes it: <id>/layer.tar uncompressed with <id>/json and
// <id>/VERSION, <config hex>.json, manifest.json, repositories. The second
// image shares the first layer through a symbolic link, as docker does.
func classicArchive(t *testing.T, layer1, layer2 []byte) ([]byte, *archImage, *archImage) {
	img1 := makeArchImage(t, "one", archPlainLayer(t, layer1), archPlainLayer(t, layer2))
	img2 := makeArchImage(t, "two", archPlainLayer(t, layer1))
	v1 := func(n int) string { return strings.Repeat(fmt.Sprint(n), 64) } // legacy v1 layer IDs
	manifest := []dockerSaveEntry{
		{Config: img1.configDesc.Digest.Encoded() + ".json", RepoTags: []string{"classic:1.0"},
			Layers: []string{v1(1) + "/layer.tar", v1(2) + "/layer.tar"}},
		{Config: img2.configDesc.Digest.Encoded() + ".json", RepoTags: []string{"classic:base", "other/classic:x"},
			Layers: []string{v1(3) + "/layer.tar"}},
	}
	archive := buildTar(t,
		dir(v1(1)+"/", 0o755),
		file(v1(1)+"/VERSION", "1.0", 0o644),
		file(v1(1)+"/json", `{"id":"`+v1(1)+`"}`, 0o644),
		file(v1(1)+"/layer.tar", string(layer1), 0o644),
		dir(v1(2)+"/", 0o755),
		file(v1(2)+"/VERSION", "1.0", 0o644),
		file(v1(2)+"/json", `{"id":"`+v1(2)+`"}`, 0o644),
		file(v1(2)+"/layer.tar", string(layer2), 0o644),
		dir(v1(3)+"/", 0o755),
		symlink(v1(3)+"/layer.tar", "../"+v1(1)+"/layer.tar"),
		file(img1.configDesc.Digest.Encoded()+".json", string(img1.config), 0o644),
		file(img2.configDesc.Digest.Encoded()+".json", string(img2.config), 0o644),
		jsonFile(t, "manifest.json", manifest),
		file("repositories", `{"classic":{"1.0":"`+v1(2)+`"}}`, 0o644),
	)
	return archive, img1, img2
}

func TestLoadClassicDockerSave(t *testing.T) {
	layer1 := rootfsTar(t)
	layer2 := buildTar(t, dir("etc/", 0o755), file("etc/motd", "classic\n", 0o644))
	archive, img1, img2 := classicArchive(t, layer1, layer2)

	s := openStore(t)
	imgs, err := s.Load(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 || imgs[0].ID != img1.configDesc.Digest || imgs[1].ID != img2.configDesc.Digest {
		t.Fatalf("loaded %+v", imgs)
	}
	one, err := s.Get("classic:1.0")
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(one.Layers[1], "etc/motd")); err != nil || string(data) != "classic\n" {
		t.Errorf("etc/motd = %q, %v", data, err)
	}
	if one.Config.Config.Cmd[0] != "one" {
		t.Errorf("config = %+v", one.Config.Config)
	}
	for _, ref := range []string{"classic:base", "docker.io/other/classic:x"} {
		got, err := s.Get(ref)
		if err != nil || got.ID != img2.configDesc.Digest || got.Layers[0] != one.Layers[0] {
			t.Errorf("Get(%s) = %+v, %v", ref, got, err)
		}
	}
	// The manifest written for it names the uncompressed layer blobs.
	m, err := s.readManifest(ocispec.Descriptor{Digest: one.Manifest})
	if err != nil || m.Layers[0].MediaType != ocispec.MediaTypeImageLayer || m.Layers[0].Digest != digest.FromBytes(layer1) {
		t.Errorf("manifest = %+v, %v", m, err)
	}
	// v1 leftovers are not stored.
	if n := len(readDirNames(t, filepath.Join(s.Root, "images/blobs/sha256"))); n != 2+2+2 {
		t.Errorf("%d blobs, want 6 (2 configs, 2 manifests, 2 layers)", n)
	}

	// Loading again changes nothing and fails nothing.
	again, err := s.Load(bytes.NewReader(archive))
	if err != nil || len(again) != 2 || again[0].Manifest != one.Manifest {
		t.Errorf("second load: %+v, %v", again, err)
	}
	assertNoTemp(t, s)
}

func TestLoadOCILayout(t *testing.T) {
	a := makeArchImage(t, "a", archGzipLayer(t, rootfsTar(t)))
	b := makeArchImage(t, "b", archZstdLayer(t, dataTar(t, "b")))
	c := makeArchImage(t, "c", archGzipLayer(t, dataTar(t, "c")))
	// c is behind an image index, as multi-platform images are, with a
	// platform and an attestation the archive does not carry.
	cIndex := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{
			{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("other platform"), Size: 10,
				Platform: &ocispec.Platform{OS: "linux", Architecture: "s390x"}},
			withPlatform(c.manifestDesc, &ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}),
			{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("attestation"), Size: 10,
				Annotations: map[string]string{annotationDockerRefType: "attestation-manifest"},
				Platform:    &ocispec.Platform{OS: "unknown", Architecture: "unknown"}},
		},
	}
	cIndexData, _ := json.Marshal(cIndex)
	cIndexDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(cIndexData), Size: int64(len(cIndexData))}

	named := func(d ocispec.Descriptor, ann map[string]string) ocispec.Descriptor {
		d.Annotations = ann
		return d
	}
	index := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{
			named(a.manifestDesc, map[string]string{ocispec.AnnotationRefName: "example.com/app:1.0"}),
			named(b.manifestDesc, map[string]string{ocispec.AnnotationRefName: "2.0"}),
			named(cIndexDesc, map[string]string{ocispec.AnnotationRefName: "latest", annotationContainerdName: "docker.io/library/multi:latest"}),
		},
	}
	es := []entry{
		file("oci-layout", `{"imageLayoutVersion":"1.0.0"}`, 0o644),
		jsonFile(t, "index.json", index),
		dir("blobs/", 0o755),
		dir("blobs/sha256/", 0o755),
		file("blobs/sha256/"+cIndexDesc.Digest.Encoded(), string(cIndexData), 0o644),
	}
	for _, ti := range []*archImage{a, b, c} {
		es = append(es, ociEntries(ti)...)
	}
	archive := gzipped(t, buildTar(t, es...))

	// Without a name, the image known only by the tag "2.0" is skipped.
	s := openStore(t)
	imgs, err := s.Load(bytes.NewReader(archive))
	if err == nil || !strings.Contains(err.Error(), `"2.0" is only a tag`) {
		t.Errorf("Load error = %v, want one about the bare tag 2.0", err)
	}
	if len(imgs) != 2 || imgs[0].Ref != "example.com/app:1.0" || imgs[1].Ref != "docker.io/library/multi:latest" {
		t.Fatalf("loaded %+v", imgs)
	}
	if got, err := s.Get("multi"); err != nil || got.Manifest != c.manifestDesc.Digest {
		t.Errorf("Get(multi) = %+v, %v; want the %s manifest", got, err, runtime.GOARCH)
	}
	if _, err := s.Get(string(b.configDesc.Digest)); !errors.Is(err, ErrNotFound) {
		t.Errorf("skipped image is in the index: %v", err)
	}

	// With a name it gets the repository.
	s2 := openStore(t)
	imgs, err = s2.LoadWithOptions(bytes.NewReader(archive), LoadOptions{Name: "myrepo"})
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 3 || imgs[1].Ref != "docker.io/library/myrepo:2.0" {
		t.Fatalf("loaded %+v", imgs)
	}
	got, err := s2.Get("myrepo:2.0")
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(got.Layers[0], "data/f")); err != nil || string(data) != "b" {
		t.Errorf("zstd layer of b: %q, %v", data, err)
	}
	assertNoTemp(t, s2)

	// An image without any name: untagged, or tagged with the given name.
	plain := buildTar(t, append([]entry{
		file("oci-layout", `{"imageLayoutVersion":"1.0.0"}`, 0o644),
		jsonFile(t, "index.json", ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, Manifests: []ocispec.Descriptor{a.manifestDesc}}),
	}, ociEntries(a)...)...)
	s3 := openStore(t)
	imgs, err = s3.LoadWithOptions(bytes.NewReader(plain), LoadOptions{Name: "named:v9"})
	if err != nil || len(imgs) != 1 || imgs[0].Ref != "docker.io/library/named:v9" {
		t.Errorf("unnamed image with a name: %+v, %v", imgs, err)
	}
	imgs, err = openStore(t).Load(bytes.NewReader(plain))
	if err != nil || len(imgs) != 1 || imgs[0].Ref != "" || imgs[0].ID != a.configDesc.Digest {
		t.Errorf("unnamed image without a name: %+v, %v", imgs, err)
	}
}

func withPlatform(d ocispec.Descriptor, p *ocispec.Platform) ocispec.Descriptor {
	d.Platform = p
	return d
}

func TestLoadCorruptArchives(t *testing.T) {
	src := openStore(t)
	img := putArchImage(t, src, "victim:1", makeArchImage(t, "v",
		archGzipLayer(t, rootfsTar(t)), archGzipLayer(t, dataTar(t, "victim"))))
	var buf bytes.Buffer
	if err := src.Save(&buf, []string{"victim:1"}); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	layerBlob := "blobs/sha256/" + imageBlobs(t, src, img)[3].Encoded()
	classic, _, _ := classicArchive(t, rootfsTar(t), buildTar(t, file("x", "y", 0o644)))

	tests := []struct {
		name    string
		archive []byte
		want    string // in the error
	}{
		{"truncated between entries", good[:len(good)/2], "truncated"},
		{"truncated in an entry", good[:bytes.Index(good, []byte(layerBlob))+512+10], layerBlob + ": put blob"},
		{"truncated gzip", func() []byte { z := gzipped(t, good); return z[:len(z)-30] }(), "unexpected EOF"},
		{"tampered blob", rewriteTar(t, good, func(n string, b []byte) []byte {
			if n == layerBlob {
				b = append([]byte{}, b...)
				b[len(b)/2] ^= 0xff
			}
			return b
		}), layerBlob},
		{"missing blob", rewriteTar(t, good, func(n string, b []byte) []byte {
			if n == layerBlob {
				return nil
			}
			return b
		}), layerBlob},
		{"bad manifest.json", rewriteTar(t, good, func(n string, b []byte) []byte {
			if n == "manifest.json" {
				return []byte("[{not json")
			}
			return b
		}), "manifest.json"},
		{"bad index.json", rewriteTar(t, good, func(n string, b []byte) []byte {
			switch n {
			case "manifest.json":
				return nil
			case "index.json":
				return []byte(`{"manifests": 7}`)
			}
			return b
		}), "index.json"},
		{"tampered classic layer", rewriteTar(t, classic, func(n string, b []byte) []byte {
			if strings.HasSuffix(n, "/layer.tar") && strings.HasPrefix(n, "2222") {
				return buildTar(t, file("x", "z", 0o644)) // not what the config's diff ID says
			}
			return b
		}), "222222222222/layer.tar"},
		{"classic layer missing", rewriteTar(t, classic, func(n string, b []byte) []byte {
			if strings.HasPrefix(n, "1111") && strings.HasSuffix(n, "/layer.tar") {
				return nil
			}
			return b
		}), "1111111111111111111111111111111111111111111111111111111111111111/layer.tar"},
		{"not an archive", bytes.Repeat([]byte("garbage "), 200), "tar"},
		{"a root filesystem", rootfsTar(t), "neither manifest.json"},
		{"escaping entry", buildTar(t, file("../evil", "x", 0o644)), "leaves the archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			imgs, err := s.Load(bytes.NewReader(tt.archive))
			if err == nil {
				t.Fatalf("Load succeeded: %+v", imgs)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			assertNothingTagged(t, s)
		})
	}

	// A tampered layer is caught even when the layer is already unpacked
	// (from the good archive), and tags nothing new.
	s := openStore(t)
	if _, err := s.Load(bytes.NewReader(classic)); err != nil {
		t.Fatal(err)
	}
	if err := s.Untag("classic:1.0"); err != nil {
		t.Fatal(err)
	}
	tampered := rewriteTar(t, classic, func(n string, b []byte) []byte {
		if strings.HasPrefix(n, "1111") && strings.HasSuffix(n, "/layer.tar") {
			return rootfsTarWith(t, "tampered")
		}
		return b
	})
	if _, err := s.Load(bytes.NewReader(tampered)); err == nil || !strings.Contains(err.Error(), "diff ID mismatch") {
		t.Errorf("tampered layer over an unpacked one: %v", err)
	}
	if _, err := s.Get("classic:1.0"); !errors.Is(err, ErrNotFound) {
		t.Errorf("classic:1.0 tagged by a tampered archive: %v", err)
	}
}

func rootfsTarWith(t *testing.T, content string) []byte {
	return buildTar(t, dir("./", 0o755), file("etc/hostname", content, 0o644))
}
