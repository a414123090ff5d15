package image

// Image references ("busybox", "ghcr.io/a/b:v1", "localhost:5000/x@sha256:...")
// are parsed here by hand, not with github.com/distribution/reference: that
// package compiles a dozen regular expressions when the program starts (its
// package init, ~0.7 ms and 3,600 allocations), and every minirun process,
// the container's init too, would pay for it although most never parse a
// reference. The grammar and the normalisation are Docker's, those of
// distribution/reference v0.6.0 (reference.go, regexp.go, normalize.go of
// https://github.com/distribution/reference), and fuzz_test.go checks that
// both parsers agree on every input:
//
//	reference        := name [ ":" tag ] [ "@" digest ]
//	name             := [ domain "/" ] path
//	domain           := host [ ":" port ]
//	host             := domain-name | "[" ipv6 "]"
//	domain-name      := domain-component [ "." domain-component ]*
//	domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
//	ipv6             := [a-fA-F0-9:]+
//	port             := [0-9]+
//	path             := path-component [ "/" path-component ]*
//	path-component   := alphanumeric [ separator alphanumeric ]*
//	alphanumeric     := [a-z0-9]+
//	separator        := "." | "_" | "__" | "-"+
//	tag              := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//	digest           := algorithm ":" [0-9a-fA-F]{32,}
//	algorithm        := component [ [-_+.] component ]*, component := [A-Za-z][A-Za-z0-9]*
//
// The path is at most 255 characters long (distribution counts the path
// only, not the domain), and a digest must also be one go-digest accepts (a
// known algorithm; for sha256, 64 lowercase hex digits).
//
// The grammar is ambiguous only where a name may or may not start with a
// domain, and three observations make a left-to-right scan enough:
//   - no part but the digest holds "@": the first "@" starts the digest;
//   - a domain is everything before the first "/" (no domain holds "/"),
//     and only a domain holds ":" in a name, so a ":" after the first "/"
//     (or anywhere, if there is no "/") starts the tag;
//   - the text before the first "/" is the domain if it is a valid domain
//     and the rest a valid path; otherwise the whole name must be a path.
//
// Normalisation (Docker's "familiar" names) is done before parsing: a name
// whose first component looks like no host (no ".", no ":", not "localhost",
// all lowercase) is on Docker Hub, "docker.io", and a single-component
// name there is an official image, under "library/":
//
//	busybox            -> docker.io/library/busybox
//	foo/bar            -> docker.io/foo/bar
//	index.docker.io/x  -> docker.io/library/x
//	localhost:5000/x   -> localhost:5000/x
//
// The "familiar" form, the one Docker prints, drops those two again.
//
// Two oddities are kept, for Docker's sake:
//   - "a_b.c/x" has no domain: normalisation takes "a_b.c" (it holds a ".")
//     for a registry, so the name is not put on Docker Hub, but with its "_"
//     it is no host name; as a whole, "a_b.c/x" is a valid path. A local
//     name, then, that cannot be pulled (pull.go says so).
//   - the familiar form of "docker.io/a.b/c" is "a.b/c", which reads back
//     as the image "c" of the registry "a.b" (Docker Hub has no namespace
//     with a "." in it).

import (
	"errors"
	"fmt"
	"strings"

	digest "github.com/opencontainers/go-digest"
)

const (
	defaultDomain       = "docker.io"       // Docker Hub
	legacyDefaultDomain = "index.docker.io" // Docker Hub's old name, normalised to defaultDomain
	officialRepoPrefix  = "library/"        // Docker Hub's namespace of official images
	defaultTag          = "latest"
	maxPathLength       = 255
	maxTagLength        = 128
)

// The errors of the parser, with distribution/reference's words.
var (
	errRefFormat    = errors.New("invalid reference format")
	errRefUppercase = errors.New("repository name must be lowercase")
	errRefEmpty     = errors.New("repository name must have at least one component")
	errRefTooLong   = fmt.Errorf("repository name must not be more than %v characters", maxPathLength)
	errTagFormat    = errors.New("invalid tag format")
	errDigestFormat = errors.New("invalid digest format")
)

// imageRef is a parsed image reference: a repository (domain and path),
// with a tag, a digest, both or neither.
type imageRef struct {
	domain string        // registry host[:port], e.g. "docker.io"
	path   string        // repository in the registry, e.g. "library/busybox"
	tag    string        // "" for none
	digest digest.Digest // "" for none
}

// name is the repository's full name, "docker.io/library/busybox".
func (r imageRef) name() string {
	if r.domain == "" {
		return r.path
	}
	return r.domain + "/" + r.path
}

