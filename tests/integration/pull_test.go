package integration

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// A registry on loopback, holding the busybox rootfs as a one-layer image.
func testRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	pushImage(t, host+"/test/busybox:1", func(c *v1.Config) {
		c.Cmd = []string{"sh"}
		c.Env = []string{"FROM_REGISTRY=yes"}
	})
	return host
}

// pushImage writes ref (HOST/REPO:TAG) to the test registry: an amd64
// linux image of the busybox rootfs with layers on top, its config as
// edit (if any) changes it.
func pushImage(t *testing.T, ref string, edit func(*v1.Config), layers ...v1.Layer) {
	t.Helper()
	base, err := tarball.LayerFromFile(os.Getenv("MINIRUN_TEST_BUSYBOX_TAR_RESOLVED"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, append([]v1.Layer{base}, layers...)...)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = "amd64", "linux"
	if edit != nil {
		edit(&cfg.Config)
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref, name.Insecure)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
}

func TestPullAndRun(t *testing.T) {
	host := testRegistry(t)
	r := run(t, 0, "pull", host+"/test/busybox:1")
	if !strings.Contains(r.stdout, "Pull complete") {
		t.Errorf("pull output: %q", r.stdout)
	}
	r = run(t, 0, "images")
	if !strings.Contains(r.stdout, host+"/test/busybox") {
		t.Errorf("images: %q", r.stdout)
	}
	r = run(t, 0, "run", "--rm", host+"/test/busybox:1", "sh", "-c", "echo $FROM_REGISTRY")
	if r.stdout != "yes\n" {
		t.Errorf("run of the pulled image: %q", r.stdout)
	}
	// Docker's default (--pull missing) pulls what the store lacks.
	r = run(t, 0, "run", "--rm", host+"/test/busybox:1", "true")
	r = minirun(t, "", "run", "--rm", host+"/test/busybox:nope", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "not found locally and the pull failed") || !strings.Contains(r.stderr, host) {
		t.Errorf("unknown tag: %d %q", r.code, r.stderr)
	}
	assertClean(t)
}

// save, rmi (refused while a container uses the image), load: a round trip
// through a docker-save archive gives back the same image.
func TestSaveRmiLoad(t *testing.T) {
	archive := t.TempDir() + "/busybox.tar"
	run(t, 0, "save", "-o", archive, "busybox:latest")
	id := strings.TrimSpace(run(t, 0, "images", "-q").stdout)
	run(t, 0, "run", "--name", "uses-busybox", "busybox", "true")
	r := minirun(t, "", "rmi", "busybox:latest")
	if r.code == 0 || !strings.Contains(r.stderr, "used by a container") {
		t.Fatalf("rmi of an image in use: %d %q", r.code, r.stderr)
	}
	run(t, 0, "rm", "uses-busybox")
	r = run(t, 0, "rmi", "busybox:latest")
	if !strings.Contains(r.stdout, "Untagged: busybox:latest") || !strings.Contains(r.stdout, "Deleted: sha256:") {
		t.Fatalf("rmi output: %q", r.stdout)
	}
	if r := run(t, 0, "images", "-q"); strings.Contains(r.stdout, id) {
		t.Fatalf("image still listed: %q", r.stdout)
	}
	r = run(t, 0, "load", "-i", archive)
	if !strings.Contains(r.stdout, "Loaded image: busybox:latest") {
		t.Fatalf("load output: %q", r.stdout)
	}
	if got := strings.TrimSpace(run(t, 0, "images", "-q").stdout); !strings.Contains(got, id) {
		t.Fatalf("image ID after load %q, want %q", got, id)
	}
	run(t, 0, "run", "--rm", "busybox", "true")
	r = run(t, 0, "image", "inspect", "busybox")
	if !strings.Contains(r.stdout, `"RepoTags": [`) || !strings.Contains(r.stdout, "busybox:latest") {
		t.Fatalf("inspect: %q", r.stdout)
	}
	assertClean(t)
}

// tarLayer builds an uncompressed layer from name -> content ("" for a
// directory).
func tarLayer(t *testing.T, files [][2]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f[0], Mode: 0o644, Size: int64(len(f[1])), Typeflag: tar.TypeReg}
		if strings.HasSuffix(f[0], "/") {
			h = &tar.Header{Name: f[0], Mode: 0o755, Typeflag: tar.TypeDir}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f[1]))
	}
	tw.Close()
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A container sees the layers merged: a whiteout deletes a lower file, an
// opaque directory hides everything below it.
func TestRunSeesMergedLayers(t *testing.T) {
	host := testRegistry(t)
	l1 := tarLayer(t, [][2]string{{"data/", ""}, {"data/a", "A"}, {"data/b", "B"}, {"opq/", ""}, {"opq/old", "old"}})
	l2 := tarLayer(t, [][2]string{{"data/.wh.a", ""}, {"data/c", "C"}, {"opq/", ""}, {"opq/.wh..wh..opq", ""}, {"opq/new", "new"}})
	pushImage(t, host+"/test/layers:1", nil, l1, l2)
	r := run(t, 0, "run", "--rm", host+"/test/layers:1", "sh", "-c", "ls /data /opq; cat /data/b /data/c /opq/new")
	want := "/data:\nb\nc\n\n/opq:\nnew\nBCnew"
	if r.stdout != want {
		t.Fatalf("merged view:\n%q\nwant\n%q", r.stdout, want)
	}
	run(t, 0, "rmi", host+"/test/layers:1")
	assertClean(t)
}

