package image

// Pulling an image from a registry (`docker pull`).
//
// A registry speaks the OCI distribution protocol (HTTP, /v2/...). The
// protocol itself, authentication included, is left to
// github.com/google/go-containerregistry; this file decides what to fetch
// and stores it in the layout described in doc.go, exactly as Import does.
//
// The pull flow, for "busybox" on a linux/amd64 host:
//
//  1. Normalise the reference: busybox -> docker.io/library/busybox:latest.
//  2. Ask the registry for the manifest of that tag. For most public images
//     the answer is not a manifest but an image index ("manifest list" in
//     Docker's words): a list of manifests, one per platform
//     (linux/amd64, linux/arm64, linux/arm/v7 ...). Pick the entry for the
//     requested platform and fetch that manifest by its digest.
//  3. The manifest names the config blob and the layer blobs, each by
//     digest and size. Fetch the config: it lists the layers' diff IDs and
//     says which platform the image is really for.
//  4. Fetch every layer blob that the store does not already have (a few at
//     once), checking each against its digest, and unpack it into
//     layers/<diff ID>/.
//  5. Store the config and the manifest as blobs and, last of all, point
//     the tag at the manifest.
//
// Why all the digest checking: a registry, a mirror or anything in between
// could hand out different bytes than the publisher pushed. The digests in
// the manifest (and the manifest's own digest, when pulling by digest) say
// exactly what the content must hash to, so a tampered or truncated blob is
// caught and never lands in the store: PutBlob keeps nothing that does not
// hash to the expected digest. Layers are unpacked under their diff ID (the
// digest of the uncompressed tar, listed in the config) because that names
// the content whatever the compression, and UnpackLayer checks it too.
//
// Nothing is tagged until every blob and every layer directory is in place,
// so a failed pull leaves no half-usable image behind. Blobs and layers that
// were already complete stay (they are valid, and the next pull reuses
// them), just as docker keeps the layers of an interrupted pull.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Errors a pull can wrap, besides ErrNotFound (the registry has no such
// image or tag). Test for them with errors.Is.
var (
	// ErrRegistry is wrapped by every failure on the registry side:
	// unreachable, refused, unknown image, bad or tampered content.
	ErrRegistry = errors.New("registry error")
	// ErrUnauthorized means the registry wants credentials (or better
	// ones): the user should run `minirun login REGISTRY`.
	ErrUnauthorized = errors.New("registry authentication required")
	// ErrPlatform means the image index has no image for the requested
	// platform.
	ErrPlatform = errors.New("no image for the requested platform")
)

// PullOptions adjusts Store.Pull. The zero value pulls for the host
// platform, silently, with the credentials of the Docker config file.
type PullOptions struct {
	// Platform is "os/arch" or "os/arch/variant", e.g. "linux/arm64" or
	// "linux/arm/v7". "" means the host (runtime.GOOS/runtime.GOARCH).
	Platform string
	// Mirror is a registry mirror for docker.io images, like dockerd's
	// registry-mirrors: "https://mirror.example" or "host:port". The mirror
	// is asked first; if anything goes wrong there, the pull starts over
	// from docker.io itself. Other registries are never mirrored.
	Mirror string
	// Insecure allows plain HTTP to the registry (and mirror). Registries on
	// localhost or a loopback address are always allowed plain HTTP, as
	// docker does. It never turns off certificate checks for HTTPS.
	Insecure bool
	// Progress receives progress lines; nil is silent. Pass a *Progress
	// (NewProgress) to choose the terminal form; any other writer gets
	// plain lines.
	Progress io.Writer
	// Keychain finds credentials for a registry. nil means
	// authn.DefaultKeychain: the Docker config file (~/.docker/config.json
	// or $DOCKER_CONFIG/config.json) and its credential helpers.
	Keychain authn.Keychain
	// Stats, if not nil, is filled in with what the pull transferred.
	Stats *PullStats
}

// PullStats says what a pull did. A second pull of an unchanged image
// transfers the manifest(s) again (that is how it learns nothing changed)
// but no config and no layer bytes.
type PullStats struct {
	Registry      string        // registry (or mirror) that served the image
	Manifest      digest.Digest // digest of the image manifest that was tagged
	Index         digest.Digest // digest of the image index the reference named, if any
	Bytes         int64         // everything downloaded: manifests, config, layers
	LayerBytes    int64         // compressed layer bytes downloaded
	LayersFetched int           // layers downloaded
	LayersCached  int           // layers whose blob was already in the store
}

