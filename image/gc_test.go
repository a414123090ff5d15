package image

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// dataTar is a root filesystem that shares no layer with rootfsTar.
func dataTar(t *testing.T, content string) []byte {
	return buildTar(t, dir("data/", 0o755), file("data/f", content, 0o644))
}

// imageBlobs lists the blob digests of img: config, manifest, layers.
func imageBlobs(t *testing.T, s *Store, img *Image) []digest.Digest {
	t.Helper()
	m, err := s.readManifest(ocispec.Descriptor{Digest: img.Manifest})
	if err != nil {
		t.Fatal(err)
	}
	blobs := []digest.Digest{m.Config.Digest, img.Manifest}
	for _, l := range m.Layers {
		blobs = append(blobs, l.Digest)
	}
	return blobs
}

func pathExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// inUseOf returns an inUse callback reporting the given image IDs.
func inUseOf(ids ...digest.Digest) func() (map[digest.Digest]bool, error) {
	return func() (map[digest.Digest]bool, error) {
		m := map[digest.Digest]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m, nil
	}
}

// later makes Prune believe it runs d from now, so that everything on
// disk looks d old.
func pruneLater(s *Store, d time.Duration) {
	s.clock = func() time.Time { return time.Now().Add(d) }
}

func TestRemoveOneOfTwoTags(t *testing.T) {
	s := openStore(t)
	img, err := s.Import(bytes.NewReader(rootfsTar(t)), "a", ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("b:v2", ocispec.Descriptor{Digest: img.Manifest}); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Remove("a", false, inUseOf(img.ID)) // in use, but still tagged b:v2
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Untagged, []string{"a:latest"}) || len(rep.Deleted) != 0 || rep.FreedBytes != 0 {
		t.Errorf("report = %+v, want only a:latest untagged", rep)
	}
	got, err := s.Get("b:v2")
	if err != nil || got.ID != img.ID {
		t.Fatalf("Get(b:v2) = %v, %v", got, err)
	}
	for _, b := range imageBlobs(t, s, img) {
		if !pathExists(s.BlobPath(b)) {
			t.Errorf("blob %s deleted", b)
		}
	}
	if !pathExists(img.Layers[0]) {
		t.Errorf("layer dir deleted")
	}
	if _, err := s.Remove("a", false, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove(a) = %v, want ErrNotFound", err)
	}
}