// String is the reference as parsed: name[:tag][@digest].
func (r imageRef) String() string {
	s := r.name()
	if r.tag != "" {
		s += ":" + r.tag
	}
	if r.digest != "" {
		s += "@" + r.digest.String()
	}
	return s
}

// familiar is the short form Docker prints: without "docker.io/", and
// without "library/" for an official image ("busybox:latest").
func (r imageRef) familiar() string {
	if r.domain == defaultDomain {
		r.domain = ""
		if rest, ok := strings.CutPrefix(r.path, officialRepoPrefix); ok && !strings.Contains(rest, "/") {
			r.path = rest
		}
	}
	return r.String()
}

// repository is the reference without its tag and digest.
func (r imageRef) repository() imageRef {
	return imageRef{domain: r.domain, path: r.path}
}

// withTag is the reference with tag set (a digest is kept).
func (r imageRef) withTag(tag string) (imageRef, error) {
	if !isTag(tag) {
		return imageRef{}, errTagFormat
	}
	r.tag = tag
	return r, nil
}

// withDigest is the reference with digest d set (a tag is kept).
func (r imageRef) withDigest(d digest.Digest) (imageRef, error) {
	if !isDigest(string(d)) {
		return imageRef{}, errDigestFormat
	}
	r.digest = d
	return r, nil
}

// tagNameOnly adds the tag "latest" to a reference with neither tag nor
// digest.
func (r imageRef) tagNameOnly() imageRef {
	if r.tag == "" && r.digest == "" {
		r.tag = defaultTag
	}
	return r
}

// parseDockerRef is parseNormalizedRef, then tagNameOnly; a reference with
// both a tag and a digest keeps only the digest, as Docker does.
// (distribution/reference.ParseDockerRef)
func parseDockerRef(s string) (imageRef, error) {
	r, err := parseNormalizedRef(s)
	if err != nil {
		return imageRef{}, err
	}
	if r.digest != "" {
		r.tag = ""
	}
	return r.tagNameOnly(), nil
}

// parseNormalizedRef parses a reference as a user types it, with Docker's
// normalisation ("busybox" is "docker.io/library/busybox"). No tag is
// added. (distribution/reference.ParseNormalizedNamed)
func parseNormalizedRef(s string) (imageRef, error) {
	if isIdentifier(s) {
		return imageRef{}, fmt.Errorf("invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s)
	}
	domain, remainder := splitDockerDomain(s)
	remote, _, _ := strings.Cut(remainder, ":")
	if strings.ToLower(remote) != remote {
		return imageRef{}, fmt.Errorf("%w: repository name (%s) must be lowercase", errRefFormat, remote)
	}
	return parseRef(domain + "/" + remainder)
}

// splitDockerDomain splits a familiar name into a domain and the rest: the
// first component is a domain if it is "localhost", holds a "." or a ":",
// or has an uppercase letter (which no repository path has); otherwise the
// domain is Docker Hub's.
func splitDockerDomain(name string) (domain, rest string) {
	first, after, ok := strings.Cut(name, "/")
	switch {
	case !ok:
		// "busybox", "busybox:1.36" (a ":" here starts a tag, not a port).
		return defaultDomain, officialRepoPrefix + name
	case first == "localhost":
		domain, rest = first, after
	case first == legacyDefaultDomain:
		domain, rest = defaultDomain, after
	case strings.ContainsAny(first, ".:"), strings.ToLower(first) != first:
		domain, rest = first, after
	default:
		domain, rest = defaultDomain, name
	}
	if domain == defaultDomain && !strings.Contains(rest, "/") {
		rest = officialRepoPrefix + rest
	}
	return domain, rest
}

// parseRef parses a reference as it is, without normalisation.
// (distribution/reference.Parse)
func parseRef(s string) (imageRef, error) {
	r, ok := scanRef(s)
	if !ok {
		switch {
		case s == "":
			return imageRef{}, errRefEmpty
		case strings.ToLower(s) != s && scanOK(strings.ToLower(s)):
			return imageRef{}, errRefUppercase
		}
		return imageRef{}, errRefFormat
	}
	if len(r.path) > maxPathLength {
		return imageRef{}, errRefTooLong
	}
	if r.digest != "" {
		// The grammar allows any algorithm and length; go-digest checks
		// the algorithm is known and the length right for it.
		if _, err := digest.Parse(string(r.digest)); err != nil {
			return imageRef{}, err
		}
	}
	return r, nil
}

func scanOK(s string) bool {
	_, ok := scanRef(s)
	return ok
}

// scanRef splits s along the grammar above; false if s does not follow it.
func scanRef(s string) (imageRef, bool) {
	var r imageRef
	if name, d, ok := strings.Cut(s, "@"); ok {
		if !isDigest(d) {
			return r, false
		}
		r.digest = digest.Digest(d)
		s = name
	}
	afterDomain := strings.IndexByte(s, '/') + 1 // 0 if there is no "/"
	if i := strings.IndexByte(s[afterDomain:], ':'); i >= 0 {
		r.tag = s[afterDomain+i+1:]
		if !isTag(r.tag) {
			return r, false
		}
		s = s[:afterDomain+i]
	}
	if domain, path, ok := strings.Cut(s, "/"); ok && isDomain(domain) && isPath(path) {
		r.domain, r.path = domain, path
		return r, true
	}
	if !isPath(s) {
		return r, false
	}
	r.path = s
	return r, true
}

// isDomain: host [":" port], the host a domain name or "[" ipv6 "]".
func isDomain(s string) bool {
	var host, port string
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 2 || !allBytes(s[1:end], isIPv6Byte) {
			return false
		}
		host, port = s[:end+1], s[end+1:]
	} else {
		i := strings.IndexByte(s, ':')
		if i < 0 {
			i = len(s)
		}
		host, port = s[:i], s[i:]
		for c := range strings.SplitSeq(host, ".") {
			if !isDomainComponent(c) {
				return false
			}
		}
	}
	return port == "" || port[0] == ':' && len(port) > 1 && allBytes(port[1:], isDigit)
}