// pullJobs is how many layers are fetched and unpacked at once; dockerd's
// default max-concurrent-downloads is 3 as well.
const pullJobs = 3

// maxConfigSize bounds the config blob, which is read into memory.
const maxConfigSize = 32 << 20

// Pull fetches ref from its registry into the store and tags it (normalised:
// "busybox" becomes docker.io/library/busybox:latest; a digest reference
// "repo@sha256:..." is tagged as that digest reference). See the top of
// pull.go for the steps. Two pulls of the same image may run at once (in one
// process or several): both succeed and the store keeps one copy of each
// blob and layer.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (*Image, error) {
	normalized, err := NormalizeRef(ref)
	if err != nil {
		return nil, fmt.Errorf("pull: %w", err)
	}
	platform, err := parsePlatform(opts.Platform)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", normalized, err)
	}
	named, err := parseNormalizedRef(normalized)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", normalized, err)
	}
	keychain := opts.Keychain
	if keychain == nil {
		keychain = authn.DefaultKeychain
	}
	stats := opts.Stats
	if stats == nil {
		stats = &PullStats{}
	}
	*stats = PullStats{}
	prog := progressFor(opts.Progress)

	sources, err := pullSources(named, opts)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", normalized, err)
	}
	prog.printf("%s: Pulling from %s", pullIdentifier(named), named.path)

	var desc ocispec.Descriptor
	var mirrorErr error
	for i, src := range sources {
		j := &pullJob{
			s:                s,
			name:             normalized,
			source:           src,
			platform:         platform,
			explicitPlatform: opts.Platform != "",
			prog:             prog,
			stats:            stats,
		}
		j.puller, err = remote.NewPuller(
			remote.WithAuthFromKeychain(keychain),
			remote.WithUserAgent("minirun"),
		)
		if err == nil {
			desc, err = j.run(ctx)
		}
		if err == nil {
			stats.Registry = src.display
			break
		}
		// What went wrong, without the "pull <name>: " every error starts with.
		why := strings.TrimPrefix(err.Error(), "pull "+normalized+": ")
		if i == len(sources)-1 || ctx.Err() != nil {
			if mirrorErr != nil {
				return nil, fmt.Errorf("%w (before that, the mirror failed: %s)", err, mirrorErr)
			}
			return nil, err
		}
		// Only a mirror comes before the last source. dockerd falls back
		// from a failed mirror to the registry itself; so do we.
		mirrorErr = errors.New(why)
		prog.printf("Mirror failed: %s; pulling from %s instead", why, sources[i+1].display)
	}

	// Everything is in place: now, and only now, the tag.
	old, _ := s.taggedManifest(normalized)
	if err := s.Tag(normalized, desc); err != nil {
		return nil, fmt.Errorf("pull %s: %w", normalized, err)
	}
	// Build the result from what we wrote, not by looking the tag up again:
	// another pull may already have moved the tag (as in Import).
	img, err := s.load(desc, normalized)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", normalized, err)
	}
	top := stats.Manifest
	if stats.Index != "" {
		top = stats.Index
	}
	prog.printf("Digest: %s", top)
	if old == desc.Digest {
		prog.printf("Status: Image is up to date for %s", FamiliarRef(normalized))
	} else {
		prog.printf("Status: Downloaded newer image for %s", FamiliarRef(normalized))
	}
	return img, nil
}

// taggedManifest is the manifest digest name is tagged with now, if any.
func (s *Store) taggedManifest(name string) (digest.Digest, error) {
	idx, err := s.readIndex()
	if err != nil {
		return "", err
	}
	if e, ok := findByRef(idx, name); ok {
		return e.Digest, nil
	}
	return "", nil
}

// pullIdentifier is the tag or digest of a reference, for the first
// progress line ("latest: Pulling from library/busybox").
func pullIdentifier(named imageRef) string {
	if named.digest != "" {
		return named.digest.String()
	}
	if named.tag != "" {
		return named.tag
	}
	return "latest"
}

// pullSource is one place to pull an image from: the registry of the
// reference, or a mirror of it.
type pullSource struct {
	host    string         // host[:port] asked
	display string         // the registry as named in messages
	ref     name.Reference // the image at that host
}

