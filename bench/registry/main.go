//go:build ignore

// registry serves go-containerregistry's in-process registry on 127.0.0.1 and
// pushes one deterministic, generated multi-layer image to it, for
// bench/pull.sh. Built by that script with:
//
//	go build -o DIR/registry bench/registry/main.go
//
// Usage: registry [-repo bench/img:1] [-seed 1]
//
// It listens on 127.0.0.1:0, pushes the image, then prints the port (one line,
// on stdout) and keeps serving until it is killed. A summary of the image goes
// to stderr. Blobs are kept in memory.
//
// The image: 5 gzip layers (OCI media types), about 60 MB uncompressed and
// about 6,000 regular files in total, with directories, relative and absolute
// symlinks, a file whiteout and an opaque directory whiteout in the last layer.
// File names, sizes and contents come from a seeded math/rand source, so the
// same seed (and Go version, for gzip) gives the same image and digests.
// Contents are a mix of random bytes (incompressible, like binaries) and text
// made of a small random vocabulary (compressible, like sources and configs).
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	numLayers     = 5
	filesPerLayer = 1200
	dirsPerLayer  = 60
	linksPerLayer = 40
	maxFileSize   = 120 << 10 // sizes are log-uniform in [1, maxFileSize): mean ~10 KiB
)

var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

type gen struct {
	r     *rand.Rand
	words []string
	files []string // regular files made so far (all layers), for links and whiteouts
	dirs  []string // directories made so far
}

func (g *gen) name(n int) string {
	const alpha = "abcdefghijklmnopqrstuvwxyz0123456789_-"
	b := make([]byte, n)
	for i := range b {
		b[i] = alpha[g.r.Intn(len(alpha))]
	}
	return string(b)
}

func (g *gen) content(size int) []byte {
	b := make([]byte, 0, size)
	if g.r.Intn(10) < 4 { // binary-like
		b = b[:size]
		g.r.Read(b)
		return b
	}
	for len(b) < size {
		b = append(b, g.words[g.r.Intn(len(g.words))]...)
		if g.r.Intn(12) == 0 {
			b = append(b, '\n')
		} else {
			b = append(b, ' ')
		}
	}
	return b[:size]
}

type stats struct{ files, dirs, links, whiteouts, bytes int }

// layer builds one layer's uncompressed tar.
func (g *gen) layer(i int, st *stats) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := func(h *tar.Header) {
		h.ModTime, h.Uid, h.Gid, h.Format = epoch, 0, 0, tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			log.Fatal(err)
		}
	}
	top := fmt.Sprintf("usr/share/bench%d", i)
	var dirs []string
	for _, d := range []string{"usr", "usr/share", top} {
		hdr(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755})
		st.dirs++
	}
	dirs = append(dirs, top)
	for len(dirs) < dirsPerLayer {
		d := path.Join(dirs[g.r.Intn(len(dirs))], g.name(4+g.r.Intn(8)))
		hdr(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755})
		dirs = append(dirs, d)
		st.dirs++
	}
	var files []string
	for n := 0; n < filesPerLayer; n++ {
		size := int(math.Exp(g.r.Float64() * math.Log(maxFileSize)))
		p := path.Join(dirs[g.r.Intn(len(dirs))], fmt.Sprintf("%s.%d", g.name(6+g.r.Intn(10)), n))
		mode := int64(0o644)
		if g.r.Intn(8) == 0 {
			mode = 0o755
		}
		hdr(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: mode, Size: int64(size)})
		if _, err := tw.Write(g.content(size)); err != nil {
			log.Fatal(err)
		}
		files = append(files, p)
		st.files++
		st.bytes += size
	}
	for n := 0; n < linksPerLayer; n++ {
		target := files[g.r.Intn(len(files))]
		p := path.Join(dirs[g.r.Intn(len(dirs))], fmt.Sprintf("link%d-%s", n, g.name(5)))
		if n%2 == 0 {
			target = "/" + target // absolute
		} else if i > 0 {
			target = "/" + g.files[g.r.Intn(len(g.files))] // into a lower layer
		}
		hdr(&tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: target, Mode: 0o777})
		st.links++
	}
	if i == numLayers-1 {
		// A file whiteout of a file from the first layer, and an opaque
		// whiteout of a directory from the second (which gets one new file).
		victim := g.files[0]
		hdr(&tar.Header{Typeflag: tar.TypeReg, Name: path.Join(path.Dir(victim), ".wh."+path.Base(victim)), Mode: 0o644})
		opq := "usr/share/bench1"
		hdr(&tar.Header{Typeflag: tar.TypeDir, Name: opq + "/", Mode: 0o755})
		hdr(&tar.Header{Typeflag: tar.TypeReg, Name: opq + "/.wh..wh..opq", Mode: 0o644})
		data := []byte("replaced by the last layer\n")
		hdr(&tar.Header{Typeflag: tar.TypeReg, Name: opq + "/README", Mode: 0o644, Size: int64(len(data))})
		tw.Write(data)
		st.whiteouts += 2
	}
	if err := tw.Close(); err != nil {
		log.Fatal(err)
	}
	g.files = append(g.files, files...)
	g.dirs = append(g.dirs, dirs...)
	return buf.Bytes()
}

func main() {
	repo := flag.String("repo", "bench/img:1", "repository:tag to push the image as")
	seed := flag.Int64("seed", 1, "seed of the generated image")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("registry: ")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go func() { log.Fatal(srv.Serve(ln)) }()
	port := ln.Addr().(*net.TCPAddr).Port

	g := &gen{r: rand.New(rand.NewSource(*seed))}
	for i := 0; i < 256; i++ {
		g.words = append(g.words, g.name(2+g.r.Intn(9)))
	}
	var st stats
	img := empty.Image
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	var compressed int64
	for i := 0; i < numLayers; i++ {
		data := g.layer(i, &st)
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			log.Fatal(err)
		}
		sz, err := l.Size()
		if err != nil {
			log.Fatal(err)
		}
		compressed += sz
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, MediaType: types.OCILayer})
		if err != nil {
			log.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		log.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Cmd = []string{"/bin/sh"}
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		log.Fatal(err)
	}

	ref, err := name.ParseReference(fmt.Sprintf("127.0.0.1:%d/%s", port, *repo), name.Insecure)
	if err != nil {
		log.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		log.Fatal(err)
	}
	d, _ := img.Digest()
	log.Printf("pushed %s@%s: %d layers, %.1f MB uncompressed in %d files, %d dirs, %d symlinks, %d whiteouts; %.1f MB gzip",
		ref, d, numLayers, float64(st.bytes)/1e6, st.files, st.dirs, st.links, st.whiteouts, float64(compressed)/1e6)
	fmt.Println(port)
	os.Stdout.Sync()
	select {}
}
