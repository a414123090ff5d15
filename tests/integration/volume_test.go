package integration

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// volName is a volume name of this test run; the volume is removed when
// the test ends, whatever happens to it.
func volName(t *testing.T, what string) string {
	t.Helper()
	n := fmt.Sprintf("it-%s-%d", what, os.Getpid())
	t.Cleanup(func() { minirun(t, "", "volume", "rm", "-f", n) })
	return n
}

// volumeNames lists the volume store's directory (not its lock).
func volumeNames() []string {
	var out []string
	for _, e := range entries(filepath.Join(dataRoot, "volumes")) {
		if !strings.HasPrefix(e, ".") {
			out = append(out, e)
		}
	}
	return out
}

func volData(name string) string { return filepath.Join(dataRoot, "volumes", name, "_data") }

// A named volume keeps its data from one container to the next, outside
// the overlay, and is listed by `volume ls`.
func TestVolumeNamedPersists(t *testing.T) {
	v := volName(t, "persist")
	r := run(t, 0, "run", "--rm", "-v", v+":/data", "busybox", "sh", "-c", "echo hello > /data/f; grep ' /data ' /proc/self/mountinfo | grep -c overlay; true")
	if r.stdout != "0\n" {
		t.Fatalf("/data is on the overlay: %q", r.stdout)
	}
	if b, err := os.ReadFile(filepath.Join(volData(v), "f")); err != nil || string(b) != "hello\n" {
		t.Fatalf("the volume's directory on the host: %q %v", b, err)
	}
	r = run(t, 0, "run", "--rm", "-v", v+":/data", "busybox", "cat", "/data/f")
	if r.stdout != "hello\n" {
		t.Fatalf("second container read %q", r.stdout)
	}
	r = run(t, 0, "volume", "ls", "-q")
	if !strings.Contains("\n"+r.stdout, "\n"+v+"\n") {
		t.Fatalf("volume ls -q: %q", r.stdout)
	}
	run(t, 0, "volume", "rm", v)
	if _, err := os.Stat(filepath.Join(dataRoot, "volumes", v)); !os.IsNotExist(err) {
		t.Fatalf("volume directory after rm: %v", err)
	}
	assertClean(t)
}

// An empty volume is seeded with what the image has at its path (also one
// made empty by `volume create`), once; nocopy leaves it empty. The
// /etc/hosts, /etc/hostname and /etc/resolv.conf bind mounts still come
// on top of a volume at /etc (parents are mounted first).
func TestVolumeSeededFromImage(t *testing.T) {
	v, pre, nocopy := volName(t, "seed"), volName(t, "seedpre"), volName(t, "nocopy")
	r := run(t, 0, "run", "--rm", "--hostname", "seeded", "-v", v+":/etc", "busybox", "sh", "-c",
		"grep ^root: /etc/passwd; cat /etc/hostname; awk '$5 ~ /^\\/etc\\/(hosts|hostname|resolv.conf)$/' /proc/self/mountinfo | wc -l; echo changed > /etc/motd")
	if r.stdout != "root:x:0:0:root:/root:/bin/sh\nseeded\n3\n" {
		t.Fatalf("volume on /etc: %q", r.stdout)
	}
	// Not empty now: the image's /etc is not copied again (the volume wins).
	os.Remove(filepath.Join(volData(v), "group"))
	r = run(t, 0, "run", "--rm", "-v", v+":/etc", "busybox", "sh", "-c", "cat /etc/motd; test -e /etc/group && echo group-back || echo no-group")
	if r.stdout != "changed\nno-group\n" {
		t.Fatalf("second use: %q", r.stdout)
	}
	// A volume made empty by `volume create` is seeded on first use;
	// nocopy leaves one empty.
	run(t, 0, "volume", "create", pre)
	r = run(t, 0, "run", "--rm", "-v", pre+":/etc", "--mount", "type=volume,src="+nocopy+",dst=/root,volume-nocopy", "busybox", "sh", "-c",
		"test -s /etc/group && echo seeded; ls -A /root | wc -l")
	if r.stdout != "seeded\n0\n" {
		t.Fatalf("created volume / nocopy: %q", r.stdout)
	}
	if fi, _ := os.Stat(volData(pre)); fi.Mode().Perm() != 0o755 {
		t.Fatalf("volume at /etc has mode %v, want the image's 0755", fi.Mode())
	}
	// The volume's root takes the image directory's owner and mode: /root is 0700.
	r = run(t, 0, "run", "--rm", "-v", "/root", "busybox", "stat", "-c", "%a", "/root")
	if r.stdout != "700\n" {
		t.Fatalf("anonymous volume at /root: mode %q, want the image's 700", r.stdout)
	}
	run(t, 0, "volume", "rm", v, pre, nocopy)
	assertClean(t)
}

