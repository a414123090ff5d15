package image

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// The tests run go-containerregistry's in-memory registry on a loopback
// port (httptest), push images they build themselves, and pull them.

// pullReg is a test registry. hook, if set when it is created, sees every
// request first and decides whether (and how) the registry answers it.
type pullReg struct {
	srv      *httptest.Server
	host     string       // 127.0.0.1:port
	blobGets atomic.Int64 // GET requests for blobs
}

type pullHook func(w http.ResponseWriter, r *http.Request, next http.Handler)

func newPullReg(t *testing.T, hook pullHook) *pullReg {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	pr := &pullReg{}
	pr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			pr.blobGets.Add(1)
		}
		if hook != nil {
			hook(w, r, reg)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(pr.srv.Close)
	pr.host = strings.TrimPrefix(pr.srv.URL, "http://")
	return pr
}

// push uploads img as repo:tag and returns the full reference.
func (pr *pullReg) push(t *testing.T, repoTag string, img v1.Image, opts ...remote.Option) string {
	t.Helper()
	ref, err := name.ParseReference(pr.host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref.String()
}

func (pr *pullReg) pushIndex(t *testing.T, repoTag string, idx v1.ImageIndex) string {
	t.Helper()
	ref, err := name.ParseReference(pr.host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref.String()
}

// gzipLayer is a gzip-compressed layer (Docker media type) of a tar.
func gzipLayer(t *testing.T, tarData []byte, opts ...tarball.LayerOption) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarData)), nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// pullTestImage builds an image for linux/arch from layers, with
// Cmd ["/bin/hello"].
func pullTestImage(t *testing.T, arch string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Cmd = []string{"/bin/hello"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// helloImage is the main test image (Docker schema 2, gzip layers): a
// bottom layer with /bin/hello and /etc/conf/old, and a top layer that
// adds /etc/conf/new and, as root, deletes /bin/hello with a whiteout and
// makes /etc/conf opaque. (Whiteouts need mknod and trusted.* xattrs, so
// without root the top layer cannot carry them.)
func helloImage(t *testing.T) v1.Image {
	t.Helper()
	bottom := buildTar(t,
		dir("bin/", 0o755),
		file("bin/hello", "#!/bin/sh\necho hello\n", 0o755),
		dir("etc/", 0o755),
		dir("etc/conf/", 0o755),
		file("etc/conf/old", "old\n", 0o644),
	)
	top := []entry{dir("etc/", 0o755), dir("etc/conf/", 0o755), file("etc/conf/new", "new\n", 0o644)}
	if os.Geteuid() == 0 {
		top = append(top,
			file("bin/.wh.hello", "", 0o644),
			file("etc/conf/.wh..wh..opq", "", 0o644),
		)
	}
	return pullTestImage(t, runtime.GOARCH, gzipLayer(t, bottom), gzipLayer(t, buildTar(t, top...)))
}

// pullKeychain is a keychain with one user for every registry.
type pullKeychain struct{ user, pass string }

func (k pullKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return authn.FromConfig(authn.AuthConfig{Username: k.user, Password: k.pass}), nil
}

// anonymous is a keychain without credentials, so that the tests never
// read the Docker config of the machine they run on.
var anonymous = authn.NewMultiKeychain()

func mustDigest(t *testing.T, f func() (v1.Hash, error)) digest.Digest {
	t.Helper()
	h, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return digest.Digest(h.String())
}

func layerDigests(t *testing.T, img v1.Image) (blobs, diffIDs []digest.Digest, size int64) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		blobs = append(blobs, mustDigest(t, l.Digest))
		diffIDs = append(diffIDs, mustDigest(t, l.DiffID))
		n, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		size += n
	}
	return blobs, diffIDs, size
}