// pullSources lists where to pull named from: the mirror first if one is
// configured and the image is on docker.io, then the registry itself.
func pullSources(named imageRef, opts PullOptions) ([]pullSource, error) {
	domain := named.domain
	if domain == "" {
		// Docker's grammar lets "a_b.c/x" be a repository path with no
		// registry (reference.go): a local name, but nothing to pull from.
		first, _, _ := strings.Cut(named.path, "/")
		return nil, fmt.Errorf("no registry to pull from: %q is neither a registry host name (letters, digits, \"-\" and \".\" only) "+
			"nor a Docker Hub namespace (no \".\"): spell the registry's host name", first)
	}
	var sources []pullSource
	if opts.Mirror != "" && domain == "docker.io" {
		host, plainHTTP, err := parseMirror(opts.Mirror)
		if err != nil {
			return nil, err
		}
		ref, err := ggcrRef(host, named, opts.Insecure || plainHTTP)
		if err != nil {
			return nil, fmt.Errorf("mirror %q: %w", opts.Mirror, err)
		}
		sources = append(sources, pullSource{host: host, display: host + " (mirror of docker.io)", ref: ref})
	}
	ref, err := ggcrRef(domain, named, opts.Insecure)
	if err != nil {
		return nil, err
	}
	return append(sources, pullSource{host: domain, display: domain, ref: ref}), nil
}

// ggcrRef turns a normalised reference into go-containerregistry's form,
// at registry host. Plain HTTP is allowed if insecure is set or the host is
// a loopback one.
func ggcrRef(host string, named imageRef, insecure bool) (name.Reference, error) {
	s := host + "/" + named.path
	if named.digest != "" {
		s += "@" + named.digest.String()
	} else if named.tag != "" {
		s += ":" + named.tag
	}
	var nameOpts []name.Option
	if insecure || isLoopbackHost(host) {
		nameOpts = append(nameOpts, name.Insecure)
	}
	return name.ParseReference(s, nameOpts...)
}