// isDomainComponent: letters, digits and "-", not at either end.
func isDomainComponent(c string) bool {
	return c != "" && isAlnum(c[0]) && isAlnum(c[len(c)-1]) &&
		allBytes(c, func(b byte) bool { return isAlnum(b) || b == '-' })
}

// isPath: path components separated by single "/".
func isPath(s string) bool {
	for c := range strings.SplitSeq(s, "/") {
		if !isPathComponent(c) {
			return false
		}
	}
	return true
}

// isPathComponent: runs of [a-z0-9] separated by ".", "_", "__" or dashes.
func isPathComponent(c string) bool {
	if c == "" || !isLowerAlnum(c[0]) || !isLowerAlnum(c[len(c)-1]) {
		return false
	}
	for i := 0; i < len(c); {
		if isLowerAlnum(c[i]) {
			i++
			continue
		}
		j := i
		for j < len(c) && !isLowerAlnum(c[j]) {
			j++
		}
		switch sep := c[i:j]; {
		case sep == ".", sep == "_", sep == "__", allBytes(sep, func(b byte) bool { return b == '-' }):
		default:
			return false
		}
		i = j
	}
	return true
}

// isTag: 1 to 128 of [A-Za-z0-9_.-], not starting with "." or "-".
func isTag(s string) bool {
	return s != "" && len(s) <= maxTagLength && isWord(s[0]) &&
		allBytes(s, func(b byte) bool { return isWord(b) || b == '.' || b == '-' })
}

// isDigest: algorithm ":" at least 32 hex digits (128 bits).
func isDigest(s string) bool {
	alg, hex, ok := strings.Cut(s, ":")
	if !ok || len(hex) < 32 || !allBytes(hex, isHex) {
		return false
	}
	// algorithm: components [A-Za-z][A-Za-z0-9]* joined by one of "-_+.".
	start := 0
	for i := 0; i <= len(alg); i++ {
		if i < len(alg) && !strings.ContainsRune("-_+.", rune(alg[i])) {
			continue
		}
		c := alg[start:i]
		if c == "" || !isLetter(c[0]) || !allBytes(c, isAlnum) {
			return false
		}
		start = i + 1
	}
	return true
}

// isIdentifier: 64 lowercase hex digits, an image ID, which Docker does
// not take for a repository name.
func isIdentifier(s string) bool {
	return len(s) == 64 && allBytes(s, func(b byte) bool { return isDigit(b) || 'a' <= b && b <= 'f' })
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(b byte) bool      { return '0' <= b && b <= '9' }
func isLetter(b byte) bool     { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }
func isAlnum(b byte) bool      { return isLetter(b) || isDigit(b) }
func isLowerAlnum(b byte) bool { return 'a' <= b && b <= 'z' || isDigit(b) }
func isWord(b byte) bool       { return isAlnum(b) || b == '_' }
func isHex(b byte) bool        { return isDigit(b) || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F' }
func isIPv6Byte(b byte) bool   { return isHex(b) || b == ':' }
