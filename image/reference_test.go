package image

import (
	"strings"
	"testing"

	"github.com/distribution/reference"
	digest "github.com/opencontainers/go-digest"
)

// trickyRefs are references at the edges of the grammar; they seed
// FuzzNormalizeRef too.
var trickyRefs = []string{
	"", "busybox", "busybox:1.36", "library/busybox", "docker.io/busybox", "index.docker.io/busybox",
	"index.docker.io/library/busybox:1", "docker.io/library/a/b", "library/a/b", "foo/bar/baz:1",
	"BUSYBOX", "Busybox", "busybox:LATEST", "Foo/bar", "foo/Bar", "FOO.com/bar", "LOCALHOST:5000/x",
	"\u212aelvin", "a\u212a/b", // Kelvin sign: strings.ToLower makes it an ASCII "k"
	"localhost", "localhost/x", "localhost:5000", "localhost:5000/x", "localhost:5000/x:y", "localhost:x/y",
	"localhost:/x", "localhost:5000:1/x", "example.com:99999/x", "example.com:0/x",
	"[::1]/x", "[::1]:5000/x:y", "[::1]x/y", "[::]:5000/x", "[]:5000/x", "[::1/x", "[fe80::1%eth0]/x",
	"[2001:db8::ff00:42:8329]:443/a/b", "[::ffff:127.0.0.1]/x", "::1/x", "[::1]:/x",
	"a.b/c", "a-b.c/d", "-a.b/c", "a-.b/c", "a..b/c", "a.b./c", ".a/b", "a.b-/c", "a--b.c/d", "1.2.3.4/x", "1.2.3.4:80/x",
	"a_b.c/x", "a__b.c/x:1", "a_b:5000/x",
	"a..b", "a__b", "a___b", "a_-b", "a-_b", "a.-b", "a---b", "a-b", "a.b", "a_b", "_a", "a_", "-a", "a-", ".a", "a.",
	"a/b/", "/a/b", "a//b", "a/", "/", ":", "@", ":tag", "@sha256:" + strings.Repeat("a", 64),
	"a/b:", "a:b:c", "a/b:c:d", "a:b/c", "a:1/c", "a b", "a\tb", "a\nb", "x:\xff", "\xffa",
	"a:" + strings.Repeat("t", 128), "a:" + strings.Repeat("t", 129), "a:.t", "a:-t", "a:_t", "a:t.-_T9",
	// Digests: the grammar wants 32 hex digits or more, go-digest the
	// length of the algorithm (sha256: 64, lowercase) and a known algorithm.
	"a@sha256:" + strings.Repeat("ab", 32), "a@sha256:" + strings.Repeat("ab", 31), "a@sha256:" + strings.Repeat("ab", 33),
	"a@sha256:" + strings.Repeat("AB", 32), "a@sha256:" + strings.Repeat("a", 31), "a@sha512:" + strings.Repeat("a", 128),
	"a@sha384:" + strings.Repeat("a", 96), "a@md5:" + strings.Repeat("a", 32), "a@sha256+b64:" + strings.Repeat("a", 64),
	"a@sha256..x:" + strings.Repeat("a", 64), "a@1sha:" + strings.Repeat("a", 64), "a@:" + strings.Repeat("a", 64),
	"a@sha256:" + strings.Repeat("a", 64) + "@x",
	"a:t@sha256:" + strings.Repeat("a", 64),
	"ghcr.io/a/b:c@sha256:" + strings.Repeat("0", 64),
	"sha256:" + strings.Repeat("0", 64),
	strings.Repeat("0", 64), strings.Repeat("0", 63), strings.Repeat("A", 64), strings.Repeat("0", 64) + ":1",
	strings.Repeat("a", 255), strings.Repeat("a", 256), "library/" + strings.Repeat("a", 247), "library/" + strings.Repeat("a", 248),
	"x/" + strings.Repeat("a", 253), "x/" + strings.Repeat("a", 254), "example.com/" + strings.Repeat("a", 255),
	"example.com/" + strings.Repeat("a", 256), strings.Repeat("a.", 100) + "com/x",
	"../../etc/passwd", "foo bar",
}

func TestReferenceAgreesWithDistribution(t *testing.T) {
	for _, s := range trickyRefs {
		checkAgainstDistribution(t, s)
	}
}

