//go:build ignore

// registry.go: a registry on loopback for lab 07, and a push to it.
//
//	go build -o registry registry.go
//	./registry serve          # listens on 127.0.0.1:0, prints the port, serves until killed
//	./registry push ARCHIVE HOST:PORT/REPO:TAG   # uploads a `docker save` archive
//
// The registry is go-containerregistry's in-memory one: the OCI
// distribution API (/v2/...), blobs and manifests kept in memory. push does
// what `docker push` or `skopeo copy docker-archive:... docker://...` do:
// upload each layer blob and the config blob, then PUT the manifest.
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "serve" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
		log.Fatal(http.Serve(l, registry.New(registry.Logger(log.New(io.Discard, "", 0)))))
	}
	if len(os.Args) == 4 && os.Args[1] == "push" {
		ref, err := name.ParseReference(os.Args[3], name.Insecure)
		if err != nil {
			log.Fatal(err)
		}
		img, err := tarball.ImageFromPath(os.Args[2], nil)
		if err != nil {
			log.Fatalf("%s: %v", os.Args[2], err)
		}
		if err := remote.Write(ref, img); err != nil {
			log.Fatal(err)
		}
		d, _ := img.Digest()
		fmt.Printf("pushed %s@%s\n", ref.Context(), d)
		return
	}
	fmt.Fprintln(os.Stderr, "usage: registry serve | registry push ARCHIVE HOST:PORT/REPO:TAG")
	os.Exit(2)
}