// :ro is enforced: a bind mount and a volume are read-only mounts, and a
// write fails with EROFS.
func TestVolumeReadOnly(t *testing.T) {
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "f"), []byte("host file\n"), 0o644)
	v := volName(t, "ro")
	for _, args := range [][]string{
		{"-v", host + ":/data:ro"},
		{"-v", v + ":/data:ro"},
		{"--mount", "type=bind,src=" + host + ",dst=/data,readonly"},
		{"--mount", "type=volume,src=" + v + ",dst=/data,ro=true"},
		{"--tmpfs", "/data:ro"},
	} {
		cmd := append(append([]string{"run", "--rm"}, args...), "busybox", "sh", "-c",
			"awk '$2 == \"/data\" {print $4}' /proc/mounts | cut -d, -f1; touch /data/new")
		r := minirun(t, "", cmd...)
		if r.code != 1 || r.stdout != "ro\n" || !strings.Contains(r.stderr, "Read-only file system") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want ro and Read-only file system", args, r.code, r.stdout, r.stderr)
		}
	}
	if ents := entries(host); !reflect.DeepEqual(ents, []string{"f"}) {
		t.Fatalf("host directory after read-only runs: %v", ents)
	}
	if ents := entries(volData(v)); len(ents) != 0 {
		t.Fatalf("volume after read-only runs: %v", ents)
	}
	// rw (and no mode) are writable.
	run(t, 0, "run", "--rm", "-v", host+":/data:rw", "-v", v+":/v", "busybox", "sh", "-c", "touch /data/new /v/new")
	run(t, 0, "volume", "rm", v)
	assertClean(t)
}

// A bind mount shows the host's files, writes land on the host, and -v
// makes a missing host directory (--mount does not: see TestVolumeBadInput).
func TestVolumeBindHostDir(t *testing.T) {
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "from-host"), []byte("hello from the host\n"), 0o644)
	missing := filepath.Join(t.TempDir(), "made", "by-v")
	os.Mkdir(filepath.Join(host, "sub"), 0o755)
	os.WriteFile(filepath.Join(host, "sub", "file"), []byte("single file\n"), 0o644)
	r := run(t, 0, "run", "--rm", "-v", host+":/data", "-v", missing+":/made", "-v", filepath.Join(host, "sub", "file")+":/etc/single:ro",
		"busybox", "sh", "-c", "cat /data/from-host /etc/single; echo from-container > /data/back; echo x > /made/y; ls /data")
	if r.stdout != "hello from the host\nsingle file\nback\nfrom-host\nsub\n" {
		t.Fatalf("container saw %q", r.stdout)
	}
	if b, _ := os.ReadFile(filepath.Join(host, "back")); string(b) != "from-container\n" {
		t.Fatalf("write did not reach the host: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(missing, "y")); string(b) != "x\n" {
		t.Fatalf("-v did not create the missing host directory: %q", b)
	}
	// Relative paths ("./dir", as the docker CLI takes them) are the
	// current directory's.
	cmd := []string{"run", "--rm", "-v", "./sub:/rel", "busybox", "cat", "/rel/file"}
	wd, _ := os.Getwd()
	os.Chdir(host)
	r = minirun(t, "", cmd...)
	os.Chdir(wd)
	if r.code != 0 || r.stdout != "single file\n" {
		t.Fatalf("-v ./sub: %d %q %q", r.code, r.stdout, r.stderr)
	}
	assertClean(t)
}