// isLoopbackHost reports whether host[:port] is this machine: localhost,
// *.localhost or a loopback IP address.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseMirror accepts "https://host[:port]", "http://host[:port]" (plain
// HTTP) or "host[:port]".
func parseMirror(m string) (host string, plainHTTP bool, err error) {
	if !strings.Contains(m, "://") {
		if strings.ContainsAny(m, "/?#@ ") {
			return "", false, fmt.Errorf("invalid mirror %q: want https://host[:port] or host[:port]", m)
		}
		return m, false, nil
	}
	u, err := url.Parse(m)
	if err != nil {
		return "", false, fmt.Errorf("invalid mirror %q: %w", m, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.User != nil || u.RawQuery != "" {
		return "", false, fmt.Errorf("invalid mirror %q: want https://host[:port] or host[:port]", m)
	}
	return u.Host, u.Scheme == "http", nil
}

// parsePlatform parses "os/arch[/variant]"; "" is the host platform.
func parsePlatform(s string) (ocispec.Platform, error) {
	if s == "" {
		return ocispec.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}, nil
	}
	parts := strings.Split(strings.ToLower(s), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" || (len(parts) == 3 && parts[2] == "") {
		return ocispec.Platform{}, fmt.Errorf("invalid platform %q: want os/arch or os/arch/variant, for example linux/arm64", s)
	}
	p := ocispec.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	// The names uname(1) prints, which people type too.
	switch p.Architecture {
	case "x86_64", "x86-64":
		p.Architecture = "amd64"
	case "aarch64":
		p.Architecture = "arm64"
	}
	return p, nil
}

// platformString is "os/arch[/variant]".
func platformString(p ocispec.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// platformMatches reports whether an image for have runs where want is
// asked for. A want without variant accepts any variant; a missing variant
// means the default one (v8 for arm64, v7 for arm), as in docker.
func platformMatches(want, have ocispec.Platform) bool {
	if want.OS != have.OS || want.Architecture != have.Architecture {
		return false
	}
	return want.Variant == "" || defaultVariant(want) == defaultVariant(have)
}

func defaultVariant(p ocispec.Platform) string {
	if p.Variant != "" {
		return p.Variant
	}
	switch p.Architecture {
	case "arm64":
		return "v8"
	case "arm":
		return "v7"
	}
	return ""
}

// pullJob is one attempt to pull an image from one source.
type pullJob struct {
	s                *Store
	name             string // normalised reference: what gets tagged
	source           pullSource
	puller           *remote.Puller // keeps the registry session (auth token) across requests
	platform         ocispec.Platform
	explicitPlatform bool
	prog             *Progress

	mu    sync.Mutex // guards stats: layers are fetched in parallel
	stats *PullStats
}

func (j *pullJob) addBytes(n int64, layer bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.stats.Bytes += n
	if layer {
		j.stats.LayerBytes += n
	}
}

// Media types of manifests as a registry labels them.
const (
	mediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerSchema1      = "application/vnd.docker.distribution.manifest.v1+json"
	mediaTypeDockerSchema1JWS   = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// run does steps 2-5 of the pull flow (see the top of the file) and returns
// the descriptor of the stored manifest, ready to be tagged.
func (j *pullJob) run(ctx context.Context) (ocispec.Descriptor, error) {
	// Stop the other layer downloads as soon as one fails.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Step 2: the manifest, or an index of manifests.
	j.stats.Index, j.stats.Manifest = "", "" // a failed mirror attempt may have set them
	raw, mediaType, dgst, err := j.fetchManifest(ctx, j.source.ref)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	fromIndex := false
	switch mediaType {
	case ocispec.MediaTypeImageIndex, mediaTypeDockerManifestList:
		j.stats.Index = dgst
		child, err := j.choosePlatform(raw)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		// Fetch by digest: the registry must return exactly the bytes the
		// index describes (checked in fetchManifest).
		childRef := j.source.ref.Context().Digest(child.Digest.String())
		raw, mediaType, dgst, err = j.fetchManifest(ctx, childRef)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		fromIndex = true
	}
	switch mediaType {
	case ocispec.MediaTypeImageManifest, mediaTypeDockerManifest:
	case ocispec.MediaTypeImageIndex, mediaTypeDockerManifestList:
		return ocispec.Descriptor{}, j.errorf(nil, "the image index for this platform points to another index; nested indexes are not supported")
	case mediaTypeDockerSchema1, mediaTypeDockerSchema1JWS:
		return ocispec.Descriptor{}, j.errorf(nil, "registry %s serves a Docker schema 1 manifest, which is deprecated and not supported; push the image again with a current docker or buildkit", j.source.display)
	default:
		return ocispec.Descriptor{}, j.errorf(nil, "registry %s returned a manifest of media type %q, which is not a container image", j.source.display, mediaType)
	}
	j.stats.Manifest = dgst

	// Step 3: parse the manifest, check it, fetch the config.
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return ocispec.Descriptor{}, j.errorf(nil, "manifest %s from registry %s: %v", dgst, j.source.display, err)
	}
	if err := j.checkManifest(&m); err != nil {
		return ocispec.Descriptor{}, err
	}
	configData, err := j.fetchConfig(ctx, m.Config)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	var config ocispec.Image
	if err := json.Unmarshal(configData, &config); err != nil {
		return ocispec.Descriptor{}, j.errorf(nil, "config %s: %v", m.Config.Digest, err)
	}
	diffIDs := config.RootFS.DiffIDs
	if len(diffIDs) != len(m.Layers) {
		return ocispec.Descriptor{}, j.errorf(nil, "manifest %s lists %d layers but config %s lists %d diff IDs",
			dgst, len(m.Layers), m.Config.Digest, len(diffIDs))
	}
	for i, d := range diffIDs {
		if err := d.Validate(); err != nil {
			return ocispec.Descriptor{}, j.errorf(nil, "config %s: diff ID %d %q: %v", m.Config.Digest, i, d, err)
		}
	}
	// The config says what the image was really built for. Behind an index
	// the index entry already matched; for a plain manifest check it here.
	// (A config without OS and architecture says nothing; take it.)
	have := config.Platform
	if !fromIndex && (have.OS != "" || have.Architecture != "") && !platformMatches(j.platform, have) {
		if j.explicitPlatform {
			return ocispec.Descriptor{}, &pullError{
				msg:   fmt.Sprintf("pull %s: the image is for %s, not %s, and registry %s has no other platform of it", j.name, platformString(have), platformString(j.platform), j.source.display),
				kinds: []error{ErrPlatform},
			}
		}
		j.prog.printf("WARNING: the image's platform (%s) does not match the host platform (%s)", platformString(have), platformString(j.platform))
	}

	// Step 4: the layers.
	if err := j.fetchLayers(ctx, m.Layers, diffIDs); err != nil {
		return ocispec.Descriptor{}, err
	}

	// Step 5: config and manifest blobs, exactly the bytes the registry sent
	// (re-encoding them would change their digests).
	if _, err := j.s.PutBlob(bytes.NewReader(configData), m.Config.Digest); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("pull %s: config: %w", j.name, err)
	}
	if _, err := j.s.PutBlob(bytes.NewReader(raw), dgst); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("pull %s: manifest: %w", j.name, err)
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: dgst, Size: int64(len(raw))}
	if have.OS != "" || have.Architecture != "" {
		// Recorded in images/index.json, as an OCI index entry may.
		desc.Platform = &ocispec.Platform{OS: have.OS, Architecture: have.Architecture, Variant: have.Variant}
	}
	return desc, nil
}

