package image

// Fuzz targets for what an image hands us: references (typed by users,
// written in scripts and compose files) and layer tars (written by whoever
// built the image: untrusted).
//
// The layer fuzzers assert extract.go's promise: whatever a tar holds,
// nothing is created, changed or linked outside the layer directory. Each
// input is unpacked into a fresh sandbox directory that holds, next to the
// layer, a "host" file and directory the tar can aim at by name ("/secret",
// "../secret", a symlink to "/outdir" ...). When the test runs as root, the
// process chroot(2)s into the sandbox for the unpack (and back out with the
// saved root directory), so that a bug the fuzzer finds writes into the
// sandbox, never over the real host, and absolute names in the tar aim at
// the planted files. Afterwards the sandbox must hold exactly what it held
// before, plus the layer; every hard link in the layer links only files of
// the layer.
//
// Seeds: testdata/fuzz/FuzzXxx/ (committed). Run one for a while with
//
//	go test -run '^$' -fuzz '^FuzzUnpackEntries$' -fuzztime 60s ./image
//
// or all of them with `make fuzz`.

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/distribution/reference"
	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

func FuzzNormalizeRef(f *testing.F) {
	for _, s := range append(trickyRefs, "library/busybox:1.36", "ghcr.io/a/b@sha256:"+strings.Repeat("ab", 32)) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Our parser (reference.go) and distribution/reference agree.
		checkAgainstDistribution(t, s)

		n, err := NormalizeRef(s)
		if err != nil {
			if n != "" {
				t.Fatalf("NormalizeRef(%q) = %q with error %v", s, n, err)
			}
			return
		}
		if strings.IndexFunc(n, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			t.Fatalf("NormalizeRef(%q) = %q: space or control character in a store key", s, n)
		}
		named, err := reference.ParseNamed(n) // canonical form only
		if err != nil {
			t.Fatalf("NormalizeRef(%q) = %q, which is not canonical: %v", s, n, err)
		}
		if reference.Path(named) == "" {
			t.Fatalf("NormalizeRef(%q) = %q: empty repository", s, n)
		}
		// Docker leaves the registry empty in one case only: a first
		// component with a "." that is no host name, as in "a_b.c/x"
		// (see reference.go).
		if first, _, _ := strings.Cut(n, "/"); reference.Domain(named) == "" && (!strings.Contains(first, ".") || isDomain(first)) {
			t.Fatalf("NormalizeRef(%q) = %q: empty registry", s, n)
		}
		_, tagged := named.(reference.Tagged)
		_, digested := named.(reference.Digested)
		if tagged == digested {
			t.Fatalf("NormalizeRef(%q) = %q: want exactly one of tag or digest", s, n)
		}
		if again, err := NormalizeRef(n); err != nil || again != n {
			t.Fatalf("NormalizeRef is not idempotent: %q -> %q -> %q, %v", s, n, again, err)
		}
		fam := FamiliarRef(n)
		// Docker's familiar form drops "docker.io/" even where the first
		// component then reads as a registry: "docker.io/a.b/c" prints as
		// "a.b/c", "docker.io/localhost/x" as "localhost/x". Docker Hub
		// has no such namespaces; we print what Docker prints.
		if first, _, _ := strings.Cut(fam, "/"); strings.HasPrefix(n, "docker.io/") &&
			(strings.Contains(first, ".") || first == "localhost") {
			return
		}
		if back, err := NormalizeRef(fam); err != nil || back != n {
			t.Fatalf("FamiliarRef(%q) = %q normalises to %q, %v", n, fam, back, err)
		}
	})
}

// FuzzUnpackEntries builds a tar from a small script, one entry a line,
// "TYPE NAME [ARG]", so that mutations change names, link targets and
// types rather than breaking tar checksums:
//
//	d NAME [MODE]       directory          f NAME [CONTENT]   file
//	l NAME TARGET       symlink            h NAME TARGET      hard link
//	c|b NAME [MAJ,MIN]  device node        p NAME             fifo
//	m NAME MODE         file with mode (setuid ...)
//	x NAME KEY=VALUE    file with an extended attribute (PAX SCHILY.xattr.)
func FuzzUnpackEntries(f *testing.F) {
	f.Add("l up ../../..\nf up/evil x\n")
	f.Add("l etc /outdir\nf etc/passwd root::0:0\n")
	f.Fuzz(func(t *testing.T, script string) {
		data, ok := scriptTar(script)
		if !ok {
			return
		}
		checkUnpackConfined(t, data)
	})
}

// FuzzUnpackTar feeds raw bytes (plain, gzip or zstd tar) to the unpacker,
// for the readers' sake: headers, PAX records, GNU sparse maps, sizes.
func FuzzUnpackTar(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if !smallTar(data) {
			return
		}
		checkUnpackConfined(t, data)
	})
}

// smallTar bounds what the harness unpacks: at most 256 entries of at most
// 1 MiB (logical size: a sparse entry of a few bytes can claim a terabyte of
// zeros that the unpacker would write out; that is a disk quota question, not
// a confinement one, and must not fill the machine that fuzzes).
func smallTar(data []byte) bool {
	plain, err := decompress(bytes.NewReader(data))
	if err != nil {
		return true // the unpacker's error path: cheap
	}
	defer plain.Close()
	tr := tar.NewReader(io.LimitReader(plain, 64<<20))
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err != nil {
			return true
		}
		if n > 256 || hdr.Size > 1<<20 {
			return false
		}
	}
}