// --tmpfs and --mount type=tmpfs are tmpfs mounts with Docker's default
// flags and the size and mode asked for.
func TestVolumeTmpfs(t *testing.T) {
	r := run(t, 0, "run", "--rm", "--tmpfs", "/run:size=64m,mode=1777", "--tmpfs", "/x:exec,size=1m", "--mount", "type=tmpfs,dst=/m,tmpfs-size=2m,tmpfs-mode=700",
		"busybox", "sh", "-c", "grep -E ' /(run|x|m) ' /proc/mounts; stat -c %a /run /m; dd if=/dev/zero of=/x/big bs=1k count=2048 2>&1 | grep -o 'No space left on device'")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 6 {
		t.Fatalf("output: %q", r.stdout)
	}
	mounts := map[string][]string{}
	for _, l := range lines[:3] {
		f := strings.Fields(l)
		if f[0] != "tmpfs" || f[2] != "tmpfs" {
			t.Fatalf("not a tmpfs: %q", l)
		}
		mounts[f[1]] = strings.Split(f[3], ",")
	}
	has := func(dst, opt string) bool {
		for _, o := range mounts[dst] {
			if o == opt {
				return true
			}
		}
		return false
	}
	for _, want := range []struct {
		dst, opt string
		ok       bool
	}{
		{"/run", "size=65536k", true}, {"/run", "noexec", true}, {"/run", "nosuid", true}, {"/run", "nodev", true},
		{"/x", "size=1024k", true}, {"/x", "noexec", false}, {"/x", "nosuid", true},
		{"/m", "size=2048k", true}, {"/m", "noexec", true}, {"/m", "mode=700", true},
	} {
		if has(want.dst, want.opt) != want.ok {
			t.Errorf("%s: option %s present %v, want %v (%v)", want.dst, want.opt, !want.ok, want.ok, mounts[want.dst])
		}
	}
	if lines[3] != "1777" || lines[4] != "700" || lines[5] != "No space left on device" {
		t.Fatalf("modes / size limit: %q", lines[3:])
	}
	assertClean(t)
}

// Every --mount form in one container.
func TestVolumeMountFlag(t *testing.T) {
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "h"), []byte("H\n"), 0o644)
	v := volName(t, "mountflag")
	r := run(t, 0, "run", "--rm",
		"--mount", "type=bind,source="+host+",target=/b",
		"--mount", "type=bind,src="+host+",dst=/bro,readonly",
		"--mount", "type=volume,source="+v+",destination=/v,volume-label=team=it",
		"--mount", "src="+v+",dst=/v2", // type defaults to volume
		"--mount", "type=volume,dst=/anon",
		"--mount", "type=tmpfs,dst=/t,tmpfs-size=1m",
		"busybox", "sh", "-c", "cat /b/h; echo v > /v/f; cat /v2/f; echo a > /anon/a && cat /anon/a; "+
			"awk '$2 ~ /^\\/(b|bro|v|v2|anon|t)$/ {split($4, o, \",\"); print $2, o[1]}' /proc/mounts | sort; awk '$2 == \"/t\" {print $1, $3}' /proc/mounts")
	if want := "H\nv\na\n/anon rw\n/b rw\n/bro ro\n/t rw\n/v rw\n/v2 rw\ntmpfs tmpfs\n"; r.stdout != want {
		t.Fatalf("got\n%s\nwant\n%s", r.stdout, want)
	}
	var vols []map[string]any
	if err := json.Unmarshal([]byte(run(t, 0, "volume", "inspect", v).stdout), &vols); err != nil || len(vols) != 1 {
		t.Fatalf("inspect: %v", err)
	}
	if labels, _ := vols[0]["Labels"].(map[string]any); labels["team"] != "it" {
		t.Fatalf("volume-label: %v", vols[0]["Labels"])
	}
	run(t, 0, "volume", "rm", v)
	assertClean(t)
}