// fetchManifest gets the manifest (or index) ref names and returns its
// bytes, media type and digest. go-containerregistry already checks that a
// manifest fetched by digest hashes to that digest; the check is repeated
// here because the store relies on it.
func (j *pullJob) fetchManifest(ctx context.Context, ref name.Reference) ([]byte, string, digest.Digest, error) {
	desc, err := j.puller.Get(ctx, ref)
	if err != nil {
		return nil, "", "", j.explain(err, "")
	}
	raw := desc.Manifest
	j.addBytes(int64(len(raw)), false)
	dgst := digest.FromBytes(raw)
	if want, ok := ref.(name.Digest); ok {
		wantDigest := digest.Digest(want.DigestStr())
		if err := wantDigest.Validate(); err != nil {
			return nil, "", "", j.errorf(nil, "digest %q: %v", wantDigest, err)
		}
		if dgst = wantDigest.Algorithm().FromBytes(raw); dgst != wantDigest {
			return nil, "", "", j.errorf(nil, "registry %s returned a manifest that hashes to %s instead of %s", j.source.display, dgst, wantDigest)
		}
	}
	return raw, manifestMediaType(string(desc.MediaType), raw), dgst, nil
}

// manifestMediaType decides what kind of document a manifest is. The
// document's own "mediaType" field wins (OCI requires it to be right);
// then the Content-Type the registry sent; then its shape.
func manifestMediaType(header string, raw []byte) string {
	var probe struct {
		SchemaVersion int             `json:"schemaVersion"`
		MediaType     string          `json:"mediaType"`
		Manifests     json.RawMessage `json:"manifests"`
	}
	_ = json.Unmarshal(raw, &probe) // an unparsable manifest fails later, with a clearer error
	if probe.MediaType != "" {
		return probe.MediaType
	}
	if mt, _, _ := strings.Cut(header, ";"); mt != "" && mt != "application/json" && mt != "text/plain" {
		return strings.TrimSpace(mt)
	}
	switch {
	case probe.SchemaVersion == 1:
		return mediaTypeDockerSchema1
	case probe.Manifests != nil:
		return ocispec.MediaTypeImageIndex
	}
	return ocispec.MediaTypeImageManifest
}

// choosePlatform picks the manifest for j.platform out of an image index.
func (j *pullJob) choosePlatform(raw []byte) (ocispec.Descriptor, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return ocispec.Descriptor{}, j.errorf(nil, "image index from registry %s: %v", j.source.display, err)
	}
	var available []string
	seen := map[string]bool{}
	for _, d := range idx.Manifests {
		if d.Platform == nil {
			continue
		}
		// BuildKit stores attestations (SBOMs, provenance) as index entries
		// with platform unknown/unknown: not runnable, not worth listing.
		if d.Platform.OS == "unknown" {
			continue
		}
		if platformMatches(j.platform, *d.Platform) {
			if err := d.Digest.Validate(); err != nil {
				return ocispec.Descriptor{}, j.errorf(nil, "image index: entry for %s: digest %q: %v", platformString(*d.Platform), d.Digest, err)
			}
			return d, nil
		}
		if p := platformString(*d.Platform); !seen[p] {
			seen[p] = true
			available = append(available, p)
		}
	}
	list := "none"
	if len(available) > 0 {
		list = strings.Join(available, ", ")
	}
	return ocispec.Descriptor{}, &pullError{
		msg: fmt.Sprintf("pull %s: registry %s has no image for platform %s (the image index lists: %s); choose one of those platforms",
			j.name, j.source.display, platformString(j.platform), list),
		kinds: []error{ErrPlatform},
	}
}

