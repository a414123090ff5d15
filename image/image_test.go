package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestNormalizeRef(t *testing.T) {
	const hex = "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa"
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "busybox", want: "docker.io/library/busybox:latest"},
		{in: "library/busybox", want: "docker.io/library/busybox:latest"},
		{in: "busybox:1.36", want: "docker.io/library/busybox:1.36"},
		{in: "foo/bar:1", want: "docker.io/foo/bar:1"},
		{in: "localhost:5000/x", want: "localhost:5000/x:latest"},
		{in: "ghcr.io/a/b@sha256:" + hex, want: "ghcr.io/a/b@sha256:" + hex},
		{in: "busybox:latest@sha256:" + hex, want: "docker.io/library/busybox@sha256:" + hex},
		{in: "UPPER", wantErr: true},
		{in: "", wantErr: true},
		{in: "a b", wantErr: true},
	}
	for _, tt := range tests {
		got, err := NormalizeRef(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("NormalizeRef(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeRef(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestFamiliarRef(t *testing.T) {
	tests := map[string]string{
		"docker.io/library/busybox:latest": "busybox:latest",
		"docker.io/foo/bar:1":              "foo/bar:1",
		"ghcr.io/a/b:v1":                   "ghcr.io/a/b:v1",
		"localhost:5000/x:latest":          "localhost:5000/x:latest",
		"NOT A REF":                        "NOT A REF",
	}
	for in, want := range tests {
		if got := FamiliarRef(in); got != want {
			t.Errorf("FamiliarRef(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpenCreatesLayout(t *testing.T) {
	s := openStore(t)
	data, err := os.ReadFile(filepath.Join(s.Root, "images", "oci-layout"))
	if err != nil || !bytes.Contains(data, []byte(`"imageLayoutVersion":"1.0.0"`)) {
		t.Fatalf("oci-layout = %s, %v", data, err)
	}
	idx, err := s.readIndex()
	if err != nil || idx.SchemaVersion != 2 || len(idx.Manifests) != 0 {
		t.Fatalf("index = %+v, %v", idx, err)
	}
	// Opening again must keep the tags.
	if _, err := s.Import(bytes.NewReader(rootfsTar(t)), "keep", ocispec.ImageConfig{}); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(s.Root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Get("keep"); err != nil {
		t.Fatalf("tag lost after second Open: %v", err)
	}
}

func TestImportGetList(t *testing.T) {
	s := openStore(t)
	cfg := ocispec.ImageConfig{Cmd: []string{"/bin/hello"}, Env: []string{"PATH=/bin"}, WorkingDir: "/"}
	img, err := s.Import(bytes.NewReader(rootfsTar(t)), "hello", cfg)
	if err != nil {
		t.Fatal(err)
	}

	if img.Ref != "docker.io/library/hello:latest" {
		t.Errorf("Ref = %q", img.Ref)
	}
	c := img.Config
	if c.Architecture != runtime.GOARCH || c.OS != "linux" {
		t.Errorf("platform = %s/%s", c.OS, c.Architecture)
	}
	if len(c.Config.Cmd) != 1 || c.Config.Cmd[0] != "/bin/hello" || c.Config.Env[0] != "PATH=/bin" {
		t.Errorf("config = %+v", c.Config)
	}
	wantDiffID := digest.FromBytes(rootfsTar(t))
	if len(c.RootFS.DiffIDs) != 1 || c.RootFS.DiffIDs[0] != wantDiffID {
		t.Errorf("diff IDs = %v, want [%s]", c.RootFS.DiffIDs, wantDiffID)
	}
	if len(c.History) != 1 || c.History[0].Comment != importHistory {
		t.Errorf("history = %+v", c.History)
	}
	if img.Created.IsZero() || img.Size <= 0 {
		t.Errorf("Created = %v, Size = %d", img.Created, img.Size)
	}
	if len(img.Layers) != 1 || img.Layers[0] != filepath.Join(s.Root, "layers", wantDiffID.Encoded()) {
		t.Fatalf("Layers = %v", img.Layers)
	}
	if data, err := os.ReadFile(filepath.Join(img.Layers[0], "etc/hostname")); err != nil || string(data) != "minirun\n" {
		t.Errorf("etc/hostname = %q, %v", data, err)
	}

	// The manifest is a valid OCI manifest with a gzip layer.
	var m ocispec.Manifest
	data, err := os.ReadFile(s.BlobPath(img.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.MediaType != ocispec.MediaTypeImageManifest || m.Config.Digest != img.ID ||
		len(m.Layers) != 1 || m.Layers[0].MediaType != ocispec.MediaTypeImageLayerGzip {
		t.Errorf("manifest = %+v", m)
	}

	// Get by every kind of name.
	for _, name := range []string{
		"hello", "hello:latest", "docker.io/library/hello:latest",
		string(img.ID), img.ID.Encoded(), img.ID.Encoded()[:4], img.ID.Encoded()[:12],
		"sha256:" + img.ID.Encoded()[:8],
	} {
		got, err := s.Get(name)
		if err != nil {
			t.Errorf("Get(%q): %v", name, err)
			continue
		}
		if got.ID != img.ID || got.Manifest != img.Manifest || got.Ref != img.Ref {
			t.Errorf("Get(%q) = %s %s %s", name, got.Ref, got.ID, got.Manifest)
		}
	}
	// By digest reference.
	if got, err := s.Get("hello@" + string(img.Manifest)); err != nil || got.ID != img.ID {
		t.Errorf("Get by digest reference: %v", err)
	}

	for _, name := range []string{"nothere", "hello:2", "sha256:" + strings.Repeat("0", 64), "0000"} {
		if _, err := s.Get(name); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) error = %v, want ErrNotFound", name, err)
		}
	}
	if _, err := s.Get("UPPER"); err == nil {
		t.Errorf("Get(UPPER) succeeded")
	}

	// A gzip input gives the same layer (same diff ID, same blob).
	img2, err := s.Import(bytes.NewReader(gzipped(t, rootfsTar(t))), "foo/other:1", ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if img2.Layers[0] != img.Layers[0] {
		t.Errorf("gzip import unpacked to %s, want shared %s", img2.Layers[0], img.Layers[0])
	}

	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, i := range list {
		refs = append(refs, i.Ref)
	}
	if want := "docker.io/foo/other:1 docker.io/library/hello:latest"; strings.Join(refs, " ") != want {
		t.Errorf("List refs = %v, want %s", refs, want)
	}
	assertNoTemp(t, s)
}

func TestReimportDedup(t *testing.T) {
	s := openStore(t)
	a, err := s.Import(bytes.NewReader(rootfsTar(t)), "a", ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Import(bytes.NewReader(rootfsTar(t)), "a", ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Layers[0] != b.Layers[0] {
		t.Errorf("layers differ: %s vs %s", a.Layers[0], b.Layers[0])
	}
	// One layer blob, plus one config and one manifest per import.
	blobs := readDirNames(t, filepath.Join(s.Root, "images/blobs/sha256"))
	if len(blobs) != 5 {
		t.Errorf("blobs = %v, want 5 (1 layer + 2 configs + 2 manifests)", blobs)
	}
	if n := len(readDirNames(t, s.layersDir())); n != 1 {
		t.Errorf("%d layer dirs, want 1", n)
	}
	// The tag moved to the second import.
	if got, err := s.Get("a"); err != nil || got.ID != b.ID {
		t.Errorf("Get(a) = %v, %v; want ID %s", got, err, b.ID)
	}
	list, _ := s.List()
	if len(list) != 1 {
		t.Errorf("List has %d entries, want 1", len(list))
	}
	assertNoTemp(t, s)
}

func TestPutBlob(t *testing.T) {
	s := openStore(t)
	content := []byte("hello blob")
	wrong := digest.FromString("something else")
	if _, err := s.PutBlob(bytes.NewReader(content), wrong); err == nil || !strings.Contains(err.Error(), "mismatch") {
		t.Fatalf("PutBlob with wrong digest: err = %v", err)
	}
	if names := readDirNames(t, filepath.Join(s.Root, "images/blobs/sha256")); len(names) != 0 {
		t.Errorf("blobs kept after mismatch: %v", names)
	}
	assertNoTemp(t, s)

	want := digest.FromBytes(content)
	desc, err := s.PutBlob(bytes.NewReader(content), want)
	if err != nil || desc.Digest != want || desc.Size != int64(len(content)) {
		t.Fatalf("PutBlob = %+v, %v", desc, err)
	}
	desc, err = s.PutBlob(bytes.NewReader(content), "")
	if err != nil || desc.Digest != want {
		t.Fatalf("PutBlob without digest = %+v, %v", desc, err)
	}
	if data, err := os.ReadFile(s.BlobPath(want)); err != nil || !bytes.Equal(data, content) {
		t.Errorf("blob content = %q, %v", data, err)
	}
	if p := s.BlobPath("sha256:../../etc"); p != "" {
		t.Errorf("BlobPath of an invalid digest = %q", p)
	}
}

func TestTagUntag(t *testing.T) {
	s := openStore(t)
	img, err := s.Import(bytes.NewReader(rootfsTar(t)), "one", ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: img.Manifest}
	if err := s.Tag("two:v2", desc); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("two:v2")
	if err != nil || got.ID != img.ID || got.Ref != "docker.io/library/two:v2" {
		t.Fatalf("Get(two:v2) = %+v, %v", got, err)
	}
	// By ID, the alphabetically first tag is reported.
	if got, err := s.Get(string(img.ID)); err != nil || got.Ref != "docker.io/library/one:latest" {
		t.Errorf("Get(ID) = %+v, %v", got, err)
	}
	if err := s.Untag("one"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("one"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Untag: %v", err)
	}
	if err := s.Untag("one"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Untag: %v", err)
	}
	if err := s.Tag("three", ocispec.Descriptor{Digest: digest.FromString("no such manifest")}); err == nil {
		t.Errorf("Tag of a missing manifest succeeded")
	}
}

func TestGetUnpacksMissingLayer(t *testing.T) {
	s := openStore(t)
	img, err := s.Import(bytes.NewReader(rootfsTar(t)), "lazy", ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(img.Layers[0]); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("lazy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(got.Layers[0], "bin/hello")); err != nil {
		t.Errorf("layer not unpacked again: %v", err)
	}
}

func TestUnpackLayerChecks(t *testing.T) {
	s := openStore(t)
	tarData := rootfsTar(t)
	desc, err := s.PutBlob(bytes.NewReader(tarData), "")
	if err != nil {
		t.Fatal(err)
	}
	wrongDiffID := digest.FromString("not this")
	if _, err := s.UnpackLayer(desc.Digest, ocispec.MediaTypeImageLayer, wrongDiffID); err == nil || !strings.Contains(err.Error(), "diff ID mismatch") {
		t.Errorf("UnpackLayer with wrong diff ID: %v", err)
	}
	if _, err := s.UnpackLayer(desc.Digest, "application/vnd.oci.image.layer.v1.tar+bzip2", desc.Digest); err == nil || !strings.Contains(err.Error(), "unsupported media type") {
		t.Errorf("UnpackLayer bzip2: %v", err)
	}
	if n := readDirNames(t, s.layersDir()); len(n) != 0 {
		t.Errorf("layers left after failures: %v", n)
	}
	// Uncompressed blob: its digest is its diff ID. Unpacking twice is fine.
	for i := 0; i < 2; i++ {
		dir, err := s.UnpackLayer(desc.Digest, ocispec.MediaTypeImageLayer, desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "etc/hostname")); err != nil {
			t.Error(err)
		}
	}
	// A gzip blob under the Docker media type.
	gz, err := s.PutBlob(bytes.NewReader(gzipped(t, buildTar(t, file("x", "y", 0o644)))), "")
	if err != nil {
		t.Fatal(err)
	}
	diffID := digest.FromBytes(buildTar(t, file("x", "y", 0o644)))
	if _, err := s.UnpackLayer(gz.Digest, "application/vnd.docker.image.rootfs.diff.tar.gzip", diffID); err != nil {
		t.Error(err)
	}
	assertNoTemp(t, s)
}

func TestImportRejectsBadInput(t *testing.T) {
	s := openStore(t)
	for name, input := range map[string][]byte{
		"empty":   nil,
		"garbage": bytes.Repeat([]byte("not a tar "), 100),
		"zstd":    {0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0},
	} {
		if _, err := s.Import(bytes.NewReader(input), "bad", ocispec.ImageConfig{}); err == nil {
			t.Errorf("Import(%s) succeeded", name)
		}
	}
	if _, err := s.Import(bytes.NewReader(rootfsTar(t)), "x@"+string(digest.FromString("x")), ocispec.ImageConfig{}); err == nil {
		t.Errorf("Import with a digest reference succeeded")
	}
	if names := readDirNames(t, filepath.Join(s.Root, "images/blobs/sha256")); len(names) != 0 {
		t.Errorf("blobs kept after failed imports: %v", names)
	}
	assertNoTemp(t, s)
}

func TestConcurrentImport(t *testing.T) {
	s := openStore(t)
	data := rootfsTar(t)
	const n = 4
	imgs := make([]*Image, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Two goroutines per tag: same tag at once, and different tags at once.
			imgs[i], errs[i] = s.Import(bytes.NewReader(data), fmt.Sprintf("c%d", i%2), ocispec.ImageConfig{})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("import %d: %v", i, err)
		}
	}
	// Exactly one layer blob: every other blob is a config or a manifest.
	layerBlobs := 0
	for _, name := range readDirNames(t, filepath.Join(s.Root, "images/blobs/sha256")) {
		data, err := os.ReadFile(filepath.Join(s.Root, "images/blobs/sha256", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte("{")) {
			layerBlobs++
		}
	}
	if layerBlobs != 1 {
		t.Errorf("%d layer blobs, want 1", layerBlobs)
	}
	if n := len(readDirNames(t, s.layersDir())); n != 1 {
		t.Errorf("%d layer dirs, want 1", n)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Errorf("List = %d images, want 2 (c0, c1)", len(list))
	}
	for _, img := range imgs {
		if img.Layers[0] != imgs[0].Layers[0] {
			t.Errorf("layer dirs differ")
		}
	}
	assertNoTemp(t, s)
}