func readFileString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestPullByTag(t *testing.T) {
	pr := newPullReg(t, nil)
	src := helloImage(t)
	ref := pr.push(t, "test/hello:v1", src)
	s := openStore(t)

	var out bytes.Buffer
	var stats PullStats
	img, err := s.Pull(t.Context(), ref, PullOptions{Progress: &out, Stats: &stats, Keychain: anonymous})
	if err != nil {
		t.Fatal(err)
	}
	blobs, diffIDs, size := layerDigests(t, src)
	if img.Ref != ref {
		t.Errorf("Ref = %q, want %q", img.Ref, ref)
	}
	if want := mustDigest(t, src.Digest); img.Manifest != want || stats.Manifest != want {
		t.Errorf("Manifest = %s (stats %s), want %s", img.Manifest, stats.Manifest, want)
	}
	if want := mustDigest(t, src.ConfigName); img.ID != want {
		t.Errorf("ID = %s, want %s", img.ID, want)
	}
	if len(img.Layers) != 2 || img.Layers[0] != s.layerDir(diffIDs[0]) || img.Layers[1] != s.layerDir(diffIDs[1]) {
		t.Fatalf("Layers = %v, want the dirs of diff IDs %v", img.Layers, diffIDs)
	}
	if img.Size != size || stats.LayerBytes != size || stats.LayersFetched != 2 || stats.LayersCached != 0 {
		t.Errorf("Size %d, stats %+v; want %d layer bytes fetched in 2 layers", img.Size, stats, size)
	}
	if stats.Registry != pr.host {
		t.Errorf("stats.Registry = %q, want %q", stats.Registry, pr.host)
	}
	if got := readFileString(t, filepath.Join(img.Layers[0], "bin/hello")); got != "#!/bin/sh\necho hello\n" {
		t.Errorf("bin/hello = %q", got)
	}
	if got := readFileString(t, filepath.Join(img.Layers[1], "etc/conf/new")); got != "new\n" {
		t.Errorf("etc/conf/new = %q", got)
	}
	if os.Geteuid() == 0 {
		// The whiteout became an overlayfs whiteout, the opaque marker
		// the trusted.overlay.opaque xattr.
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(img.Layers[1], "bin/hello"), &st); err != nil {
			t.Error(err)
		} else if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("bin/hello in the top layer: mode %o rdev %d, want a 0/0 character device", st.Mode, st.Rdev)
		}
		buf := make([]byte, 8)
		n, err := unix.Lgetxattr(filepath.Join(img.Layers[1], "etc/conf"), "trusted.overlay.opaque", buf)
		if err != nil || string(buf[:n]) != "y" {
			t.Errorf("etc/conf: trusted.overlay.opaque = %q, %v", buf[:n], err)
		}
	} else {
		t.Log("not root: whiteout checks skipped")
	}

	// The store serves the pulled image like an imported one.
	got, err := s.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != img.ID || len(got.Config.Config.Cmd) != 1 || got.Config.Config.Cmd[0] != "/bin/hello" {
		t.Errorf("Get = %+v", got)
	}
	list, err := s.List()
	if err != nil || len(list) != 1 || list[0].Ref != ref {
		t.Errorf("List = %+v, %v", list, err)
	}
	// Manifest and config are stored byte for byte, under their digests.
	for _, d := range append([]digest.Digest{img.Manifest, img.ID}, blobs...) {
		if _, err := s.readBlob(d); err != nil {
			t.Errorf("blob %s: %v", d, err)
		}
	}

	// Plain (non-terminal) progress: one line per finished layer.
	for _, b := range blobs {
		line := fmt.Sprintf("%s: Pull complete (", b.Encoded()[:12])
		if !strings.Contains(out.String(), line) {
			t.Errorf("progress lacks %q:\n%s", line, out.String())
		}
	}
	for _, want := range []string{"v1: Pulling from test/hello", "Digest: " + string(img.Manifest), "Status: Downloaded newer image"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Errorf("plain progress has escape sequences:\n%q", out.String())
	}
	assertNoTemp(t, s)
}