// checkManifest refuses, before anything is downloaded, a manifest this
// store cannot use: an artifact that is not a container image, or layers
// of a media type UnpackLayer cannot read (supportedLayerType decides, so
// zstd is refused here exactly when UnpackLayer would refuse it).
func (j *pullJob) checkManifest(m *ocispec.Manifest) error {
	switch m.Config.MediaType {
	case ocispec.MediaTypeImageConfig, mediaTypeDockerConfig:
	default:
		return j.errorf(nil, "config media type %q: this is not a container image (an OCI artifact?)", m.Config.MediaType)
	}
	if err := m.Config.Digest.Validate(); err != nil {
		return j.errorf(nil, "config digest %q: %v", m.Config.Digest, err)
	}
	for i, l := range m.Layers {
		if err := l.Digest.Validate(); err != nil {
			return j.errorf(nil, "layer %d: digest %q: %v", i, l.Digest, err)
		}
		if l.Size <= 0 {
			return j.errorf(nil, "layer %d (%s): the manifest gives no size", i, l.Digest)
		}
		if !supportedLayerType(l.MediaType) {
			if strings.Contains(l.MediaType, "zstd") {
				return &pullError{
					msg: fmt.Sprintf("pull %s: layer %d (%s) is zstd-compressed (%s), which this store cannot unpack; pull a variant of the image with gzip layers",
						j.name, i, l.Digest, l.MediaType),
				}
			}
			return j.errorf(nil, "layer %d (%s): unsupported media type %q", i, l.Digest, l.MediaType)
		}
	}
	return nil
}

// fetchConfig returns the config blob, from the store if it is there.
func (j *pullJob) fetchConfig(ctx context.Context, d ocispec.Descriptor) ([]byte, error) {
	if blobExists(j.s.BlobPath(d.Digest)) {
		data, err := j.s.readBlob(d.Digest) // re-checks the digest
		if err != nil {
			return nil, fmt.Errorf("pull %s: %w", j.name, err)
		}
		return data, nil
	}
	if d.Size <= 0 || d.Size > maxConfigSize {
		return nil, j.errorf(nil, "config %s: size %d out of range", d.Digest, d.Size)
	}
	rc, br, err := j.openBlob(ctx, d, false, nil)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(br)
	if err != nil {
		return nil, j.explain(err, "config "+string(d.Digest))
	}
	if got := d.Digest.Algorithm().FromBytes(data); got != d.Digest {
		return nil, j.errorf(nil, "config from registry %s hashes to %s instead of %s", j.source.display, got, d.Digest)
	}
	return data, nil
}

// fetchLayers downloads the missing layer blobs and unpacks every layer,
// pullJobs at a time. It returns the first error, after every goroutine has
// stopped.
func (j *pullJob) fetchLayers(ctx context.Context, layers []ocispec.Descriptor, diffIDs []digest.Digest) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Register every layer first, so a terminal shows them in manifest order.
	progs := make([]*layerProgress, len(layers))
	for i, l := range layers {
		progs[i] = j.prog.layer(shortID(l.Digest), l.Size)
	}

	sem := make(chan struct{}, pullJobs)
	errs := make([]error, len(layers))
	var wg sync.WaitGroup
	for i := range layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			if err := j.fetchLayer(ctx, layers[i], diffIDs[i], progs[i]); err != nil {
				errs[i] = err
				cancel()
			}
		}()
	}
	wg.Wait()
	// Report the error that caused the others (they only saw the cancel),
	// unless the caller cancelled.
	var first error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if first == nil || (errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled)) {
			first = err
		}
	}
	return first
}