// symlinkImage imports busybox plus symlinks that point out of the root
// if they were followed on the host: /escape -> hostDir (absolute),
// /rel -> ../../../../..hostDir2 (relative, climbing), /rootlink -> /,
// /etclink -> /etc.
func symlinkImage(t *testing.T, ref, hostDir, hostDir2 string) {
	t.Helper()
	in, err := os.Open(os.Getenv("MINIRUN_TEST_BUSYBOX_TAR_RESOLVED"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	path := filepath.Join(t.TempDir(), "symlinks.tar")
	out, _ := os.Create(path)
	tw := tar.NewWriter(out)
	tr := tar.NewReader(in)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		tw.WriteHeader(h)
		io.Copy(tw, tr)
	}
	for name, target := range map[string]string{
		"./escape": hostDir, "./rel": "../../../../../../../.." + hostDir2, "./rootlink": "/", "./etclink": "/etc",
	} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	out.Close()
	run(t, 0, "import", "-c", `CMD ["sh"]`, path, ref)
	t.Cleanup(func() { minirun(t, "", "rmi", ref) })
}

// A symlink in the image cannot send a mount, or the seeding of a volume,
// to the host: destinations are resolved inside the root. The host has
// directories at the links' targets, with a secret in each. If a mount
// followed a link on the host, the container's writes through the link
// would miss the volume (they would land in the image's directory of that
// name) and a seeding would copy the host's secret into the volume.
func TestVolumeSymlinkEscape(t *testing.T) {
	hostDirs := hostSecretDirs(t)
	img := fmt.Sprintf("it-symlinks-%d:latest", os.Getpid())
	symlinkImage(t, img, hostDirs[0], hostDirs[1])
	v, etc, bad := volName(t, "escape"), volName(t, "etclink"), volName(t, "rootlink")
	bindSrc := t.TempDir()

	r := run(t, 0, "run", "--rm", "-v", v+":/escape", "-v", bindSrc+":/rel", img, "sh", "-c",
		"ls -A /escape /rel; echo in-volume > /escape/written; echo in-bind > /rel/written; "+
			"awk '{print $5}' /proc/self/mountinfo | grep -c -e '^"+hostDirs[0]+"$' -e '^"+hostDirs[1]+"$'; true")
	if strings.Contains(r.stdout, "host-secret") {
		t.Fatalf("the container saw the host's directory through the image's symlink: %q", r.stdout)
	}
	if !strings.HasSuffix(r.stdout, "\n2\n") {
		t.Fatalf("want the two mounts at %v inside the container: %q", hostDirs, r.stdout)
	}
	for _, d := range hostDirs {
		if ents := entries(d); !reflect.DeepEqual(ents, []string{"host-secret"}) {
			t.Fatalf("the host's %s was written to: %v", d, ents)
		}
		if m := mountsUnder(d); len(m) > 0 {
			t.Fatalf("a mount landed on the host: %v", m)
		}
	}
	if ents := entries(volData(v)); !reflect.DeepEqual(ents, []string{"written"}) {
		t.Fatalf("volume content %v: want only the container's write (no host-secret seeded, no write missed)", ents)
	}
	if b, _ := os.ReadFile(filepath.Join(bindSrc, "written")); string(b) != "in-bind\n" {
		t.Fatalf("bind mount through the relative link: %q", b)
	}
	// An anonymous volume: same.
	r = run(t, 0, "run", "--rm", "-v", "/escape", img, "sh", "-c", "ls -A /escape; echo x > /escape/anon")
	if r.stdout != "" || !reflect.DeepEqual(entries(hostDirs[0]), []string{"host-secret"}) {
		t.Fatalf("anonymous volume through the link: saw %q, host dir %v", r.stdout, entries(hostDirs[0]))
	}

	// /etclink -> /etc: the volume is seeded from the image's /etc and
	// mounted on the container's /etc.
	r = run(t, 0, "run", "--rm", "-v", etc+":/etclink", img, "sh", "-c", "grep -c '^root:' /etclink/passwd; awk '$5 == \"/etc\"' /proc/self/mountinfo | wc -l")
	if r.stdout != "1\n1\n" {
		t.Fatalf("/etclink: %q", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(volData(etc), "passwd")); err != nil {
		t.Fatalf("/etclink volume not seeded from the image's /etc: %v", err)
	}

	// /rootlink -> /: refused before anything is made.
	before := volumeNames()
	r = run(t, 125, "run", "--rm", "-v", bad+":/rootlink", img, "true")
	if !strings.Contains(r.stderr, "resolves to the container's root") {
		t.Fatalf("stderr: %q", r.stderr)
	}
	if after := volumeNames(); !reflect.DeepEqual(before, after) {
		t.Fatalf("volumes before %v, after %v", before, after)
	}
	run(t, 0, "volume", "rm", v, etc)
	assertClean(t)
}

// A user's volume replaces the image's VOLUME at the same path, and is
// seeded from the image.
func TestVolumeOverridesImageVolume(t *testing.T) {
	host := testRegistry(t)
	l1 := tarLayer(t, [][2]string{{"srv/", ""}, {"srv/data/", ""}, {"srv/data/seed", "from-image"}})
	pushImage(t, host+"/test/volover:1", func(c *v1.Config) { c.Volumes = map[string]struct{}{"/srv/data": {}} }, l1)
	v := volName(t, "override")
	r := run(t, 0, "run", "--rm", "-v", v+":/srv/data", host+"/test/volover:1", "sh", "-c",
		"cat /srv/data/seed; echo; echo mine > /srv/data/mine; awk '$5 == \"/srv/data\"' /proc/self/mountinfo | wc -l")
	if r.stdout != "from-image\n1\n" {
		t.Fatalf("got %q", r.stdout)
	}
	if ents := entries(volData(v)); !reflect.DeepEqual(ents, []string{"mine", "seed"}) {
		t.Fatalf("named volume: %v", ents)
	}
	run(t, 0, "rmi", host+"/test/volover:1")
	run(t, 0, "volume", "rm", v)
	assertClean(t)
}

// volume create / ls / inspect / rm / prune, and rm refused while a
// stopped container uses the volume.
func TestVolumeCommands(t *testing.T) {
	v, used, unused := volName(t, "cmd"), volName(t, "used"), volName(t, "unused")
	if r := run(t, 0, "volume", "create", v); r.stdout != v+"\n" {
		t.Fatalf("create printed %q", r.stdout)
	}
	run(t, 0, "volume", "create", v) // exists: no error, as in Docker
	random := strings.TrimSpace(run(t, 0, "volume", "create", "--label", "a=b").stdout)
	t.Cleanup(func() { minirun(t, "", "volume", "rm", "-f", random) })
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(random) {
		t.Fatalf("random name %q", random)
	}
	r := run(t, 0, "volume", "ls")
	if !strings.HasPrefix(r.stdout, "DRIVER    VOLUME NAME\n") || !strings.Contains(r.stdout, "local     "+v+"\n") {
		t.Fatalf("ls:\n%s", r.stdout)
	}
	r = run(t, 0, "volume", "ls", "--format", "json")
	found := 0
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("ls --format json line %q: %v", line, err)
		}
		if m["Name"] == v || m["Name"] == random {
			found++
		}
	}
	if found != 2 {
		t.Fatalf("ls --format json: %s", r.stdout)
	}
	r = run(t, 0, "volume", "inspect", v, random)
	var vols []struct {
		Name, Driver, Mountpoint, CreatedAt, Scope string
		Labels                                     map[string]string
	}
	if err := json.Unmarshal([]byte(r.stdout), &vols); err != nil || len(vols) != 2 {
		t.Fatalf("inspect: %v\n%s", err, r.stdout)
	}
	created, err := time.Parse(time.RFC3339, vols[0].CreatedAt)
	if vols[0].Name != v || vols[0].Driver != "local" || vols[0].Scope != "local" || vols[0].Mountpoint != volData(v) ||
		err != nil || time.Since(created) > time.Minute || vols[1].Labels["a"] != "b" {
		t.Fatalf("inspect: %+v", vols)
	}
	r = run(t, 125, "volume", "inspect", "it-no-such-volume")
	if !strings.Contains(r.stderr, "no such volume: it-no-such-volume") {
		t.Fatalf("inspect unknown: %q", r.stderr)
	}
	r = run(t, 125, "volume", "rm", "it-no-such-volume")
	if !strings.Contains(r.stderr, "no such volume") {
		t.Fatalf("rm unknown: %q", r.stderr)
	}
	run(t, 0, "volume", "rm", "-f", "it-no-such-volume")

	// A stopped container keeps its volume in use.
	cname := fmt.Sprintf("it-voluser-%d", os.Getpid())
	run(t, 0, "run", "--name", cname, "-v", used+":/data", "busybox", "sh", "-c", "echo 12345 > /data/f")
	ids := entries(filepath.Join(dataRoot, "containers"))
	if len(ids) != 1 {
		t.Fatalf("containers: %v", ids)
	}
	r = run(t, 125, "volume", "rm", used)
	if !strings.Contains(r.stderr, "remove "+used+": volume is in use - ["+ids[0]+"]") {
		t.Fatalf("rm in use: %q", r.stderr)
	}
	run(t, 125, "volume", "rm", "-f", used) // -f does not remove a volume in use
	run(t, 0, "volume", "create", unused)
	os.WriteFile(filepath.Join(volData(unused), "blob"), make([]byte, 2000), 0o644)
	r = run(t, 0, "volume", "prune", "-f")
	if !strings.Contains(r.stdout, "Deleted Volumes:\n") || !strings.Contains(r.stdout, "\n"+unused+"\n") || !strings.Contains(r.stdout, "\n"+v+"\n") ||
		strings.Contains(r.stdout, used) || !regexp.MustCompile(`Total reclaimed space: \d`).MatchString(r.stdout) {
		t.Fatalf("prune:\n%s", r.stdout)
	}
	if names := volumeNames(); !reflect.DeepEqual(names, []string{used}) {
		t.Fatalf("after prune: %v, want only %s", names, used)
	}
	// Without -f, prune asks; "n" keeps everything.
	if r := minirun(t, "n\n", "volume", "prune"); r.code != 0 || len(volumeNames()) != 1 {
		t.Fatalf("prune answered n: %d %v", r.code, volumeNames())
	}
	run(t, 0, "rm", cname)
	r = run(t, 0, "volume", "rm", used)
	if r.stdout != used+"\n" {
		t.Fatalf("rm printed %q", r.stdout)
	}
	if names := volumeNames(); len(names) != 0 {
		t.Fatalf("volumes left: %v", names)
	}
	assertClean(t)
}