func TestPullTwiceTransfersNoLayerBytes(t *testing.T) {
	pr := newPullReg(t, nil)
	ref := pr.push(t, "test/hello:v1", helloImage(t))
	s := openStore(t)
	var first PullStats
	if _, err := s.Pull(t.Context(), ref, PullOptions{Stats: &first, Keychain: anonymous}); err != nil {
		t.Fatal(err)
	}
	if first.LayerBytes == 0 {
		t.Fatalf("first pull transferred no layer bytes: %+v", first)
	}
	blobGets := pr.blobGets.Load()

	var out bytes.Buffer
	var second PullStats
	img, err := s.Pull(t.Context(), ref, PullOptions{Stats: &second, Progress: &out, Keychain: anonymous})
	if err != nil {
		t.Fatal(err)
	}
	if second.LayerBytes != 0 || second.LayersFetched != 0 || second.LayersCached != 2 {
		t.Errorf("second pull: %+v; want 0 layer bytes, 2 cached layers", second)
	}
	// Only the manifest came over the wire.
	if n := pr.blobGets.Load() - blobGets; n != 0 {
		t.Errorf("second pull fetched %d blobs from the registry", n)
	}
	if second.Bytes >= first.Bytes || second.Bytes == 0 {
		t.Errorf("second pull transferred %d bytes (first %d); want just the manifest", second.Bytes, first.Bytes)
	}
	for _, want := range []string{"Already exists", "Status: Image is up to date"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := s.Get(img.Ref); err != nil {
		t.Error(err)
	}
}

// multiPlatform pushes an index with a linux/amd64 and a linux/arm64 image
// (OCI media types, one uncompressed layer each holding /arch) and returns
// its reference and digest.
func multiPlatform(t *testing.T, pr *pullReg) (string, digest.Digest) {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		layer := static.NewLayer(buildTar(t, file("arch", arch+"\n", 0o644)), types.OCIUncompressedLayer)
		img := pullTestImage(t, arch, layer)
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		p := &v1.Platform{OS: "linux", Architecture: arch}
		if arch == "arm64" {
			p.Variant = "v8"
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	// An attestation entry, as BuildKit adds: never chosen, never listed.
	att := mutate.MediaType(pullTestImage(t, "", static.NewLayer([]byte("{}"), "application/vnd.in-toto+json")), types.OCIManifestSchema1)
	adds = append(adds, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}})
	idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), types.OCIImageIndex)
	ref := pr.pushIndex(t, "test/multi:latest", idx)
	return ref, mustDigest(t, idx.Digest)
}

func TestPullIndexPlatforms(t *testing.T) {
	pr := newPullReg(t, nil)
	ref, idxDigest := multiPlatform(t, pr)
	s := openStore(t)

	check := func(platform, wantArch string) {
		t.Helper()
		var stats PullStats
		img, err := s.Pull(t.Context(), ref, PullOptions{Platform: platform, Stats: &stats, Keychain: anonymous})
		if err != nil {
			t.Fatalf("platform %q: %v", platform, err)
		}
		if img.Config.Architecture != wantArch || img.Config.OS != "linux" {
			t.Errorf("platform %q: got %s/%s, want linux/%s", platform, img.Config.OS, img.Config.Architecture, wantArch)
		}
		if got := readFileString(t, filepath.Join(img.Layers[0], "arch")); got != wantArch+"\n" {
			t.Errorf("platform %q: /arch = %q", platform, got)
		}
		if stats.Index != idxDigest {
			t.Errorf("stats.Index = %s, want %s", stats.Index, idxDigest)
		}
		if got, err := s.Get(ref); err != nil || got.Config.Architecture != wantArch {
			t.Errorf("Get after platform %q: %v, %v", platform, got, err)
		}
	}
	switch runtime.GOARCH {
	case "amd64", "arm64":
		check("", runtime.GOARCH) // the host's
	default:
		t.Logf("host is %s: default platform not checked", runtime.GOARCH)
	}
	check("linux/arm64", "arm64")
	check("linux/amd64", "amd64")
	check("linux/arm64/v8", "arm64")
	check("linux/aarch64", "arm64")

	before, _ := s.List()
	_, err := s.Pull(t.Context(), ref, PullOptions{Platform: "linux/s390x", Keychain: anonymous})
	if err == nil {
		t.Fatal("pull for linux/s390x succeeded")
	}
	if !errors.Is(err, ErrPlatform) {
		t.Errorf("error does not wrap ErrPlatform: %v", err)
	}
	for _, want := range []string{"linux/s390x", "linux/amd64", "linux/arm64/v8", ref, pr.host} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "unknown") {
		t.Errorf("error lists the attestation entry: %v", err)
	}
	after, _ := s.List()
	if len(after) != len(before) || after[0].ID != before[0].ID {
		t.Errorf("failed pull changed the tags: %+v -> %+v", before, after)
	}

	if _, err := s.Pull(t.Context(), ref, PullOptions{Platform: "linux", Keychain: anonymous}); err == nil || !strings.Contains(err.Error(), "invalid platform") {
		t.Errorf("platform \"linux\": %v", err)
	}
}