// checkAgainstDistribution fails if our parser and distribution/reference
// differ on s: acceptance, error text, the parts, the normalised and
// familiar strings, and what TrimNamed, TagNameOnly, WithTag and
// WithDigest make of it.
func checkAgainstDistribution(t *testing.T, s string) {
	t.Helper()
	theirs, theirErr := reference.Parse(s)
	ours, ourErr := parseRef(s)
	compareRef(t, "Parse", s, theirs, theirErr, ours, ourErr)
	theirs, theirErr = reference.ParseNormalizedNamed(s)
	ours, ourErr = parseNormalizedRef(s)
	compareRef(t, "ParseNormalizedNamed", s, theirs, theirErr, ours, ourErr)
	theirs, theirErr = reference.ParseDockerRef(s)
	ours, ourErr = parseDockerRef(s)
	compareRef(t, "ParseDockerRef", s, theirs, theirErr, ours, ourErr)

	// s as a tag and as a digest.
	base := imageRef{domain: "docker.io", path: "library/x"}
	baseNamed, _ := reference.WithName("docker.io/library/x")
	theirs, theirErr = reference.WithTag(baseNamed, s)
	ours, ourErr = base.withTag(s)
	compareRef(t, "WithTag", s, theirs, theirErr, ours, ourErr)
	theirs, theirErr = reference.WithDigest(baseNamed, digest.Digest(s))
	ours, ourErr = base.withDigest(digest.Digest(s))
	compareRef(t, "WithDigest", s, theirs, theirErr, ours, ourErr)
}

func compareRef(t *testing.T, fn, s string, ref reference.Reference, theirErr error, ours imageRef, ourErr error) {
	t.Helper()
	if theirErr != nil || ourErr != nil {
		if theirErr == nil || ourErr == nil || theirErr.Error() != ourErr.Error() {
			t.Fatalf("%s(%q): distribution says %v (error %v), we say %v (error %v)", fn, s, ref, theirErr, ours, ourErr)
		}
		return
	}
	theirs, ok := ref.(reference.Named)
	if !ok {
		t.Fatalf("%s(%q) = %v: a reference without a name", fn, s, ref)
	}
	var tag string
	var dgst digest.Digest
	if tagged, ok := theirs.(reference.Tagged); ok {
		tag = tagged.Tag()
	}
	if digested, ok := theirs.(reference.Digested); ok {
		dgst = digested.Digest()
	}
	want := []string{theirs.String(), reference.Domain(theirs), reference.Path(theirs), theirs.Name(), tag, string(dgst),
		reference.FamiliarString(theirs), reference.TrimNamed(theirs).String(), reference.TagNameOnly(theirs).String()}
	got := []string{ours.String(), ours.domain, ours.path, ours.name(), ours.tag, string(ours.digest),
		ours.familiar(), ours.repository().String(), ours.tagNameOnly().String()}
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("%s(%q): distribution says %q, we say %q\n(string, domain, path, name, tag, digest, familiar, trimmed, tagNameOnly)",
				fn, s, want, got)
		}
	}
	theirTagged, err1 := reference.WithTag(theirs, "v1")
	ourTagged, err2 := ours.withTag("v1")
	if err1 != nil || err2 != nil || theirTagged.String() != ourTagged.String() {
		t.Fatalf("%s(%q) with tag v1: distribution says %v %v, we say %v %v", fn, s, theirTagged, err1, ourTagged, err2)
	}
	d := digest.Digest("sha256:" + strings.Repeat("c", 64))
	theirDigested, err1 := reference.WithDigest(theirs, d)
	ourDigested, err2 := ours.withDigest(d)
	if err1 != nil || err2 != nil || theirDigested.String() != ourDigested.String() {
		t.Fatalf("%s(%q) with a digest: distribution says %v %v, we say %v %v", fn, s, theirDigested, err1, ourDigested, err2)
	}
}

// BenchmarkParseDockerRef: ours and distribution/reference's, on the
// references a user types.
func BenchmarkParseDockerRef(b *testing.B) {
	refs := []string{"busybox", "library/busybox:1.36", "localhost:5000/x/y:v1", "ghcr.io/a/b@sha256:" + strings.Repeat("ab", 32)}
	b.Run("ours", func(b *testing.B) {
		for b.Loop() {
			for _, s := range refs {
				if _, err := parseDockerRef(s); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("distribution", func(b *testing.B) {
		for b.Loop() {
			for _, s := range refs {
				if _, err := reference.ParseDockerRef(s); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