// Bad input: exit 125, a message naming the problem, no container, and no
// volume or host directory made.
func TestVolumeBadInput(t *testing.T) {
	v := volName(t, "bad")
	missing := fmt.Sprintf("/tmp/it-missing-%d", os.Getpid())
	host := t.TempDir()
	before := volumeNames()
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-v", v + ":relative"}, "mount path must be absolute"},
		{[]string{"-v", v + ":/"}, "destination can't be '/'"},
		{[]string{"-v", "x:/data"}, "too short"},
		{[]string{"-v", "bad/name:/data"}, "invalid characters for a local volume name"},
		{[]string{"-v", v + ":/data:rx"}, "invalid mode"},
		{[]string{"-v", "a:b:c:d"}, "invalid volume specification"},
		{[]string{"-v", "/data:ro"}, "anonymous volume takes no mode"},
		{[]string{"--mount", "type=bind,src=" + missing + ",dst=/x"}, "bind source path does not exist: " + missing},
		{[]string{"--mount", "type=volume,src=" + v + ",dst=/x,bogus=1"}, "unexpected key 'bogus'"},
		{[]string{"--mount", "type=volume,src=" + v}, "target is required"},
		{[]string{"--mount", "type=nfs,src=" + v + ",dst=/x"}, "invalid mount type"},
		{[]string{"--tmpfs", "/run:bogus"}, `invalid tmpfs option "bogus"`},
		{[]string{"--tmpfs", "run"}, "mount path must be absolute"},
		{[]string{"-v", v + ":/data", "-v", host + ":/data"}, "Duplicate mount point: /data"},
		{[]string{"-v", v + ":/data", "--tmpfs", "/data/"}, "Duplicate mount point: /data"},
		{[]string{"-v", v + ":/data", "-v", missing + ":/m", "--pull", "never", "it-no-such-image"}, "not found"},
	} {
		args := append([]string{"run", "--rm"}, tc.args...)
		if !strings.HasPrefix(args[len(args)-1], "it-no-such") {
			args = append(args, "busybox", "true")
		}
		r := minirun(t, "", args...)
		if r.code != 125 || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 125 and %q", tc.args, r.code, r.stderr, tc.msg)
		}
		if after := volumeNames(); !reflect.DeepEqual(before, after) {
			t.Fatalf("%v: volumes before %v, after %v", tc.args, before, after)
		}
		if _, err := os.Stat(missing); !os.IsNotExist(err) {
			t.Fatalf("%v: %s was made", tc.args, missing)
		}
		assertClean(t)
	}
	// A run that fails after its volume was made keeps the volume, as
	// Docker does (the volume is whole; only the container is gone).
	r := run(t, 127, "run", "--rm", "-v", v+":/data", "busybox", "no-such-command")
	if !strings.Contains(r.stderr, "not found") {
		t.Fatalf("stderr %q", r.stderr)
	}
	if names := volumeNames(); !reflect.DeepEqual(names, append(before, v)) {
		t.Fatalf("volumes %v", names)
	}
	run(t, 0, "volume", "rm", v)
	// --dry-run makes nothing.
	run(t, 0, "run", "--dry-run", "-v", v+":/data", "-v", missing+":/m", "busybox", "true")
	if _, err := os.Stat(missing); !os.IsNotExist(err) || !reflect.DeepEqual(volumeNames(), before) {
		t.Fatalf("--dry-run made %s or a volume (%v)", missing, volumeNames())
	}
	assertClean(t)
}

