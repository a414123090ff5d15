package image

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// unpack stores data as an uncompressed layer blob and unpacks it.
func unpack(t *testing.T, s *Store, data []byte) (string, error) {
	t.Helper()
	desc, err := s.PutBlob(bytes.NewReader(data), "")
	if err != nil {
		t.Fatal(err)
	}
	return s.UnpackLayer(desc.Digest, ocispec.MediaTypeImageLayer, desc.Digest)
}

func TestCleanEntryName(t *testing.T) {
	tests := []struct {
		in, want string
		escape   bool
	}{
		{in: "a/b", want: "a/b"},
		{in: "./a/b/", want: "a/b"},
		{in: "./", want: "."},
		{in: "/", want: "."},
		{in: "/etc/passwd", want: "etc/passwd"},
		{in: "a/../b", want: "b"},
		{in: "/../../x", want: "x"},
		{in: "..", escape: true},
		{in: "../evil", escape: true},
		{in: "a/../../evil", escape: true},
		{in: "./../evil", escape: true},
	}
	for _, tt := range tests {
		got, err := cleanEntryName(tt.in)
		if tt.escape {
			if err != errEscape {
				t.Errorf("cleanEntryName(%q) = %q, %v; want errEscape", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("cleanEntryName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestUnpackTraversal feeds hostile tars and checks that nothing appears
// outside the layer: the only thing in the parent directory is the store,
// and in the store nothing exists but the OCI layout and the layer dir.
func TestUnpackTraversal(t *testing.T) {
	type check func(t *testing.T, parent, layer string)
	tests := []struct {
		name    string
		entries func(parent string) []entry
		wantErr string // "" if the tar must unpack (with the entry neutralised)
		check   check
	}{
		{
			name:    "dotdot",
			entries: func(string) []entry { return []entry{file("../evil", "x", 0o644)} },
			wantErr: `entry "../evil": path escapes the layer`,
		},
		{
			name: "dotdot to parent",
			// layer = parent/store/layers/<hex>: three levels up is parent.
			entries: func(string) []entry { return []entry{file("a/../../../../evil", "x", 0o644)} },
			wantErr: "path escapes the layer",
		},
		{
			name: "absolute name",
			entries: func(parent string) []entry {
				return []entry{file(filepath.Join(parent, "abs-evil"), "x", 0o644)}
			},
			check: func(t *testing.T, parent, layer string) {
				if _, err := os.Stat(filepath.Join(layer, parent, "abs-evil")); err != nil {
					t.Errorf("absolute entry not made relative to the layer: %v", err)
				}
			},
		},
		{
			name: "symlink parent absolute",
			entries: func(parent string) []entry {
				return []entry{symlink("link", filepath.Join(parent, "x")), file("link/file", "x", 0o644)}
			},
			check: func(t *testing.T, parent, layer string) {
				// Followed as in a chroot: lands inside the layer.
				if _, err := os.Stat(filepath.Join(layer, parent, "x", "file")); err != nil {
					t.Errorf("file through symlink not inside the layer: %v", err)
				}
			},
		},
		{
			name: "symlink parent relative",
			entries: func(parent string) []entry {
				// Exactly as many ".." as lead to parent (layer =
				// parent/store/layers/<hex>), so even a broken unpacker
				// writes only into the test's temporary directory.
				return []entry{symlink("up", "../../.."), file("up/evil", "x", 0o644)}
			},
			check: func(t *testing.T, parent, layer string) {
				if _, err := os.Stat(filepath.Join(layer, "evil")); err != nil {
					t.Errorf("up/evil should be clamped to the layer root: %v", err)
				}
			},
		},
		{
			name: "symlink replaced by file",
			entries: func(parent string) []entry {
				return []entry{symlink("s", filepath.Join(parent, "overwritten")), file("s", "content", 0o644)}
			},
			check: func(t *testing.T, parent, layer string) {
				fi, err := os.Lstat(filepath.Join(layer, "s"))
				if err != nil || !fi.Mode().IsRegular() {
					t.Errorf("s should be a regular file now: %v %v", fi, err)
				}
			},
		},
		{
			name: "symlink replaced by dir",
			entries: func(parent string) []entry {
				return []entry{symlink("d", parent), dir("d/", 0o755), file("d/evil", "x", 0o644)}
			},
			check: func(t *testing.T, parent, layer string) {
				if _, err := os.Stat(filepath.Join(layer, "d", "evil")); err != nil {
					t.Error(err)
				}
			},
		},
		{
			name: "hardlink dotdot",
			entries: func(string) []entry {
				return []entry{hardlink("passwd", "../../etc/passwd")}
			},
			wantErr: `entry "passwd": hard link target "../../etc/passwd": path escapes the layer`,
		},
		{
			name: "hardlink absolute",
			entries: func(parent string) []entry {
				return []entry{hardlink("secret", filepath.Join(parent, "secret"))}
			},
			wantErr: "hard link target",
		},
		{
			name: "hardlink through symlink",
			entries: func(parent string) []entry {
				return []entry{symlink("l", parent), hardlink("h", "l/secret")}
			},
			wantErr: "hard link target",
		},
		{
			name: "whiteout through symlink",
			entries: func(parent string) []entry {
				return []entry{symlink("w", parent), file("w/.wh.secret", "", 0o644)}
			},
			check: func(t *testing.T, parent, layer string) {
				var st unix.Stat_t
				err := unix.Lstat(filepath.Join(layer, parent, "secret"), &st)
				if err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
					t.Errorf("whiteout not made inside the layer: %v", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "whiteout through symlink" {
				needRoot(t)
			}
			parent := t.TempDir()
			// A file outside the store that attacks aim at.
			secret := filepath.Join(parent, "secret")
			if err := os.WriteFile(secret, []byte("host secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(filepath.Join(parent, "store"))
			if err != nil {
				t.Fatal(err)
			}
			data := buildTar(t, tt.entries(parent)...)
			layer, err := unpack(t, s, data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("unpack error = %v, want it to contain %q", err, tt.wantErr)
				}
				if names := readDirNames(t, s.layersDir()); len(names) != 0 {
					t.Errorf("layers/ not empty after a refused layer: %v", names)
				}
			} else if err != nil {
				t.Fatalf("unpack: %v", err)
			}

			// Nothing but "secret" and "store" in the parent ...
			if got := strings.Join(readDirNames(t, parent), " "); got != "secret store" {
				t.Errorf("parent dir holds %q, want \"secret store\"", got)
			}
			// ... the secret untouched and not linked anywhere ...
			var st unix.Stat_t
			if err := unix.Stat(secret, &st); err != nil || st.Nlink != 1 {
				t.Errorf("secret: nlink %d, %v", st.Nlink, err)
			}
			if data, _ := os.ReadFile(secret); string(data) != "host secret" {
				t.Errorf("secret overwritten: %q", data)
			}
			// ... and in the store only the layout, blobs and the layer.
			for _, p := range listTree(t, s.Root) {
				ok := p == "." || p == "images" || p == "layers" ||
					strings.HasPrefix(p, "images/blobs") ||
					p == "images/index.json" || p == "images/oci-layout" || p == "images/.lock" ||
					(err == nil && strings.HasPrefix(filepath.Join(s.Root, p), layer))
				if !ok {
					t.Errorf("unexpected path in the store: %s", p)
				}
			}
			assertNoTemp(t, s)
			if tt.check != nil && err == nil {
				tt.check(t, parent, layer)
			}
		})
	}
}

func TestUnpackWhiteouts(t *testing.T) {
	needRoot(t)
	s := openStore(t)
	layer, err := unpack(t, s, buildTar(t,
		dir("a/", 0o755),
		file("a/.wh.gone", "", 0o644),
		dir("b/", 0o755),
		file("b/.wh..wh..opq", "", 0o644),
		file("b/new", "new", 0o644),
		file(".wh.toplevel", "", 0o644),
		file("c/keep", "kept", 0o644),
		file("c/.wh.keep", "", 0o644), // same layer: the file wins
		file("d/.wh.later", "", 0o644),
		file("d/later", "later", 0o644),       // a later entry replaces the whiteout
		file("e/.wh..wh.plnk", "", 0o644),     // AUFS metadata: skipped
		file("nodir/.wh..wh..opq", "", 0o644), // parent created
	))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a/gone", "toplevel"} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(layer, name), &st); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("%s: mode %o rdev %d, want a 0/0 character device", name, st.Mode, st.Rdev)
		}
	}
	for _, name := range []string{"a/.wh.gone", ".wh.toplevel", "b/.wh..wh..opq", "e/.wh..wh.plnk"} {
		if _, err := os.Lstat(filepath.Join(layer, name)); !os.IsNotExist(err) {
			t.Errorf("%s should not exist: %v", name, err)
		}
	}
	for _, d := range []string{"b", "nodir"} {
		buf := make([]byte, 8)
		n, err := unix.Lgetxattr(filepath.Join(layer, d), "trusted.overlay.opaque", buf)
		if err != nil || string(buf[:n]) != "y" {
			t.Errorf("%s: trusted.overlay.opaque = %q, %v; want \"y\"", d, buf[:n], err)
		}
	}
	if _, err := unix.Lgetxattr(filepath.Join(layer, "a"), "trusted.overlay.opaque", make([]byte, 8)); err == nil {
		t.Errorf("a must not be opaque")
	}
	for name, want := range map[string]string{"b/new": "new", "c/keep": "kept", "d/later": "later"} {
		if data, err := os.ReadFile(filepath.Join(layer, name)); err != nil || string(data) != want {
			t.Errorf("%s = %q, %v; want %q", name, data, err, want)
		}
	}
}

func TestUnpackMetadata(t *testing.T) {
	needRoot(t)
	s := openStore(t)
	mtime := time.Unix(1_234_567_890, 123_000_000)
	// PAX keeps sub-second times (USTAR has whole seconds only).
	withTime := func(e entry) entry { e.hdr.ModTime, e.hdr.Format = mtime, tar.FormatPAX; return e }
	owned := func(e entry, uid, gid int) entry { e.hdr.Uid, e.hdr.Gid = uid, gid; return e }
	xattrFile := file("caps", "x", 0o755)
	xattrFile.hdr.PAXRecords = map[string]string{
		"SCHILY.xattr.user.minirun":             "hello",
		"SCHILY.xattr.trusted.overlay.redirect": "/etc", // must be ignored
	}
	dev := entry{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3, ModTime: testTime}}
	blk := entry{hdr: tar.Header{Typeflag: tar.TypeBlock, Name: "dev/loop9", Mode: 0o660, Devmajor: 7, Devminor: 9, ModTime: testTime}}
	fifo := entry{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "fifo", Mode: 0o600, ModTime: testTime}}

	layer, err := unpack(t, s, buildTar(t,
		withTime(dir("./", 0o750)),
		owned(file("suid", "x", 0o4755), 0, 0),
		owned(file("sgid", "x", 0o2711), 1234, 5678),
		withTime(dir("tmp/", 0o1777)),
		file("tmp/inside", "x", 0o600), // changes tmp's mtime, which must be restored
		owned(withTime(symlink("link", "/nowhere")), 42, 43),
		xattrFile,
		dev, blk, fifo,
		file("orig", "shared", 0o640),
		hardlink("hard", "orig"),
	))
	if err != nil {
		t.Fatal(err)
	}
	stat := func(name string) *unix.Stat_t {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(layer, name), &st); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return &st
	}
	modes := map[string]uint32{
		".": unix.S_IFDIR | 0o750, "suid": unix.S_IFREG | 0o4755, "sgid": unix.S_IFREG | 0o2711,
		"tmp": unix.S_IFDIR | 0o1777, "tmp/inside": unix.S_IFREG | 0o600,
		"dev/null": unix.S_IFCHR | 0o666, "dev/loop9": unix.S_IFBLK | 0o660, "fifo": unix.S_IFIFO | 0o600,
		"link": unix.S_IFLNK,
	}
	for name, want := range modes {
		st := stat(name)
		got := st.Mode
		if name == "link" {
			got &= unix.S_IFMT
		}
		if got != want {
			t.Errorf("%s: mode %o, want %o", name, got, want)
		}
	}
	if st := stat("sgid"); st.Uid != 1234 || st.Gid != 5678 {
		t.Errorf("sgid: owner %d:%d, want 1234:5678", st.Uid, st.Gid)
	}
	if st := stat("link"); st.Uid != 42 || st.Gid != 43 {
		t.Errorf("link: owner %d:%d, want 42:43", st.Uid, st.Gid)
	}
	if target, err := os.Readlink(filepath.Join(layer, "link")); err != nil || target != "/nowhere" {
		t.Errorf("link -> %q, %v", target, err)
	}
	if st := stat("dev/null"); unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		t.Errorf("dev/null: device %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	if st := stat("dev/loop9"); unix.Major(st.Rdev) != 7 || unix.Minor(st.Rdev) != 9 {
		t.Errorf("dev/loop9: device %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	for _, name := range []string{".", "tmp", "link"} {
		st := stat(name)
		if got := time.Unix(st.Mtim.Unix()); !got.Equal(mtime) {
			t.Errorf("%s: mtime %v, want %v", name, got, mtime)
		}
	}
	if st := stat("suid"); st.Mtim.Sec != testTime.Unix() {
		t.Errorf("suid: mtime %d, want %d", st.Mtim.Sec, testTime.Unix())
	}
	if a, b := stat("orig"), stat("hard"); a.Ino != b.Ino || a.Nlink != 2 {
		t.Errorf("hard link: inodes %d/%d nlink %d", a.Ino, b.Ino, a.Nlink)
	}
	buf := make([]byte, 64)
	if n, err := unix.Lgetxattr(filepath.Join(layer, "caps"), "user.minirun", buf); err != nil || string(buf[:n]) != "hello" {
		t.Errorf("user.minirun = %q, %v", buf[:n], err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(layer, "caps"), "trusted.overlay.redirect", buf); err == nil {
		t.Errorf("trusted.overlay.redirect from the tar was applied")
	}
}

// TestUnpackDiffIDFromGzip checks that the diff ID is the hash of the
// uncompressed stream, including the tar's trailing padding.
func TestUnpackDiffIDFromGzip(t *testing.T) {
	s := openStore(t)
	plain := buildTar(t, file("f", "data", 0o644))
	plain = append(plain, make([]byte, 4096)...) // extra zero padding, as some tools write
	desc, err := s.PutBlob(bytes.NewReader(gzipped(t, plain)), "")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := s.UnpackLayer(desc.Digest, ocispec.MediaTypeImageLayerGzip, digest.FromBytes(plain))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "f")); err != nil {
		t.Error(err)
	}
}

// TestUnpackZstd unpacks a zstd-compressed layer (media type tar+zstd, and
// detected by its magic bytes under another type) and checks that the diff
// ID is the hash of the uncompressed stream, padding included.
func TestUnpackZstd(t *testing.T) {
	s := openStore(t)
	plain := buildTar(t, dir("etc/", 0o755), file("etc/os-release", "ID=zstd\n", 0o644))
	plain = append(plain, make([]byte, 2048)...)
	compressed := zstded(t, plain)
	if !bytes.HasPrefix(compressed, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		t.Fatalf("test data does not start with the zstd magic: % x", compressed[:4])
	}
	desc, err := s.PutBlob(bytes.NewReader(compressed), "")
	if err != nil {
		t.Fatal(err)
	}
	diffID := digest.FromBytes(plain)

	// The wrong diff ID is refused and leaves nothing behind.
	if _, err := s.UnpackLayer(desc.Digest, ocispec.MediaTypeImageLayerZstd, desc.Digest); err == nil || !strings.Contains(err.Error(), "diff ID mismatch") {
		t.Errorf("UnpackLayer with the compressed digest as diff ID: %v", err)
	}
	if n := readDirNames(t, s.layersDir()); len(n) != 0 {
		t.Errorf("layers left after a failure: %v", n)
	}

	dir, err := s.UnpackLayer(desc.Digest, ocispec.MediaTypeImageLayerZstd, diffID)
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "etc/os-release")); err != nil || string(data) != "ID=zstd\n" {
		t.Errorf("etc/os-release = %q, %v", data, err)
	}

	// Detection by magic bytes: the same blob under an empty media type, in
	// a fresh store.
	s2 := openStore(t)
	desc2, err := s2.PutBlob(bytes.NewReader(compressed), desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.UnpackLayer(desc2.Digest, "", diffID); err != nil {
		t.Errorf("zstd blob without media type: %v", err)
	}

	// A corrupt zstd stream (valid magic, garbage after it) fails cleanly.
	bad := append([]byte{}, compressed[:len(compressed)/2]...)
	badDesc, err := s.PutBlob(bytes.NewReader(bad), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UnpackLayer(badDesc.Digest, ocispec.MediaTypeImageLayerZstd, digest.FromString("x")); err == nil {
		t.Errorf("truncated zstd layer unpacked")
	}

	// Import accepts a zstd-compressed root filesystem too.
	img, err := s.Import(bytes.NewReader(zstded(t, rootfsTar(t))), "zstd-import", ocispec.ImageConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if img.Config.RootFS.DiffIDs[0] != digest.FromBytes(rootfsTar(t)) {
		t.Errorf("zstd import diff ID = %s", img.Config.RootFS.DiffIDs[0])
	}
	assertNoTemp(t, s)
	assertNoTemp(t, s2)
}