// fetchLayer makes one layer available: blob in blobs/, unpacked in
// layers/<diff ID>/.
//
// A blob the store already has is not fetched again. PutBlob does that
// check itself: if BlobPath(l.Digest) exists it returns at once, without
// reading its reader (and marks the blob as just used, for the garbage
// collector). So the download is hidden behind a reader that connects to
// the registry only on its first Read: a layer already in the store costs
// no request at all, and one that is missing is streamed straight into
// PutBlob, which hashes it while writing and keeps nothing unless the
// content hashes to l.Digest.
func (j *pullJob) fetchLayer(ctx context.Context, l ocispec.Descriptor, diffID digest.Digest, lp *layerProgress) error {
	lazy := &lazyBlob{open: func() (io.Closer, *blobReader, error) {
		return j.openBlob(ctx, l, true, lp.add)
	}}
	_, err := j.s.PutBlob(lazy, l.Digest)
	lazy.close()
	switch {
	case lazy.err != nil:
		return lazy.err // could not start the download; already explained
	case err != nil && lazy.br != nil && lazy.br.err != nil:
		// The download failed, or go-containerregistry's own digest check
		// did (it reports a mismatch at the end of the stream): a
		// registry-side problem.
		return j.explain(lazy.br.err, "layer "+string(l.Digest))
	case err != nil:
		return fmt.Errorf("pull %s: layer %s: %w", j.name, l.Digest, err)
	}
	fetched := lazy.br != nil
	j.mu.Lock()
	if fetched {
		j.stats.LayersFetched++
	} else {
		j.stats.LayersCached++
	}
	j.mu.Unlock()
	if fetched {
		lp.status("Extracting")
	}

	if _, err := j.s.UnpackLayer(l.Digest, l.MediaType, diffID); err != nil {
		return fmt.Errorf("pull %s: layer %s: %w", j.name, l.Digest, err)
	}
	if fetched {
		lp.complete()
	} else {
		lp.exists()
	}
	return nil
}

// lazyBlob is a reader that opens the blob download on its first Read.
type lazyBlob struct {
	open func() (io.Closer, *blobReader, error)
	rc   io.Closer
	br   *blobReader // nil until the download started
	err  error       // why the download could not start
}

func (l *lazyBlob) Read(p []byte) (int, error) {
	if l.br == nil && l.err == nil {
		l.rc, l.br, l.err = l.open()
	}
	if l.err != nil {
		return 0, l.err
	}
	return l.br.Read(p)
}

func (l *lazyBlob) close() {
	if l.rc != nil {
		l.rc.Close()
	}
}

// openBlob starts downloading the blob d. The returned blobReader enforces
// d.Size, counts the bytes and reports them to onRead; close rc when done.
func (j *pullJob) openBlob(ctx context.Context, d ocispec.Descriptor, layer bool, onRead func(int)) (io.Closer, *blobReader, error) {
	what := "config " + string(d.Digest)
	if layer {
		what = "layer " + string(d.Digest)
	}
	rl, err := j.puller.Layer(ctx, j.source.ref.Context().Digest(d.Digest.String()))
	if err != nil {
		return nil, nil, j.explain(err, what)
	}
	rc, err := rl.Compressed() // the blob as stored in the registry; go-containerregistry verifies its digest
	if err != nil {
		return nil, nil, j.explain(err, what)
	}
	br := &blobReader{r: rc, size: d.Size, onRead: func(n int) {
		j.addBytes(int64(n), layer)
		if onRead != nil {
			onRead(n)
		}
	}}
	return rc, br, nil
}

// blobReader reads a blob from the registry, refuses more bytes than the
// manifest lists (a misbehaving registry could otherwise fill the disk)
// and remembers the first read error, so that the caller can tell a
// registry-side failure from a local one.
type blobReader struct {
	r      io.Reader
	size   int64
	read   int64
	onRead func(int)
	err    error
}