// :ro is recursive: a mount below the bound host directory is read-only
// in the container too (mount_setattr AT_RECURSIVE), as Docker 25+ does.
func TestVolumeReadOnlyRecursive(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	defer syscall.Unmount(sub, syscall.MNT_DETACH)
	r := minirun(t, "", "run", "--rm", "--network", "none", "-v", dir+":/h:ro", "busybox", "sh", "-c",
		"touch /h/top 2>&1; touch /h/sub/inner 2>&1; true")
	if strings.Count(r.stdout, "Read-only file system") != 2 {
		t.Errorf("writes under a :ro bind: %q, want both refused", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(sub, "inner")); err == nil {
		t.Error("the container wrote into the host's submount")
	}
	assertClean(t)
}

// hostSecretDirs makes two host directories, each holding a file
// host-secret, that a symlink in a container's root may point at: an
// escape shows as a mount on them, a write into them, or the secret
// copied out. They are removed when the test ends.
func hostSecretDirs(t *testing.T) [2]string {
	t.Helper()
	var dirs [2]string
	for i := range dirs {
		d, err := os.MkdirTemp("/tmp", "minirun-escape-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		os.WriteFile(filepath.Join(d, "host-secret"), []byte("secret\n"), 0o600)
		dirs[i] = d
	}
	return dirs
}