func TestRemoveLastTagDeletes(t *testing.T) {
	s := openStore(t)
	// one and two share their layer (same tar); solo has its own.
	one, err := s.Import(bytes.NewReader(rootfsTar(t)), "one", ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	two, err := s.Import(bytes.NewReader(rootfsTar(t)), "two", ocispec.ImageConfig{Cmd: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	solo, err := s.Import(bytes.NewReader(dataTar(t, "solo")), "solo", ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if one.Layers[0] != two.Layers[0] || one.ID == two.ID {
		t.Fatalf("test setup: one and two should share a layer and differ in ID")
	}

	soloBlobs := imageBlobs(t, s, solo)
	rep, err := s.Remove("solo", false, inUseOf(one.ID))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Untagged, []string{"solo:latest"}) {
		t.Errorf("Untagged = %v", rep.Untagged)
	}
	// Deleted: config (the image ID) first, manifest, layer blob, layer dir.
	want := append(soloBlobs, solo.Config.RootFS.DiffIDs[0])
	if !slices.Equal(rep.Deleted, want) {
		t.Errorf("Deleted = %v, want %v", rep.Deleted, want)
	}
	if rep.FreedBytes <= 0 {
		t.Errorf("FreedBytes = %d", rep.FreedBytes)
	}
	for _, b := range soloBlobs {
		if pathExists(s.BlobPath(b)) {
			t.Errorf("blob %s of solo still on disk", b)
		}
	}
	if pathExists(solo.Layers[0]) {
		t.Errorf("layer dir %s of solo still on disk", solo.Layers[0])
	}

	// one goes, its layer stays for two.
	oneBlobs := imageBlobs(t, s, one)
	rep, err = s.Remove("one", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Deleted, oneBlobs[:2]) { // config and manifest only
		t.Errorf("Deleted = %v, want config and manifest %v", rep.Deleted, oneBlobs[:2])
	}
	if !pathExists(s.BlobPath(oneBlobs[2])) || !pathExists(one.Layers[0]) {
		t.Errorf("shared layer deleted")
	}
	if got, err := s.Get("two"); err != nil || len(got.Layers) != 1 || !pathExists(filepath.Join(got.Layers[0], "bin/hello")) {
		t.Errorf("two broken after removing one: %v", err)
	}

	// Last image by ID: everything goes.
	rep, err = s.Remove(two.ID.Encoded()[:12], false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Deleted) != 4 || rep.FreedBytes <= 0 {
		t.Errorf("report = %+v, want 3 blobs and 1 layer dir deleted", rep)
	}
	if names := readDirNames(t, filepath.Join(s.Root, "images/blobs/sha256")); len(names) != 0 {
		t.Errorf("blobs left: %v", names)
	}
	if names := readDirNames(t, s.layersDir()); len(names) != 0 {
		t.Errorf("layer dirs left: %v", names)
	}
	if idx, _ := s.readIndex(); len(idx.Manifests) != 0 {
		t.Errorf("index = %+v", idx.Manifests)
	}
}

func TestRemoveInUse(t *testing.T) {
	s := openStore(t)
	img, err := s.Import(bytes.NewReader(rootfsTar(t)), "busybox", ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	used := inUseOf(img.ID)

	_, err = s.Remove("busybox", false, used)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("Remove of an image in use = %v, want ErrInUse", err)
	}
	for _, want := range []string{"busybox:latest", "container", "-f"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := s.Get("busybox"); err != nil {
		t.Errorf("tag gone after a refused Remove: %v", err)
	}

	// An error of the callback stops Remove.
	boom := func() (map[digest.Digest]bool, error) { return nil, errors.New("boom") }
	if _, err := s.Remove("busybox", true, boom); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Remove with a failing inUse = %v", err)
	}

	// With force the tag goes, the image stays (dangling) with its layer.
	rep, err := s.Remove("busybox", true, used)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Untagged, []string{"busybox:latest"}) || len(rep.Deleted) != 0 {
		t.Errorf("report = %+v", rep)
	}
	if _, err := s.Get("busybox"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(busybox) after rmi -f = %v", err)
	}
	got, err := s.Get(string(img.ID))
	if err != nil || got.Ref != "" || !pathExists(filepath.Join(got.Layers[0], "etc/hostname")) {
		t.Fatalf("the image a container uses is gone: %+v, %v", got, err)
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("List shows a dangling image: %+v", list)
	}

	// Prune keeps it while it is in use, even with every file old.
	pruneLater(s, 2*time.Hour)
	rep, err = s.Prune(used)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Deleted) != 0 {
		t.Errorf("Prune deleted %v of an image in use", rep.Deleted)
	}
	// Once the container is gone, prune takes it.
	rep, err = s.Prune(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Deleted) != 4 || rep.FreedBytes <= 0 {
		t.Errorf("Prune after the container went: %+v", rep)
	}
	if _, err := s.Get(string(img.ID)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(ID) after prune = %v", err)
	}
}

func TestRemoveByIDWithSeveralTags(t *testing.T) {
	s := openStore(t)
	img, err := s.Import(bytes.NewReader(rootfsTar(t)), "x:1", ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("y:2", ocispec.Descriptor{Digest: img.Manifest}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(string(img.ID), false, nil); err == nil || !strings.Contains(err.Error(), "x:1, y:2") {
		t.Errorf("Remove(ID) of an image with two tags = %v, want a conflict naming both", err)
	}
	rep, err := s.Remove(string(img.ID), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Untagged, []string{"x:1", "y:2"}) || len(rep.Deleted) != 4 {
		t.Errorf("report = %+v", rep)
	}
}

// TestTagMoveLeavesDangling: moving a tag keeps the old image (docker's
// <none>:<none>) until Prune, so a container of the old image keeps its
// layers.
func TestTagMoveLeavesDangling(t *testing.T) {
	s := openStore(t)
	old, err := s.Import(bytes.NewReader(dataTar(t, "v1")), "app", ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(bytes.NewReader(dataTar(t, "v2")), "app", ocispec.ImageConfig{}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(string(old.ID)); err != nil || got.Ref != "" {
		t.Fatalf("old image after the tag moved: %+v, %v", got, err)
	}
	pruneLater(s, time.Hour)
	if _, err := s.Prune(inUseOf(old.ID)); err != nil {
		t.Fatal(err)
	}
	if !pathExists(old.Layers[0]) {
		t.Errorf("layer of the old image, in use, pruned")
	}
	rep, err := s.Prune(nil)
	if err != nil {
		t.Fatal(err)
	}
	if pathExists(old.Layers[0]) || len(rep.Deleted) != 4 {
		t.Errorf("old image not pruned: %+v", rep)
	}
	// Tagging a dangling image again makes it a normal image.
	img, _ := s.Import(bytes.NewReader(dataTar(t, "v3")), "b", ocispec.ImageConfig{})
	if err := s.Untag("b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("c", ocispec.Descriptor{Digest: img.Manifest}); err != nil {
		t.Fatal(err)
	}
	idx, _ := s.readIndex()
	for _, d := range idx.Manifests {
		if d.Digest == img.Manifest && refName(d) == "" {
			t.Errorf("dangling entry kept next to the new tag")
		}
	}
}

func TestPrune(t *testing.T) {
	s := openStore(t)
	keep, err := s.Import(bytes.NewReader(rootfsTar(t)), "keep", ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	// Orphans: a blob, a layer blob with its unpacked dir, leftovers of a
	// crashed blob writer and a crashed unpack.
	orphan, err := s.PutBlob(strings.NewReader("orphan"), "")
	if err != nil {
		t.Fatal(err)
	}
	layerTar := dataTar(t, "orphan layer")
	orphanLayer, err := s.PutBlob(bytes.NewReader(layerTar), "")
	if err != nil {
		t.Fatal(err)
	}
	orphanDir, err := s.UnpackLayer(orphanLayer.Digest, ocispec.MediaTypeImageLayer, orphanLayer.Digest)
	if err != nil {
		t.Fatal(err)
	}
	tmpFile := filepath.Join(s.imagesDir(), ".tmp-blob-crashed")
	if err := os.WriteFile(tmpFile, []byte("half a blob"), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpDir := filepath.Join(s.layersDir(), ".tmp-crashed")
	if err := os.MkdirAll(filepath.Join(tmpDir, "usr"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A file Prune does not know stays.
	stranger := filepath.Join(s.layersDir(), "not-a-layer")
	if err := os.WriteFile(stranger, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	// Everything is new: the grace period protects it.
	rep, err := s.Prune(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Deleted) != 0 || rep.FreedBytes != 0 {
		t.Errorf("Prune deleted new files: %+v", rep)
	}

	// Half an hour later: the orphans go, the temporary files are not old
	// enough yet.
	pruneLater(s, 30*time.Minute)
	rep, err = s.Prune(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []digest.Digest{orphan.Digest, orphanLayer.Digest, orphanLayer.Digest} // 2 blobs, then the layer dir's diff ID
	slices.Sort(rep.Deleted[:2])
	slices.Sort(want[:2])
	if !slices.Equal(rep.Deleted, want) {
		t.Errorf("Deleted = %v, want %v", rep.Deleted, want)
	}
	if rep.FreedBytes < int64(len("orphan")+len(layerTar)) {
		t.Errorf("FreedBytes = %d", rep.FreedBytes)
	}
	if pathExists(s.BlobPath(orphan.Digest)) || pathExists(s.BlobPath(orphanLayer.Digest)) || pathExists(orphanDir) {
		t.Errorf("orphans still on disk")
	}
	if !pathExists(tmpFile) || !pathExists(tmpDir) {
		t.Errorf("temporary files younger than an hour deleted")
	}

	// Two hours later the temporary files go too.
	pruneLater(s, 2*time.Hour)
	rep, err = s.Prune(nil)
	if err != nil {
		t.Fatal(err)
	}
	if pathExists(tmpFile) || pathExists(tmpDir) || rep.FreedBytes < int64(len("half a blob")) {
		t.Errorf("old temporary files kept (report %+v)", rep)
	}
	assertNoTemp(t, s)
	if !pathExists(stranger) {
		t.Errorf("Prune deleted a file it does not know")
	}

	// The tagged image is intact.
	for _, b := range imageBlobs(t, s, keep) {
		if !pathExists(s.BlobPath(b)) {
			t.Errorf("blob %s of a tagged image pruned", b)
		}
	}
	if got, err := s.Get("keep"); err != nil || !pathExists(filepath.Join(got.Layers[0], "bin/hello")) {
		t.Errorf("tagged image broken by prune: %v", err)
	}
}

// TestPruneRefusesUnreadableImage: an image whose manifest is gone cannot
// say what it needs; Prune deletes nothing rather than guess.
func TestPruneRefusesUnreadableImage(t *testing.T) {
	s := openStore(t)
	img, err := s.Import(bytes.NewReader(rootfsTar(t)), "broken", ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBlob(strings.NewReader("orphan"), ""); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(s.BlobPath(img.Manifest)); err != nil {
		t.Fatal(err)
	}
	pruneLater(s, time.Hour)
	rep, err := s.Prune(nil)
	if err == nil || !strings.Contains(err.Error(), "broken:latest") || len(rep.Deleted) != 0 {
		t.Fatalf("Prune with a broken image = %+v, %v", rep, err)
	}
	// rmi of the broken image works, and then prune cleans up.
	if _, err := s.Remove("broken", false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(nil); err != nil {
		t.Fatal(err)
	}
	if names := readDirNames(t, filepath.Join(s.Root, "images/blobs/sha256")); len(names) != 0 {
		t.Errorf("blobs left: %v", names)
	}
}

// TestTagChecksBlobs: a manifest whose layer blob is missing cannot be
// tagged (what a writer sees if GC took a blob it was about to tag).
func TestTagChecksBlobs(t *testing.T) {
	s := openStore(t)
	img, err := s.Import(bytes.NewReader(rootfsTar(t)), "a", ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	layer := imageBlobs(t, s, img)[2]
	if err := os.Remove(s.BlobPath(layer)); err != nil {
		t.Fatal(err)
	}
	err = s.Tag("b", ocispec.Descriptor{Digest: img.Manifest})
	if err == nil || !strings.Contains(err.Error(), string(layer)) {
		t.Errorf("Tag of an incomplete image = %v", err)
	}
}

// TestConcurrentImportAndPrune runs imports while Prune runs in a loop with
// a short grace period. The imports reuse blobs and layer dirs that are
// unreferenced and older than the grace period (Prune's favourite prey),
// and write new ones; none may fail or end up broken.
func TestConcurrentImportAndPrune(t *testing.T) {
	s := openStore(t)
	s.GracePeriod = 2 * time.Second
	const n = 12
	tars := make([][]byte, n)
	for i := range tars {
		tars[i] = dataTar(t, fmt.Sprint("content ", i))
	}
	// The first half of the layers exist already, unreferenced, and will be
	// older than the grace period when the imports start; so will an
	// unrelated orphan, which Prune must take meanwhile.
	orphan, err := s.PutBlob(strings.NewReader("orphan"), "")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n/2; i++ {
		desc, diffID, err := s.putLayerFromTar(bytes.NewReader(tars[i]))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UnpackLayer(desc.Digest, desc.MediaType, diffID); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(s.GracePeriod + 100*time.Millisecond)

	var wg sync.WaitGroup
	done := make(chan struct{})
	var pruneErr error
	prunes := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := s.Prune(nil); err != nil {
				pruneErr = err
				return
			}
			prunes++
			time.Sleep(5 * time.Millisecond)
		}
	}()
	imgs := make([]*Image, n)
	errs := make([]error, n)
	var iw sync.WaitGroup
	for w := 0; w < 2; w++ {
		iw.Add(1)
		go func() {
			defer iw.Done()
			for i := w; i < n; i += 2 {
				imgs[i], errs[i] = s.Import(bytes.NewReader(tars[i]), fmt.Sprint("img", i), ocispec.ImageConfig{})
			}
		}()
	}
	iw.Wait()
	close(done)
	wg.Wait()
	if pruneErr != nil {
		t.Fatalf("prune: %v", pruneErr)
	}
	if prunes == 0 {
		t.Fatalf("Prune never ran")
	}
	if pathExists(s.BlobPath(orphan.Digest)) {
		t.Errorf("Prune did not delete an old orphan during the imports")
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("import %d failed while pruning: %v", i, err)
			continue
		}
		got, err := s.Get(fmt.Sprint("img", i))
		if err != nil {
			t.Errorf("image %d broken: %v", i, err)
			continue
		}
		for _, b := range imageBlobs(t, s, got) {
			if !pathExists(s.BlobPath(b)) {
				t.Errorf("image %d: blob %s missing", i, b)
			}
		}
		data, err := os.ReadFile(filepath.Join(got.Layers[0], "data/f"))
		if err != nil || string(data) != fmt.Sprint("content ", i) {
			t.Errorf("image %d: data/f = %q, %v", i, data, err)
		}
	}
	// A final prune with everything old keeps exactly the tagged images.
	pruneLater(s, time.Hour)
	if _, err := s.Prune(nil); err != nil {
		t.Fatal(err)
	}
	if got := len(readDirNames(t, s.layersDir())); got != n {
		t.Errorf("%d layer dirs after the final prune, want %d", got, n)
	}
	if got := len(readDirNames(t, filepath.Join(s.Root, "images/blobs/sha256"))); got != 3*n {
		t.Errorf("%d blobs after the final prune, want %d", got, 3*n)
	}
	assertNoTemp(t, s)
}

func TestInspect(t *testing.T) {
	s := openStore(t)
	cfg := ocispec.ImageConfig{Cmd: []string{"/bin/hello"}, Env: []string{"A=1"}}
	img, err := s.Import(bytes.NewReader(rootfsTar(t)), "hello:1", cfg)
	if err != nil {
		t.Fatal(err)
	}
	desc := ocispec.Descriptor{Digest: img.Manifest, Annotations: map[string]string{AnnotationRepoDigest: string(digest.FromString("index"))}}
	if err := s.Tag("example.com/team/hello:2", desc); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("hello@"+string(img.Manifest), ocispec.Descriptor{Digest: img.Manifest}); err != nil {
		t.Fatal(err)
	}
	info, err := s.Inspect(img.ID.Encoded()[:8])
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != string(img.ID) || info.Os != "linux" || info.Architecture == "" || info.Created == "" {
		t.Errorf("info = %+v", info)
	}
	if want := []string{"example.com/team/hello:2", "hello:1"}; !slices.Equal(info.RepoTags, want) {
		t.Errorf("RepoTags = %v, want %v", info.RepoTags, want)
	}
	wantDigests := []string{"example.com/team/hello@" + string(digest.FromString("index")), "hello@" + string(img.Manifest)}
	if !slices.Equal(info.RepoDigests, wantDigests) {
		t.Errorf("RepoDigests = %v, want %v", info.RepoDigests, wantDigests)
	}
	if info.RootFS.Type != "layers" || !slices.Equal(info.RootFS.Layers, img.Config.RootFS.DiffIDs) {
		t.Errorf("RootFS = %+v", info.RootFS)
	}
	if !slices.Equal(info.Config.Cmd, cfg.Cmd) || info.Size != img.Size || info.Descriptor.Digest != img.Manifest {
		t.Errorf("Config = %+v, Size = %d, Descriptor = %+v", info.Config, info.Size, info.Descriptor)
	}
	if _, err := s.Inspect("nothere"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Inspect(nothere) = %v", err)
	}
}