func (b *blobReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	// Never ask for more than one byte beyond the expected size.
	if limit := b.size - b.read + 1; int64(len(p)) > limit {
		p = p[:limit]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	if n > 0 && b.onRead != nil {
		b.onRead(n)
	}
	switch {
	case b.read > b.size:
		err = fmt.Errorf("the registry sent more than the %d bytes the manifest lists", b.size)
	case err == io.EOF && b.read < b.size:
		err = fmt.Errorf("the registry sent %d of the %d bytes the manifest lists: %w", b.read, b.size, io.ErrUnexpectedEOF)
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func blobExists(path string) bool {
	if path == "" {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// shortID is how docker names a layer in progress output: the first 12 hex
// digits of its blob digest.
func shortID(d digest.Digest) string {
	if enc := d.Encoded(); len(enc) > 12 {
		return enc[:12]
	}
	return d.Encoded()
}

// pullError is an error of Pull with a message for people and sentinels
// (ErrRegistry, ErrNotFound, ...) for programs.
type pullError struct {
	msg   string
	kinds []error // sentinels errors.Is should find
	cause error   // underlying error, for errors.As; already part of msg
}

func (e *pullError) Error() string { return e.msg }

func (e *pullError) Unwrap() []error {
	errs := append([]error{}, e.kinds...)
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// errorf is a registry-side error about the image being pulled.
func (j *pullJob) errorf(cause error, format string, a ...any) error {
	return &pullError{
		msg:   fmt.Sprintf("pull %s: ", j.name) + fmt.Sprintf(format, a...),
		kinds: []error{ErrRegistry},
		cause: cause,
	}
}

// explain turns an error of go-containerregistry or of the network into
// one that says what happened, with which image and registry, and what to
// do about it. what names the blob being fetched ("layer sha256:..."), or
// is "" for a manifest.
func (j *pullJob) explain(err error, what string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("pull %s: %w", j.name, err)
	}
	reg := j.source.display
	login := j.source.host
	subject := ""
	if what != "" {
		subject = what + ": "
	}
	e := &pullError{kinds: []error{ErrRegistry}, cause: err}
	set := func(format string, a ...any) error {
		e.msg = fmt.Sprintf("pull %s: %s", j.name, subject) + fmt.Sprintf(format, a...)
		return e
	}

	var terr *transport.Error
	if errors.As(err, &terr) {
		codes := map[transport.ErrorCode]bool{}
		for _, d := range terr.Errors {
			codes[d.Code] = true
		}
		summary := fmt.Sprintf("%d %s", terr.StatusCode, http.StatusText(terr.StatusCode))
		if len(terr.Errors) > 0 {
			summary = terr.Errors[0].String()
		}
		switch {
		case terr.StatusCode == http.StatusUnauthorized || codes[transport.UnauthorizedErrorCode]:
			e.kinds = append(e.kinds, ErrUnauthorized)
			return set("registry %s requires authentication (%s): run \"minirun login %s\" and pull again; if you are logged in, check the repository name and that your account may read it",
				reg, summary, login)
		case terr.StatusCode == http.StatusForbidden || codes[transport.DeniedErrorCode]:
			e.kinds = append(e.kinds, ErrUnauthorized)
			return set("registry %s denied access (%s): log in with an account that may read this repository (\"minirun login %s\")",
				reg, summary, login)
		case terr.StatusCode == http.StatusTooManyRequests || codes[transport.TooManyRequestsErrorCode]:
			return set("registry %s is rate-limiting pulls (%s): wait and try again, or log in (\"minirun login %s\"; Docker Hub allows more pulls to logged-in users)",
				reg, summary, login)
		case what == "" && (terr.StatusCode == http.StatusNotFound || codes[transport.ManifestUnknownErrorCode] || codes[transport.NameUnknownErrorCode]):
			e.kinds = append(e.kinds, ErrNotFound)
			return set("image not found in registry %s (%s): check the repository name and the tag or digest", reg, summary)
		case terr.StatusCode == http.StatusNotFound || codes[transport.BlobUnknownErrorCode]:
			return set("registry %s does not have this blob although the manifest lists it (%s); the image is broken on the registry", reg, summary)
		}
		return set("registry %s answered %s", reg, summary)
	}

	// TLS problems: a plain-HTTP registry, or a certificate we cannot check.
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	switch {
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") || errors.As(err, &recordErr):
		return set("registry %s does not speak HTTPS: if it is a plain-HTTP registry you trust, pull with the insecure option (--insecure): %v", reg, err)
	case errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &invalidCert):
		return set("TLS certificate of registry %s not accepted: %v; add the registry's CA to the system's trusted certificates", reg, err)
	}

	// The network.
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &dnsErr):
		return set("cannot resolve registry host %s (%v): check the registry name and your network and DNS settings", reg, dnsErr)
	case errors.Is(err, syscall.ECONNREFUSED):
		return set("cannot reach registry %s: connection refused: check the registry address and port and that the registry is running", reg)
	case errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH):
		return set("cannot reach registry %s: network unreachable: check your network (and proxy settings)", reg)
	case errors.As(err, &netErr) && netErr.Timeout():
		return set("registry %s did not answer in time (%v): check your network (and proxy settings) and try again", reg, err)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
		return set("the connection to registry %s broke off (%v): try again", reg, err)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return set("cannot reach registry %s: %v", reg, err)
	}
	// Anything else: for a blob, most likely go-containerregistry's digest
	// check ("error verifying sha256 checksum ...").
	if what != "" {
		if strings.Contains(err.Error(), "checksum") {
			return set("the content registry %s sent does not match the digest (%v); nothing of it was kept. Pull again; if this persists, the registry or something between it and you (a proxy, a mirror) serves corrupt data", reg, err)
		}
		return set("download from registry %s failed: %v; nothing of it was kept, pull again", reg, err)
	}
	return set("registry %s: %v", reg, err)
}