// scriptTar turns FuzzUnpackEntries' script into a tar; false if the tar
// writer refuses a header (that is the writer's business, not ours).
func scriptTar(script string) ([]byte, bool) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	lines := strings.Split(script, "\n")
	if len(lines) > 64 {
		return nil, false
	}
	for _, line := range lines {
		if line == "" {
			continue
		}
		fields := strings.SplitN(line, " ", 3)
		if len(fields) < 2 || len(fields[0]) != 1 {
			continue
		}
		arg := ""
		if len(fields) == 3 {
			arg = fields[2]
		}
		hdr := tar.Header{Name: fields[1], Mode: 0o644, ModTime: testTime, Format: tar.FormatPAX}
		body := ""
		switch fields[0][0] {
		case 'd':
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
			if m, err := strconv.ParseInt(arg, 8, 64); err == nil {
				hdr.Mode = m
			}
		case 'f':
			hdr.Typeflag, body = tar.TypeReg, arg
		case 'm':
			hdr.Typeflag = tar.TypeReg
			if m, err := strconv.ParseInt(arg, 8, 64); err == nil {
				hdr.Mode = m
			}
		case 'x':
			hdr.Typeflag = tar.TypeReg
			k, v, _ := strings.Cut(arg, "=")
			hdr.PAXRecords = map[string]string{"SCHILY.xattr." + k: v}
		case 'l':
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, arg
		case 'h':
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, arg
		case 'c', 'b':
			hdr.Typeflag, hdr.Devmajor, hdr.Devminor = tar.TypeChar, 1, 3
			if fields[0] == "b" {
				hdr.Typeflag = tar.TypeBlock
			}
			if a, b, ok := strings.Cut(arg, ","); ok {
				hdr.Devmajor, _ = strconv.ParseInt(a, 10, 32)
				hdr.Devminor, _ = strconv.ParseInt(b, 10, 32)
			}
		case 'p':
			hdr.Typeflag = tar.TypeFifo
		default:
			continue
		}
		hdr.Size = int64(len(body))
		if err := tw.WriteHeader(&hdr); err != nil {
			return nil, false
		}
		if _, err := io.WriteString(tw, body); err != nil {
			return nil, false
		}
	}
	if err := tw.Close(); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

// checkUnpackConfined unpacks data into a sandbox's layer directory and
// fails if anything outside the layer was created, changed or hard-linked.
// An unpack error is fine (refusing is allowed); an escape never is.
func checkUnpackConfined(t *testing.T, data []byte) {
	sb := t.TempDir()
	secret := filepath.Join(sb, "secret")
	if err := os.WriteFile(secret, []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"outdir", "layer"} {
		if err := os.Mkdir(filepath.Join(sb, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var before unix.Stat_t
	if err := unix.Lstat(secret, &before); err != nil {
		t.Fatal(err)
	}

	layer := filepath.Join(sb, "layer")
	var unpackErr error
	if os.Geteuid() == 0 {
		unpackErr = inChroot(t, sb, func() error {
			_, err := unpackTar(bytes.NewReader(data), "/layer", digest.SHA256)
			return err
		})
	} else {
		_, unpackErr = unpackTar(bytes.NewReader(data), layer, digest.SHA256)
	}
	_ = unpackErr // refusing a layer is allowed; escaping is not

	names, err := os.ReadDir(sb)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 3 {
		var got []string
		for _, n := range names {
			got = append(got, n.Name())
		}
		t.Fatalf("the unpack created %q next to the layer (unpack error: %v)", got, unpackErr)
	}
	if out, _ := os.ReadDir(filepath.Join(sb, "outdir")); len(out) != 0 {
		t.Fatalf("the unpack wrote into a directory outside the layer: %v", out)
	}
	var after unix.Stat_t
	if err := unix.Lstat(secret, &after); err != nil {
		t.Fatalf("the file outside the layer is gone: %v", err)
	}
	content, _ := os.ReadFile(secret)
	if string(content) != "host secret" || after.Mode != before.Mode || after.Uid != before.Uid ||
		after.Gid != before.Gid || after.Nlink != 1 || after.Mtim != before.Mtim {
		t.Fatalf("the file outside the layer changed: %q mode %o uid %d nlink %d (unpack error: %v)",
			content, after.Mode, after.Uid, after.Nlink, unpackErr)
	}
	// Every hard link in the layer links files of the layer only: an inode
	// with n links is found n times inside.
	links := map[uint64]uint64{}
	nlink := map[uint64]uint64{}
	err = filepath.WalkDir(layer, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR && st.Nlink > 1 {
			links[st.Ino]++
			nlink[st.Ino] = uint64(st.Nlink)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for ino, n := range links {
		if n != nlink[ino] {
			t.Fatalf("inode %d has %d links but only %d are in the layer", ino, nlink[ino], n)
		}
	}
}

// inChroot runs fn with the process's root directory (and working
// directory) set to dir, and restores both after, through file descriptors
// of the old ones (man 2 chroot). chroot changes every thread of the
// process: nothing else may run in the test binary meanwhile, which holds
// for fuzz inputs (one at a time per worker process).
func inChroot(t *testing.T, dir string, fn func() error) error {
	oldRoot, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(oldRoot)
	oldCwd, err := unix.Open(".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(oldCwd)
	if err := unix.Chroot(dir); err != nil {
		t.Fatalf("chroot %s: %v", dir, err)
	}
	defer func() {
		// The saved root is outside the chroot: fchdir to it, and "." is
		// the real root again.
		if err := unix.Fchdir(oldRoot); err != nil {
			panic("leave the chroot: " + err.Error())
		}
		if err := unix.Chroot("."); err != nil {
			panic("leave the chroot: " + err.Error())
		}
		if err := unix.Fchdir(oldCwd); err != nil {
			panic("restore the working directory: " + err.Error())
		}
	}()
	if err := unix.Chdir("/"); err != nil {
		t.Fatal(err)
	}
	return fn()
}