func TestPullByDigest(t *testing.T) {
	pr := newPullReg(t, nil)
	src := helloImage(t)
	pr.push(t, "test/hello:v1", src)
	idxRef, idxDigest := multiPlatform(t, pr)
	s := openStore(t)

	// A manifest digest.
	ref := pr.host + "/test/hello@" + string(mustDigest(t, src.Digest))
	img, err := s.Pull(t.Context(), ref, PullOptions{Keychain: anonymous})
	if err != nil {
		t.Fatal(err)
	}
	if img.Ref != ref || img.Manifest != mustDigest(t, src.Digest) {
		t.Errorf("Ref %q Manifest %s; want %q", img.Ref, img.Manifest, ref)
	}
	if _, err := s.Get(ref); err != nil {
		t.Error(err)
	}

	// An index digest, with a platform: the tag is the index's digest
	// reference, the image the arm64 one.
	byDigest := strings.TrimSuffix(idxRef, ":latest") + "@" + string(idxDigest)
	img, err = s.Pull(t.Context(), byDigest, PullOptions{Platform: "linux/arm64", Keychain: anonymous})
	if err != nil {
		t.Fatal(err)
	}
	if img.Ref != byDigest || img.Config.Architecture != "arm64" {
		t.Errorf("Ref %q arch %s; want %q arm64", img.Ref, img.Config.Architecture, byDigest)
	}

	// A digest that is not there.
	missing := pr.host + "/test/hello@" + string(digest.FromString("nothing"))
	if _, err := s.Pull(t.Context(), missing, PullOptions{Keychain: anonymous}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing digest: %v", err)
	}
}

func TestPullTamperedBlob(t *testing.T) {
	src := helloImage(t)
	blobs, diffIDs, _ := layerDigests(t, src)
	bad := blobs[1]
	// Flip one byte in the middle of the top layer, as a broken proxy or a
	// malicious mirror might.
	pr := newPullReg(t, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+string(bad)) {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		body[len(body)/2] ^= 0xff
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
	ref := pr.push(t, "test/hello:v1", src)
	s := openStore(t)

	_, err := s.Pull(t.Context(), ref, PullOptions{Keychain: anonymous})
	if err == nil {
		t.Fatal("pull of a tampered layer succeeded")
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), string(bad)) || !strings.Contains(err.Error(), ref) {
		t.Errorf("error does not name the layer digest %s and the image: %v", bad, err)
	}
	if !errors.Is(err, ErrRegistry) {
		t.Errorf("error does not wrap ErrRegistry: %v", err)
	}
	if list, err := s.List(); err != nil || len(list) != 0 {
		t.Errorf("List after a failed pull = %+v, %v", list, err)
	}
	if _, err := os.Stat(s.BlobPath(bad)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tampered blob kept: %v", err)
	}
	if _, err := os.Stat(s.layerDir(diffIDs[1])); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("layer of the tampered blob unpacked: %v", err)
	}
	// No manifest or config blob either: they are stored last.
	if _, err := os.Stat(s.BlobPath(mustDigest(t, src.Digest))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("manifest stored after a failed pull: %v", err)
	}
	assertNoTemp(t, s)
}

