package image

import (
	"errors"
	"fmt"
)

// ErrNotFound is wrapped by every "no such image" error of this package.
// Test for it with errors.Is(err, image.ErrNotFound).
var ErrNotFound = errors.New("image not found")

// NormalizeRef turns a reference as a user types it into Docker's canonical
// (fully qualified) form, which is the key the store uses for tags:
//
//	busybox                  -> docker.io/library/busybox:latest
//	library/busybox          -> docker.io/library/busybox:latest
//	foo/bar:1                -> docker.io/foo/bar:1
//	localhost:5000/x         -> localhost:5000/x:latest
//	ghcr.io/a/b@sha256:<hex> -> ghcr.io/a/b@sha256:<hex>
//
// A reference with both a tag and a digest keeps only the digest, as Docker
// does: the digest already names the content exactly.
func NormalizeRef(ref string) (string, error) {
	if ref == "" {
		return "", errors.New("invalid reference: empty string")
	}
	// parseDockerRef is parseNormalizedRef + tagNameOnly, plus the
	// "tag and digest -> digest only" rule above (reference.go).
	named, err := parseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("invalid reference %q: %w", ref, err)
	}
	return named.String(), nil
}

// FamiliarRef is the short form Docker prints:
// "docker.io/library/busybox:latest" -> "busybox:latest",
// "docker.io/foo/bar:1" -> "foo/bar:1", "ghcr.io/a/b:v1" stays as it is.
// A string that is not a valid reference is returned unchanged.
func FamiliarRef(ref string) string {
	named, err := parseNormalizedRef(ref)
	if err != nil {
		return ref
	}
	return named.familiar()
}
