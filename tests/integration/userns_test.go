package integration

// User namespaces for `minirun run`: --userns=auto maps the container's
// IDs 0-65535 onto a block of the subordinate IDs of the user
// "containers", which the tests delegate in files of their own
// (MINIRUN_SUBUID_FILE, MINIRUN_SUBGID_FILE): /etc/subuid and /etc/subgid
// are never touched.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// usernsBase is the first subordinate ID the tests delegate: 300000 IDs
// (four blocks of 65536 and some) from there.
const usernsBase = 1200000

// delegate writes subuid and subgid files with content and points minirun
// at them for the test.
func delegate(t *testing.T, content string) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []struct{ name, env string }{{"subuid", "MINIRUN_SUBUID_FILE"}, {"subgid", "MINIRUN_SUBGID_FILE"}} {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv(f.env, p)
	}
}

// needUserNS skips where the kernel has no user namespaces, and delegates
// the test range to "containers".
func needUserNS(t *testing.T) {
	t.Helper()
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err != nil || strings.TrimSpace(string(b)) == "0" {
		t.Skip("this kernel has no user namespaces (/proc/sys/user/max_user_namespaces is 0 or missing)")
	}
	delegate(t, fmt.Sprintf("# the tests' delegation\nsomeoneelse:100000:65536\ncontainers:%d:300000\n", usernsBase))
}