func TestPullUnknownAndUnreachable(t *testing.T) {
	pr := newPullReg(t, nil)
	pr.push(t, "test/hello:v1", helloImage(t))
	s := openStore(t)

	for _, ref := range []string{pr.host + "/test/hello:nope", pr.host + "/test/nothere:latest"} {
		_, err := s.Pull(t.Context(), ref, PullOptions{Keychain: anonymous})
		if err == nil {
			t.Fatalf("pull %s succeeded", ref)
		}
		t.Logf("error: %v", err)
		if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrRegistry) {
			t.Errorf("%s: error does not wrap ErrNotFound and ErrRegistry: %v", ref, err)
		}
		if !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), "registry "+pr.host) {
			t.Errorf("%s: error does not name the image and the registry: %v", ref, err)
		}
	}

	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	start := time.Now()
	ref := closed + "/test/hello:v1"
	_, err = s.Pull(t.Context(), ref, PullOptions{Keychain: anonymous})
	if err == nil {
		t.Fatal("pull from a closed port succeeded")
	}
	t.Logf("error after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if !errors.Is(err, ErrRegistry) || !strings.Contains(err.Error(), "connection refused") ||
		!strings.Contains(err.Error(), "registry "+closed) || !strings.Contains(err.Error(), ref) {
		t.Errorf("unclear error: %v", err)
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("List = %+v", list)
	}
	assertNoTemp(t, s)
}

func TestPullAuth(t *testing.T) {
	const wantAuth = "Basic dXNlcjpwYXNz" // user:pass
	pr := newPullReg(t, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Header.Get("Authorization") != wantAuth {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
	ref := pr.push(t, "private/hello:v1", helloImage(t), remote.WithAuth(&authn.Basic{Username: "user", Password: "pass"}))
	s := openStore(t)

	_, err := s.Pull(t.Context(), ref, PullOptions{Keychain: anonymous})
	if err == nil {
		t.Fatal("pull without credentials succeeded")
	}
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrUnauthorized) || !errors.Is(err, ErrRegistry) {
		t.Errorf("error does not wrap ErrUnauthorized: %v", err)
	}
	if !strings.Contains(err.Error(), "minirun login "+pr.host) || !strings.Contains(err.Error(), ref) {
		t.Errorf("error does not say how to log in: %v", err)
	}

	wrong := authn.NewMultiKeychain(pullKeychain{"user", "wrong"})
	if _, err := s.Pull(t.Context(), ref, PullOptions{Keychain: wrong}); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("wrong password: %v", err)
	}

	right := authn.NewMultiKeychain(pullKeychain{"user", "pass"})
	if _, err := s.Pull(t.Context(), ref, PullOptions{Keychain: right}); err != nil {
		t.Fatalf("pull with credentials: %v", err)
	}

	// The default keychain reads $DOCKER_CONFIG/config.json, where
	// `docker login` and `minirun login` store credentials.
	cfgDir := t.TempDir()
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, pr.host, base64.StdEncoding.EncodeToString([]byte("user:pass")))
	if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", cfgDir)
	s2 := openStore(t)
	if _, err := s2.Pull(t.Context(), ref, PullOptions{}); err != nil {
		t.Fatalf("pull with the Docker config file: %v", err)
	}
}