// An image's VOLUME is a directory outside the overlay, seeded from the
// image, and its STOPSIGNAL is remembered.
func TestImageVolumeSeeded(t *testing.T) {
	host := testRegistry(t)
	l1 := tarLayer(t, [][2]string{{"srv/", ""}, {"srv/data/", ""}, {"srv/data/seed", "from-image"}})
	pushImage(t, host+"/test/vol:1", func(c *v1.Config) {
		c.Volumes = map[string]struct{}{"/srv/data": {}}
		c.StopSignal = "SIGQUIT"
	}, l1)
	r := run(t, 0, "run", "--rm", host+"/test/vol:1", "sh", "-c", "cat /srv/data/seed; echo; grep ' /srv/data ' /proc/self/mountinfo | grep -c overlay; echo new > /srv/data/x && cat /srv/data/x")
	if r.stdout != "from-image\n0\nnew\n" {
		t.Fatalf("volume: %q", r.stdout)
	}
	run(t, 0, "rmi", host+"/test/vol:1")
	assertClean(t)
}

// A full disk fails the pull with the kernel's reason, and leaves no image
// and no half-written file.
func TestPullDiskFull(t *testing.T) {
	host := testRegistry(t)
	small := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small).CombinedOutput(); err != nil {
		t.Fatalf("mount a small tmpfs: %v %s", err, out)
	}
	defer exec.Command("umount", small).Run()
	cmd := exec.Command(bin, "--data-root", small, "pull", host+"/test/busybox:1")
	cmd.Env = minirunEnv()
	out, err := cmd.CombinedOutput()
	if err == nil || cmd.ProcessState.ExitCode() != 125 || !strings.Contains(string(out), "no space left on device") {
		t.Fatalf("pull onto a full disk: %v\n%s", err, out)
	}
	ls := exec.Command(bin, "--data-root", small, "images", "-q")
	ls.Env = minirunEnv()
	if b, _ := ls.Output(); len(strings.TrimSpace(string(b))) != 0 {
		t.Fatalf("an image was listed after the failed pull: %q", b)
	}
	found, _ := exec.Command("find", small, "-name", ".tmp-*").Output()
	if len(strings.TrimSpace(string(found))) != 0 {
		t.Fatalf("temporary files left: %s", found)
	}
}