// runUserNS is run() for a --userns=auto container that skips the test,
// saying why, where the kernel or the filesystem cannot idmap the image.
func runUserNS(t *testing.T, args ...string) result {
	t.Helper()
	r := minirun(t, "", args...)
	if r.code == 125 && strings.Contains(r.stderr, "idmapped mount") {
		t.Skipf("no idmapped mounts here: %s", r.stderr)
	}
	if r.code != 0 {
		t.Fatalf("minirun %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// uidMap is the first line of a uid_map: inside, outside, size.
func uidMap(t *testing.T, line string) [3]int {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 3 {
		t.Fatalf("uid_map line %q", line)
	}
	var m [3]int
	for i := range f {
		m[i], _ = strconv.Atoi(f[i])
	}
	return m
}

// Inside: root with the allocated map, and the image's files owned by
// root (idmapped layers, not nobody); writes work.
func TestUserNSAutoInside(t *testing.T) {
	needUserNS(t)
	r := runUserNS(t, "run", "--rm", "--network", "none", "--userns=auto", "busybox", "sh", "-c",
		"head -1 /proc/self/uid_map; head -1 /proc/self/gid_map; id -u; id -g; stat -c '%u:%g' /bin/busybox /etc/passwd /; touch /new /tmp/new && stat -c '%u:%g' /new")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 8 {
		t.Fatalf("got %q", r.stdout)
	}
	for _, l := range lines[:2] {
		if m := uidMap(t, l); m != [3]int{0, usernsBase, 65536} {
			t.Errorf("map %q, want 0 %d 65536", l, usernsBase)
		}
	}
	want := []string{"0", "0", "0:0", "0:0", "0:0", "0:0"}
	for i, w := range want {
		if lines[2+i] != w {
			t.Errorf("line %d: %q, want %q (all: %q)", 2+i, lines[2+i], w, r.stdout)
		}
	}
	assertClean(t)
}

// From the host: init runs as the mapped ID, a file it writes is stored
// in the container's upper directory with the host IDs, and two
// containers at once get blocks that do not overlap; a removed
// container's block is handed out again.
func TestUserNSAutoHostView(t *testing.T) {
	needUserNS(t)
	r := runUserNS(t, "run", "-d", "--name", "uns-a", "--network", "none", "--userns=auto", "busybox", "sh", "-c", "echo x > /made-inside; exec sleep 60")
	rmAtEnd(t, "uns-a")
	idA := strings.TrimSpace(r.stdout)
	r = runUserNS(t, "run", "-d", "--name", "uns-b", "--network", "none", "--userns=auto:size=1000", "-u", "999:999", "busybox", "sleep", "60")
	rmAtEnd(t, "uns-b")
	pidA, pidB := initPid(t, "uns-a"), initPid(t, "uns-b")
	if u := strings.Fields(procField(t, pidA, "Uid")); len(u) != 4 || u[0] != strconv.Itoa(usernsBase) || u[1] != u[0] {
		t.Errorf("init of uns-a runs as host uid %v, want %d", u, usernsBase)
	}
	if g := strings.Fields(procField(t, pidA, "Gid")); len(g) != 4 || g[0] != strconv.Itoa(usernsBase) {
		t.Errorf("init of uns-a runs as host gid %v, want %d", g, usernsBase)
	}
	// uns-b: -u 999 inside is host ID <its block's start> + 999.
	mapA := readMap(t, pidA)
	mapB := readMap(t, pidB)
	if mapA != [3]int{0, usernsBase, 65536} || mapB[0] != 0 || mapB[2] != 1000 {
		t.Fatalf("maps: a %v, b %v", mapA, mapB)
	}
	if mapB[1] < mapA[1]+mapA[2] && mapA[1] < mapB[1]+mapB[2] {
		t.Fatalf("overlapping blocks: a %v, b %v", mapA, mapB)
	}
	if u := strings.Fields(procField(t, pidB, "Uid")); len(u) != 4 || u[0] != strconv.Itoa(mapB[1]+999) {
		t.Errorf("init of uns-b (-u 999) runs as host uid %v, want %d", u, mapB[1]+999)
	}
	// Its other namespaces belong to its user namespace (cloned together):
	// its root may configure its own network, not the host's.
	for _, ns := range []string{"net", "mnt", "uts", "ipc", "pid"} {
		if owner, user := nsOwner(t, pidA, ns), nsInode(t, fmt.Sprintf("/proc/%d/ns/user", pidA)); owner != user {
			t.Errorf("the %s namespace of uns-a is owned by user namespace %d, want the container's %d", ns, owner, user)
		}
	}
	made := filepath.Join(dataRoot, "containers", idA, "upper", "made-inside")
	waitUntil(t, "the file written by uns-a", func() bool { _, err := os.Stat(made); return err == nil })
	wantOwner(t, made, usernsBase)
	layersUnchowned(t)
	// exec joins the container's user namespace.
	if r := run(t, 0, "exec", "uns-a", "sh", "-c", "head -1 /proc/self/uid_map; id -u; cat /made-inside"); strings.Fields(r.stdout)[1] != strconv.Itoa(usernsBase) ||
		!strings.HasSuffix(r.stdout, "0\nx\n") {
		t.Errorf("exec in uns-a: %q", r.stdout)
	}
	var in []struct {
		HostConfig struct {
			UsernsMode string
			UserNS     struct{ UIDs, GIDs struct{ Start, Size int } }
		}
	}
	if r := run(t, 0, "inspect", "uns-a"); json.Unmarshal([]byte(r.stdout), &in) != nil || len(in) != 1 ||
		in[0].HostConfig.UsernsMode != "auto" || in[0].HostConfig.UserNS.UIDs.Start != usernsBase || in[0].HostConfig.UserNS.GIDs.Size != 65536 {
		t.Errorf("inspect: %+v", in)
	}
	run(t, 0, "rm", "-f", "uns-a")
	r = runUserNS(t, "run", "--rm", "--network", "none", "--userns=auto", "busybox", "head", "-1", "/proc/self/uid_map")
	if m := uidMap(t, r.stdout); m[1] != usernsBase {
		t.Errorf("after uns-a went, the next container got %v, want its block %d again", m, usernsBase)
	}
	run(t, 0, "rm", "-f", "uns-b")
	assertClean(t)
}

// wantOwner fails the test unless path is owned by uid and gid id on the host.
func wantOwner(t *testing.T, path string, id uint32) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil || st.Uid != id || st.Gid != id {
		t.Errorf("%s on the host: uid %d gid %d (%v), want %d", path, st.Uid, st.Gid, err, id)
	}
}

// layersUnchowned checks that the shared image layers are still host
// root's: a user namespace never chowns them.
func layersUnchowned(t *testing.T) {
	t.Helper()
	layers, _ := filepath.Glob(filepath.Join(dataRoot, "layers", "*", "bin", "busybox"))
	if len(layers) == 0 {
		t.Errorf("no busybox in %s/layers", dataRoot)
	}
	for _, l := range layers {
		wantOwner(t, l, 0)
	}
}

func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// nsOwner is the inode of the user namespace owning pid's namespace ns
// (ioctl NS_GET_USERNS, man 2 ioctl_ns).
func nsOwner(t *testing.T, pid int, ns string) uint64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_USERNS)
	if err != nil {
		t.Fatalf("NS_GET_USERNS of %s: %v", f.Name(), err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func readMap(t *testing.T, pid int) [3]int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", pid))
	if err != nil {
		t.Fatal(err)
	}
	return uidMap(t, strings.SplitN(string(b), "\n", 2)[0])
}

// Volumes: a new named volume and an anonymous one belong to the
// container's root; what it writes there is the mapped IDs' on the host.
// A named volume seeded from the image keeps the image's (mapped) owner.
func TestUserNSVolumes(t *testing.T) {
	needUserNS(t)
	t.Cleanup(func() { minirun(t, "", "volume", "rm", "-f", "unsvol", "unsseed") })
	r := runUserNS(t, "run", "--rm", "--network", "none", "--userns=auto", "-v", "unsvol:/data", "-v", "/anon", "-v", "unsseed:/etc",
		"busybox", "sh", "-c", "stat -c '%u:%g' /data /anon /etc /etc/passwd && touch /data/f /anon/g /etc/h && echo wrote")
	if got := strings.Fields(r.stdout); strings.Join(got, " ") != "0:0 0:0 0:0 0:0 wrote" {
		t.Fatalf("got %q, want the volumes root's and writable", r.stdout)
	}
	for _, f := range []string{"unsvol/_data/f", "unsvol/_data", "unsseed/_data/h", "unsseed/_data/passwd"} {
		wantOwner(t, filepath.Join(dataRoot, "volumes", f), usernsBase)
	}
	assertClean(t)
}

// --rootfs DIR: the directory is seen through the mapping too, and the
// directory itself is not changed.
func TestUserNSRootfs(t *testing.T) {
	needUserNS(t)
	// The container's root is an ordinary host ID: the bind's source must
	// be reachable by it (t.TempDir's parent is 0700).
	dir := filepath.Join(filepath.Dir(dataRoot), "uns-host")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	r := runUserNS(t, "run", "--rm", "--network", "none", "--userns=auto", "-v", dir+":/host", "--rootfs", busybox, "sh", "-c",
		"head -1 /proc/self/uid_map; stat -c '%u:%g' /bin/busybox /host")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	// A host directory of -v is not remapped (Docker's userns-remap
	// neither): host root's directory is nobody's inside.
	if len(lines) != 3 || uidMap(t, lines[0])[1] != usernsBase || lines[1] != "0:0" || lines[2] != "65534:65534" {
		t.Fatalf("got %q", r.stdout)
	}
	wantOwner(t, filepath.Join(busybox, "bin", "busybox"), 0) // the directory did not change
	assertClean(t)
}

// --userns=host, the default, is no user namespace at all.
func TestUserNSHost(t *testing.T) {
	needUserNS(t)
	for _, args := range [][]string{{"--userns=host"}, nil} {
		a := append(append([]string{"run", "--rm", "--network", "none"}, args...), "busybox", "head", "-1", "/proc/self/uid_map")
		r := run(t, 0, a...)
		if m := uidMap(t, r.stdout); m != [3]int{0, 0, 4294967295} {
			t.Errorf("%v: uid_map %q, want the host's", args, r.stdout)
		}
	}
}

// Bad input: no delegation, too small a one, a --user outside the map, a
// mode that cannot be: exit 125 saying what to do, and nothing left.
func TestUserNSRefused(t *testing.T) {
	needUserNS(t)
	cases := []struct {
		deleg string
		args  []string
		want  string
	}{
		{"someoneelse:100000:65536\n", []string{"--userns=auto"}, "no subordinate UIDs for user containers in"},
		{"containers:100000:1000\n", []string{"--userns=auto"}, "no range of 65536 subordinate UIDs (the largest has 1000)"},
		{"containers:100000:65536\n", []string{"--userns=auto:size=100", "-u", "1000"}, "outside the container's user namespace"},
		{"containers:100000:65536\n", []string{"--userns=auto", "--network", "host"}, "cannot go with --network host"},
		{"containers:100000:65536\n", []string{"--userns=nope"}, `invalid --userns "nope"`},
	}
	for _, c := range cases {
		delegate(t, c.deleg)
		a := append(append([]string{"run", "--rm"}, c.args...), "busybox", "true")
		r := minirun(t, "", a...)
		if r.code != 125 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v with %q: exit %d %q, want 125 saying %q", c.args, c.deleg, r.code, r.stderr, c.want)
		}
		if strings.Contains(c.want, "subordinate") && !strings.Contains(r.stderr, "containers:100000:") {
			t.Errorf("the error does not say what to add: %q", r.stderr)
		}
		assertClean(t)
	}
}

// Where the kernel cannot idmap the layers, each container gets copies
// of them with shifted owners (forced here with MINIRUN_USERNS_CHOWN=1):
// the container sees the same thing, the shared layers stay as they
// are, and the copies go with the container.
func TestUserNSChownFallback(t *testing.T) {
	needUserNS(t)
	t.Setenv("MINIRUN_USERNS_CHOWN", "1")
	r := runUserNS(t, "run", "-d", "--name", "uns-chown", "--network", "none", "--userns=auto", "busybox", "sh", "-c",
		"stat -c '%u:%g' /bin/busybox /etc/passwd > /out; touch /new; exec sleep 60")
	rmAtEnd(t, "uns-chown")
	id := strings.TrimSpace(r.stdout)
	waitUntil(t, "the container's output", func() bool {
		b, _ := os.ReadFile(filepath.Join(dataRoot, "containers", id, "upper", "out"))
		return strings.Count(string(b), "\n") == 2
	})
	b, _ := os.ReadFile(filepath.Join(dataRoot, "containers", id, "upper", "out"))
	if string(b) != "0:0\n0:0\n" {
		t.Errorf("inside: %q, want the image's files root's", b)
	}
	wantOwner(t, filepath.Join(dataRoot, "containers", id, "lowers", "0", "bin", "busybox"), usernsBase)
	layersUnchowned(t)
	run(t, 0, "rm", "-f", "uns-chown")
	assertClean(t)
}

// Runs started at the same moment each get a block of their own (the
// allocation is serialised by a lock), and a fifth that finds every block
// taken is refused, saying so.
func TestUserNSConcurrent(t *testing.T) {
	needUserNS(t)
	const n = 4 // the test delegation holds 4 blocks of 65536
	out := make(chan result, n)
	for i := 0; i < n; i++ {
		go func() {
			out <- minirun(t, "", "run", "--rm", "--network", "none", "--userns=auto", "busybox", "sh", "-c", "head -1 /proc/self/uid_map; sleep 2")
		}()
	}
	// While they run, one more finds no free block.
	waitUntil(t, "four blocks handed out", func() bool {
		recs, _ := filepath.Glob(filepath.Join(dataRoot, "containers", "*", "userns.json"))
		return len(recs) >= n
	})
	if r := minirun(t, "", "run", "--rm", "--network", "none", "--userns=auto", "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "no free block of 65536") {
		t.Errorf("a fifth container: exit %d %q, want 125 and no free block", r.code, r.stderr)
	}
	var maps [][3]int
	for i := 0; i < n; i++ {
		r := <-out
		if r.code == 125 && strings.Contains(r.stderr, "idmapped mount") {
			t.Skipf("no idmapped mounts here: %s", r.stderr)
		}
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		maps = append(maps, uidMap(t, r.stdout))
	}
	for i := range maps {
		for j := i + 1; j < len(maps); j++ {
			a, b := maps[i], maps[j]
			if a[1] < b[1]+b[2] && b[1] < a[1]+a[2] {
				t.Errorf("overlapping blocks %v and %v", a, b)
			}
		}
		if maps[i][1] < usernsBase || maps[i][1]+maps[i][2] > usernsBase+300000 {
			t.Errorf("block %v outside the delegation", maps[i])
		}
	}
	assertClean(t)
}