func TestPullConcurrent(t *testing.T) {
	pr := newPullReg(t, nil)
	src := helloImage(t)
	ref := pr.push(t, "test/hello:v1", src)
	s := openStore(t)
	// A second Store on the same root stands in for a second process.
	s2, err := Open(s.Root)
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	imgs := make([]*Image, 2)
	errs := make([]error, 2)
	for i, st := range []*Store{s, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			imgs[i], errs[i] = st.Pull(t.Context(), ref, PullOptions{Keychain: anonymous})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("pull %d: %v", i, err)
		}
	}
	if imgs[0].ID != imgs[1].ID || imgs[0].Layers[1] != imgs[1].Layers[1] {
		t.Errorf("the two pulls disagree: %+v / %+v", imgs[0], imgs[1])
	}
	// One file per blob: 2 layers, the config and the manifest.
	blobs, diffIDs, _ := layerDigests(t, src)
	want := map[string]bool{
		mustDigest(t, src.Digest).Encoded():     true,
		mustDigest(t, src.ConfigName).Encoded(): true,
		blobs[0].Encoded():                      true,
		blobs[1].Encoded():                      true,
	}
	got := readDirNames(t, filepath.Join(s.Root, "images/blobs/sha256"))
	if len(got) != len(want) {
		t.Errorf("blobs = %v, want the %d of the image", got, len(want))
	}
	for _, n := range got {
		if !want[n] {
			t.Errorf("unexpected blob %s", n)
		}
	}
	if got := readDirNames(t, s.layersDir()); len(got) != 2 || got[0] == got[1] {
		t.Errorf("layer dirs = %v, want %v", got, diffIDs)
	}
	if list, err := s.List(); err != nil || len(list) != 1 {
		t.Errorf("List = %+v, %v", list, err)
	}
	assertNoTemp(t, s)
}

// TestPullZstd: a zstd layer is either pulled (if UnpackLayer supports
// zstd) or refused before any layer is downloaded, with an error naming
// the layer and "zstd".
func TestPullZstd(t *testing.T) {
	tarData := buildTar(t, file("zstd", "yes\n", 0o644))
	layer := gzipLayer(t, tarData, tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
	src := mutate.MediaType(pullTestImage(t, runtime.GOARCH, layer), types.OCIManifestSchema1)
	blobs, _, _ := layerDigests(t, src)
	pr := newPullReg(t, nil)
	ref := pr.push(t, "test/zstd:v1", src)
	s := openStore(t)
	before := pr.blobGets.Load()

	img, err := s.Pull(t.Context(), ref, PullOptions{Keychain: anonymous})
	if supportedLayerType(ocispec.MediaTypeImageLayerZstd) {
		if err != nil {
			t.Fatalf("zstd pull: %v", err)
		}
		if got := readFileString(t, filepath.Join(img.Layers[0], "zstd")); got != "yes\n" {
			t.Errorf("zstd = %q", got)
		}
		return
	}
	if err == nil {
		t.Fatal("zstd layer pulled although UnpackLayer does not support zstd")
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), "zstd") || !strings.Contains(err.Error(), string(blobs[0])) {
		t.Errorf("error does not name zstd and the layer: %v", err)
	}
	if n := pr.blobGets.Load() - before; n != 0 {
		t.Errorf("%d blob downloads, want none", n)
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("List = %+v", list)
	}
}

// TestPullRefusals: images the store cannot use are refused before any
// layer is downloaded, and nothing is tagged.
func TestPullRefusals(t *testing.T) {
	pr := newPullReg(t, nil)
	bz := static.NewLayer(buildTar(t, file("x", "x", 0o644)), "application/vnd.oci.image.layer.v1.tar+bzip2")
	bzRef := pr.push(t, "test/bzip2:v1", mutate.MediaType(pullTestImage(t, runtime.GOARCH, bz), types.OCIManifestSchema1))
	helloRef := pr.push(t, "test/hello:v1", helloImage(t))
	s := openStore(t)
	before := pr.blobGets.Load()

	_, err := s.Pull(t.Context(), bzRef, PullOptions{Keychain: anonymous})
	if err == nil || !strings.Contains(err.Error(), "unsupported media type") || !strings.Contains(err.Error(), mustDigest(t, bz.Digest).String()) {
		t.Errorf("bzip2 layer: %v", err)
	}
	if n := pr.blobGets.Load() - before; n != 0 {
		t.Errorf("%d blob downloads, want none", n)
	}

	// A plain manifest (no index) for another platform than the one asked
	// for explicitly.
	other := "linux/s390x"
	if runtime.GOARCH == "s390x" {
		other = "linux/amd64"
	}
	_, err = s.Pull(t.Context(), helloRef, PullOptions{Platform: other, Keychain: anonymous})
	if !errors.Is(err, ErrPlatform) || !strings.Contains(err.Error(), other) {
		t.Errorf("platform %s: %v", other, err)
	}

	// A name Docker parses with no registry (see reference.go): refused
	// before any request, not sent to Docker Hub as "/a_b.c/x".
	_, err = s.Pull(t.Context(), "a_b.c/x", PullOptions{Keychain: anonymous})
	if err == nil || !strings.Contains(err.Error(), `no registry to pull from: "a_b.c"`) {
		t.Errorf("a_b.c/x: %v", err)
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("List = %+v", list)
	}
	assertNoTemp(t, s)
}

// TestPullMirror: docker.io images come from the mirror when one is set,
// and are tagged under their docker.io name.
func TestPullMirror(t *testing.T) {
	pr := newPullReg(t, nil)
	src := helloImage(t)
	pr.push(t, "library/hello:latest", src)
	s := openStore(t)
	for _, mirror := range []string{"http://" + pr.host, pr.host} {
		var stats PullStats
		img, err := s.Pull(t.Context(), "hello", PullOptions{Mirror: mirror, Stats: &stats, Keychain: anonymous})
		if err != nil {
			t.Fatalf("mirror %q: %v", mirror, err)
		}
		if img.Ref != "docker.io/library/hello:latest" || img.Manifest != mustDigest(t, src.Digest) {
			t.Errorf("mirror %q: Ref %q Manifest %s", mirror, img.Ref, img.Manifest)
		}
		if !strings.HasPrefix(stats.Registry, pr.host) {
			t.Errorf("mirror %q: served by %q", mirror, stats.Registry)
		}
	}
	if _, err := s.Get("hello"); err != nil {
		t.Error(err)
	}
	if _, err := s.Pull(t.Context(), "hello", PullOptions{Mirror: "ftp://x", Keychain: anonymous}); err == nil || !strings.Contains(err.Error(), "invalid mirror") {
		t.Errorf("bad mirror: %v", err)
	}
}

func TestPullTTYProgress(t *testing.T) {
	pr := newPullReg(t, nil)
	ref := pr.push(t, "test/hello:v1", helloImage(t))
	s := openStore(t)
	var buf bytes.Buffer
	if _, err := s.Pull(t.Context(), ref, PullOptions{Progress: NewProgress(&buf, true), Keychain: anonymous}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{": Pulling fs layer\n", "\x1b[2A\r\x1b[2K", ": Downloading  ", ": Pull complete\r"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal progress lacks %q:\n%q", want, out)
		}
	}
}

func TestProgress(t *testing.T) {
	clock := time.Unix(0, 0)
	var buf bytes.Buffer
	p := NewProgress(&buf, true)
	p.now = func() time.Time { return clock }
	p.printf("latest: Pulling from library/busybox")
	a := p.layer("aaaaaaaaaaaa", 2_800_000)
	b := p.layer("bbbbbbbbbbbb", 100)
	buf.Reset()
	a.add(100_000) // first draw: no speed yet
	clock = clock.Add(50 * time.Millisecond)
	a.add(100_000) // too soon: not drawn
	clock = clock.Add(950 * time.Millisecond)
	a.add(1_000_000)
	want := "\x1b[2A\r\x1b[2Kaaaaaaaaaaaa: Downloading  [=>                            ]  100.0kB/2.8MB\r\x1b[2B" +
		"\x1b[2A\r\x1b[2Kaaaaaaaaaaaa: Downloading  [============>                 ]  1.2MB/2.8MB  1.2MB/s\r\x1b[2B"
	if buf.String() != want {
		t.Errorf("terminal output\n got %q\nwant %q", buf.String(), want)
	}
	buf.Reset()
	b.exists()
	a.complete()
	want = "\x1b[1A\r\x1b[2Kbbbbbbbbbbbb: Already exists\r\x1b[1B" +
		"\x1b[2A\r\x1b[2Kaaaaaaaaaaaa: Pull complete\r\x1b[2B"
	if buf.String() != want {
		t.Errorf("terminal output\n got %q\nwant %q", buf.String(), want)
	}

	buf.Reset()
	p = NewProgress(&buf, false)
	a = p.layer("aaaaaaaaaaaa", 2_800_000)
	b = p.layer("bbbbbbbbbbbb", 100)
	a.add(2_800_000)
	a.status("Extracting")
	b.exists()
	a.complete()
	if want := "bbbbbbbbbbbb: Already exists\naaaaaaaaaaaa: Pull complete (2.8MB)\n"; buf.String() != want {
		t.Errorf("plain output %q, want %q", buf.String(), want)
	}

	// nil is silent and safe.
	var quiet *Progress
	quiet.printf("x")
	quiet.layer("x", 1).add(1)
	if progressFor(nil) != nil {
		t.Error("progressFor(nil) != nil")
	}

	for n, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1.0kB", 1_234_567: "1.2MB", 999_960: "1.0MB", 3_100_000_000: "3.1GB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParsePlatform(t *testing.T) {
	for in, want := range map[string]ocispec.Platform{
		"linux/arm64":    {OS: "linux", Architecture: "arm64"},
		"linux/arm/v7":   {OS: "linux", Architecture: "arm", Variant: "v7"},
		"Linux/x86_64":   {OS: "linux", Architecture: "amd64"},
		"":               {OS: runtime.GOOS, Architecture: runtime.GOARCH},
		"linux/aarch64/": {}, // error
	} {
		got, err := parsePlatform(in)
		if want.OS == "" {
			if err == nil {
				t.Errorf("parsePlatform(%q) = %+v, want an error", in, got)
			}
			continue
		}
		if err != nil || got.OS != want.OS || got.Architecture != want.Architecture || got.Variant != want.Variant {
			t.Errorf("parsePlatform(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	arm64 := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	arm64v8 := ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	armv6 := ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}
	armv7 := ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	for _, c := range []struct {
		want, have ocispec.Platform
		ok         bool
	}{
		{arm64, arm64v8, true},
		{arm64v8, arm64, true},
		{armv7, armv6, false},
		{ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, ocispec.Platform{OS: "linux", Architecture: "arm"}, true},
		{ocispec.Platform{OS: "linux", Architecture: "amd64"}, arm64, false},
	} {
		if got := platformMatches(c.want, c.have); got != c.ok {
			t.Errorf("platformMatches(%+v, %+v) = %v", c.want, c.have, got)
		}
	}
}

// TestCheckManifestZstd: a zstd layer of a media type UnpackLayer does not
// know gets an error that names the layer and says "zstd".
func TestCheckManifestZstd(t *testing.T) {
	j := &pullJob{name: "example.com/a/b:1", source: pullSource{display: "example.com"}}
	layer := digest.FromString("layer")
	m := &ocispec.Manifest{
		Config: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromString("config"), Size: 2},
		Layers: []ocispec.Descriptor{{MediaType: "application/vnd.example.layer.tar+zstd-v9", Digest: layer, Size: 10}},
	}
	err := j.checkManifest(m)
	if err == nil || !strings.Contains(err.Error(), "zstd") || !strings.Contains(err.Error(), string(layer)) || !strings.Contains(err.Error(), j.name) {
		t.Errorf("checkManifest = %v", err)
	}
}
