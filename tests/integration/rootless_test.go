package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// rootlessUID is the ordinary user the rootless tests run minirun as (no
// account needed: the kernel knows numbers only).
const rootlessUID = 4000

// rootlessUser is an ordinary user's environment: its own HOME and
// XDG_RUNTIME_DIR, so minirun picks its rootless roots there.
type rootlessUser struct {
	uid, gid       int
	dir, home, xdg string
	before         map[int]bool // the uid's processes before the test
}

func newRootlessUser(t *testing.T, uid, gid int) *rootlessUser {
	t.Helper()
	if _, err := os.Stat(os.Getenv("MINIRUN_TEST_BUSYBOX_TAR_RESOLVED")); err != nil {
		t.Skip("no busybox rootfs tar to import as the user")
	}
	dir, err := os.MkdirTemp("", "minirun-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	// The user must reach its HOME: the parent is root's but searchable.
	os.Chmod(dir, 0o755)
	u := &rootlessUser{uid: uid, gid: gid, before: map[int]bool{}, dir: dir, home: filepath.Join(dir, "home"), xdg: filepath.Join(dir, "xdg")}
	for _, d := range []string{u.home, u.xdg} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	for _, pid := range userProcesses(uid) {
		u.before[pid] = true
	}
	t.Cleanup(func() {
		// Whatever a failed test left running of the user's (only
		// processes of that uid that were not there before, by PID).
		for _, pid := range u.newProcesses() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		os.RemoveAll(dir)
	})
	return u
}

// run runs minirun as the user; no MINIRUN_* variable: the defaults of
// rootless mode must do.
func (u *rootlessUser) run(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = u.env()
	cmd.Dir = u.home
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid)}}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("minirun %v as uid %d: timed out\nstdout: %s\nstderr: %s", args, u.uid, out.String(), errb.String())
	}
	return result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
}

func (u *rootlessUser) env() []string {
	return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + u.home, "XDG_RUNTIME_DIR=" + u.xdg}
}

func (u *rootlessUser) must(t *testing.T, args ...string) result {
	t.Helper()
	r := u.run(t, args...)
	if r.code != 0 {
		t.Fatalf("minirun %s as uid %d: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), u.uid, r.code, r.stdout, r.stderr)
	}
	return r
}

// userProcesses lists the PIDs whose real uid is uid.
func userProcesses(uid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if procUID(pid) == uid {
			out = append(out, pid)
		}
	}
	return out
}

// procUID is the real uid of /proc/PID/status (-1 if gone).
func procUID(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Uid:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return -1
}

// TestRootless runs minirun as an ordinary user (uid 4000): rootless mode.
func TestRootless(t *testing.T) {
	u := newRootlessUser(t, rootlessUID, rootlessUID)
	tar := os.Getenv("MINIRUN_TEST_BUSYBOX_TAR_RESOLVED")
	// The user's own image store, unpacked by the user.
	u.must(t, "import", "-c", `CMD ["sh"]`, tar, "busybox:latest")
	t.Run("id", func(t *testing.T) {
		r := u.must(t, "run", "--rm", "--network", "none", "busybox", "id")
		if !strings.Contains(r.stdout, "uid=0(root) gid=0(root)") {
			t.Fatalf("id in the container: %q", r.stdout)
		}
	})
	t.Run("uid_map", func(t *testing.T) {
		r := u.must(t, "run", "--rm", "--network", "none", "busybox", "cat", "/proc/self/uid_map", "/proc/self/gid_map")
		want := "0 " + strconv.Itoa(rootlessUID) + " 1"
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != want || strings.Join(strings.Fields(lines[1]), " ") != want {
			t.Fatalf("uid_map and gid_map: %q, want %q twice", r.stdout, want)
		}
	})
	t.Run("network none", func(t *testing.T) {
		r := u.must(t, "run", "--rm", "--network", "none", "busybox", "ip", "-o", "link")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], ": lo:") {
			t.Fatalf("--network none: links %q, want only lo", r.stdout)
		}
	})
	t.Run("writes stay the user's", func(t *testing.T) {
		// A file the container's root writes is the user's on the host;
		// the overlay's upper directory is in the user's data root.
		r := u.must(t, "run", "--name", "writer", "--network", "none", "busybox", "sh", "-c", "echo x > /new; mkdir /d; rm /bin/true; ls -n /new")
		if !strings.Contains(r.stdout, " 0 ") {
			t.Fatalf("ls -n /new inside: %q", r.stdout)
		}
		u.must(t, "rm", "writer")
	})
	t.Run("attached with a terminal", func(t *testing.T) {
		master, slave := openPty(t)
		t.Cleanup(func() { master.Close() })
		cmd := exec.Command(bin, "run", "--rm", "-it", "--network", "none", "busybox", "sh")
		cmd.Env = u.env()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0,
			Credential: &syscall.Credential{Uid: rootlessUID, Gid: rootlessUID}}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		slave.Close()
		p := &atTerminal{master: master, cmd: cmd, out: &syncBuffer{}, outDone: make(chan struct{})}
		go func() { io.Copy(p.out, master); close(p.outDone) }()
		io.WriteString(master, "tty; id -u; exit 4\n")
		if code := p.wait(t); code != 4 {
			t.Errorf("exit code %d, want 4", code)
		}
		<-p.outDone
		p.shows(t, "/dev/pts/0", "\n0\r\n")
	})
	t.Run("detached: host uid, ps, exec, rm", func(t *testing.T) {
		u.must(t, "run", "-d", "--name", "sleeper", "--network", "none", "busybox", "sleep", "1000")
		t.Cleanup(func() { u.run(t, "rm", "-f", "sleeper") })
		var pid int
		// run -d returns once init is released: its execve may follow.
		for deadline := time.Now().Add(5 * time.Second); pid == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			for _, p := range userProcesses(rootlessUID) {
				if cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/cmdline"); string(cmd) == "sleep\x001000\x00" {
					pid = p
				}
			}
		}
		if pid == 0 {
			t.Fatalf("no process \"sleep 1000\" of uid %d on the host", rootlessUID)
		}
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) == 5 && (f[0] == "Uid:" || f[0] == "Gid:") {
				for _, id := range f[1:] {
					if id != strconv.Itoa(rootlessUID) {
						t.Errorf("the container's process on the host: %s", line)
					}
				}
			}
		}
		if r := u.must(t, "ps"); !strings.Contains(r.stdout, "sleeper") {
			t.Errorf("ps: %q", r.stdout)
		}
		if r := u.must(t, "exec", "sleeper", "id", "-u"); r.stdout != "0\n" {
			t.Errorf("exec id -u: %q", r.stdout)
		}
		u.must(t, "rm", "-f", "sleeper")
	})
	t.Run("pull from a loopback registry, layers merged", func(t *testing.T) {
		// The whiteout is a 0/0 device the user may make; the opaque
		// directory is marked user.overlay.opaque, read by the overlay
		// init mounts with userxattr.
		// The user's data root must store user.* xattrs (tmpfs does
		// only since Linux 6.6: the cgroup-v2 VM's 6.1 does not).
		probe := filepath.Join(u.home, ".xattr-probe")
		os.WriteFile(probe, nil, 0o644)
		err := unix.Setxattr(probe, "user.minirun-probe", []byte("y"), 0)
		os.Remove(probe)
		if errors.Is(err, unix.EOPNOTSUPP) {
			t.Skipf("the data root's filesystem stores no user.* xattrs (%v): no opaque directories in rootless mode here", err)
		}
		host := testRegistry(t)
		l1 := tarLayer(t, [][2]string{{"data/", ""}, {"data/a", "A"}, {"data/b", "B"}, {"opq/", ""}, {"opq/old", "old"}})
		l2 := tarLayer(t, [][2]string{{"data/.wh.a", ""}, {"data/c", "C"}, {"opq/", ""}, {"opq/.wh..wh..opq", ""}, {"opq/new", "new"}})
		pushImage(t, host+"/test/layers:1", nil, l1, l2)
		r := u.must(t, "run", "--rm", "--network", "none", host+"/test/layers:1", "sh", "-c", "ls /data /opq; cat /data/b /data/c /opq/new")
		if want := "/data:\nb\nc\n\n/opq:\nnew\nBCnew"; r.stdout != want {
			t.Fatalf("merged view:\n%q\nwant\n%q", r.stdout, want)
		}
		u.must(t, "rmi", host+"/test/layers:1")
	})
	t.Run("OCI bundle of spec --rootless", func(t *testing.T) {
		bundle := filepath.Join(u.home, "bundle")
		if err := os.Mkdir(bundle, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chown(bundle, u.uid, u.gid)
		defer os.RemoveAll(bundle)
		u.must(t, "spec", "--rootless", "--bundle", bundle)
		// root.path: the shared busybox rootfs (root's files, read only
		// for the user), and no terminal.
		b, _ := os.ReadFile(filepath.Join(bundle, "config.json"))
		var cfg map[string]any
		if err := json.Unmarshal(b, &cfg); err != nil {
			t.Fatal(err)
		}
		cfg["root"] = map[string]any{"path": busybox}
		proc := cfg["process"].(map[string]any)
		proc["terminal"], proc["args"] = false, []string{"cat", "/proc/self/uid_map"}
		b, _ = json.Marshal(cfg)
		os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644)
		r := u.must(t, "run", "--bundle", bundle, "oci-rootless")
		if got := strings.Join(strings.Fields(r.stdout), " "); got != "0 "+strconv.Itoa(u.uid)+" 1" {
			t.Fatalf("uid_map in the OCI container: %q", r.stdout)
		}
	})
	t.Run("refused with the reason", func(t *testing.T) {
		for _, args := range [][]string{
			{"run", "--rm", "--network", "bridge", "busybox", "true"},
			{"run", "--rm", "--network", "host", "busybox", "true"},
			{"run", "--rm", "--network", "none", "-p", "8080:80", "busybox", "true"},
			{"run", "--rm", "--network", "none", "--userns", "auto", "busybox", "true"},
			{"network", "create", "rootless-net"},
		} {
			r := u.run(t, args...)
			if r.code != 125 || !strings.Contains(r.stderr, "not available in rootless mode") {
				t.Errorf("%v: exit %d, %q", args, r.code, r.stderr)
			}
		}
		// Limits without a cgroup: podman's way, a warning.
		r := u.must(t, "run", "--rm", "-m", "64m", "--network", "none", "busybox", "true")
		if !strings.Contains(r.stderr, "resource limits are ignored in rootless mode") {
			t.Errorf("-m without cgroup delegation: stderr %q", r.stderr)
		}
	})
	t.Run("slirp4netns", func(t *testing.T) {
		if _, err := exec.LookPath("slirp4netns"); err != nil {
			t.Skip("slirp4netns is not installed")
		}
		// Debian's udev rule makes /dev/net/tun 0666; this host may keep
		// it 0600. The test lends it to users for its duration only.
		fi, err := os.Stat("/dev/net/tun")
		if err != nil {
			t.Skip("no /dev/net/tun")
		}
		if mode := fi.Mode().Perm(); mode&0o006 != 0o006 {
			if err := os.Chmod("/dev/net/tun", 0o666); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod("/dev/net/tun", mode) })
		}
		// The default network of rootless mode. Only the interface and
		// its address are looked at: no traffic leaves.
		r := u.must(t, "run", "--rm", "busybox", "sh", "-c", "ip -o -4 addr show tap0; cat /etc/resolv.conf")
		if !strings.Contains(r.stdout, "inet 10.0.2.100/24") || !strings.Contains(r.stdout, "nameserver 10.0.2.3") {
			t.Fatalf("slirp4netns: %q", r.stdout)
		}
		// -p: slirp4netns forwards the host's loopback port into the
		// container (its API's add_hostfwd).
		port := freeHostPort(t, "tcp")
		u.must(t, "run", "-d", "--name", "web", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), "busybox", "sh", "-c",
			"echo hello-web > /tmp/index.html; httpd -f -p 80 -h /tmp")
		t.Cleanup(func() { u.run(t, "rm", "-f", "web") })
		url := fmt.Sprintf("http://127.0.0.1:%d/", port)
		var body string
		waitUntil(t, url, func() bool { body, _ = httpGet(url); return body == "hello-web\n" })
		if r := u.must(t, "ps"); !strings.Contains(r.stdout, fmt.Sprintf("127.0.0.1:%d->80/tcp", port)) {
			t.Errorf("ps PORTS: %q", r.stdout)
		}
		u.must(t, "rm", "-f", "web")
	})

	u.assertNothingLeft(t)
}

// assertNothingLeft checks that the user has no process, no mount and no
// container left, and that nothing under its roots is owned by anyone
// else (root in particular).
func (u *rootlessUser) assertNothingLeft(t *testing.T) {
	t.Helper()
	dataRoot := filepath.Join(u.home, ".local", "share", "minirun")
	stateRoot := filepath.Join(u.xdg, "minirun")
	deadline := time.Now().Add(10 * time.Second)
	for len(u.newProcesses()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if left := u.newProcesses(); len(left) > 0 {
		t.Errorf("processes of uid %d left: %v", u.uid, left)
	}
	if m := mountsUnder(u.dir); len(m) > 0 {
		t.Errorf("mounts left in the host's mount table: %v", m)
	}
	if e := entries(filepath.Join(dataRoot, "containers")); len(e) > 0 {
		t.Errorf("container data left: %v", e)
	}
	for _, root := range []string{stateRoot, dataRoot} {
		n := 0
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			var st syscall.Stat_t
			if err := syscall.Lstat(p, &st); err != nil {
				return err
			}
			n++
			if int(st.Uid) != u.uid || int(st.Gid) != u.gid {
				t.Errorf("%s is owned by %d:%d, not the user", p, st.Uid, st.Gid)
			}
			return nil
		})
		if err != nil || n < 2 {
			t.Errorf("walk %s: %v (%d entries)", root, err, n)
		}
	}
}

// newProcesses are the user's processes that were not there before the
// test.
func (u *rootlessUser) newProcesses() []int {
	var out []int
	for _, pid := range userProcesses(u.uid) {
		if !u.before[pid] {
			out = append(out, pid)
		}
	}
	return out
}

// addSubIDLine appends line to file (/etc/subuid or /etc/subgid) for the
// test and takes exactly that line out again afterwards (the file is
// removed if the test created it): newuidmap reads no other file.
func addSubIDLine(t *testing.T, file, line string) {
	t.Helper()
	orig, err := os.ReadFile(file)
	existed := err == nil
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(orig) > 0 && !bytes.HasSuffix(orig, []byte("\n")) {
		line = "\n" + line
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString(line)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		now, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("restore %s: %v", file, err)
			return
		}
		rest := bytes.Replace(now, []byte(line), nil, 1)
		if !existed && len(rest) == 0 {
			os.Remove(file)
			return
		}
		if err := os.WriteFile(file, rest, 0o644); err != nil {
			t.Errorf("restore %s: %v", file, err)
		}
	})
}

// passwdUser finds an ordinary user of /etc/passwd (newuidmap refuses a
// uid without a name).
func passwdUser() (name string, uid, gid int, ok bool) {
	b, _ := os.ReadFile("/etc/passwd")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 4 {
			continue
		}
		u, err1 := strconv.Atoi(f[2])
		g, err2 := strconv.Atoi(f[3])
		if err1 == nil && err2 == nil && u >= 1000 && u < 60000 {
			return f[0], u, g, true
		}
	}
	return "", 0, 0, false
}

// TestRootlessSubordinateIDs: with a range in /etc/subuid and /etc/subgid
// and newuidmap/newgidmap, the container maps 0 to the user and 1..65536
// to the range, so other users inside work; what they leave is removed.
func TestRootlessSubordinateIDs(t *testing.T) {
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (Debian: uidmap)", tool)
		}
	}
	name, uid, gid, ok := passwdUser()
	if !ok {
		t.Skip("no ordinary user in /etc/passwd for newuidmap")
	}
	const start, count = 400000, 65536
	line := name + ":" + strconv.Itoa(start) + ":" + strconv.Itoa(count) + "\n"
	addSubIDLine(t, "/etc/subuid", line)
	addSubIDLine(t, "/etc/subgid", line)
	u := newRootlessUser(t, uid, gid)
	u.must(t, "import", "-c", `CMD ["sh"]`, os.Getenv("MINIRUN_TEST_BUSYBOX_TAR_RESOLVED"), "busybox:latest")

	r := u.must(t, "run", "--rm", "--network", "none", "busybox", "cat", "/proc/self/uid_map", "/proc/self/gid_map")
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		got = append(got, strings.Join(strings.Fields(l), " "))
	}
	want := []string{"0 " + strconv.Itoa(uid) + " 1", "1 400000 65536", "0 " + strconv.Itoa(gid) + " 1", "1 400000 65536"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("maps: %q, want %q", got, want)
	}
	// Another user inside, whose files are the range's on the host.
	r = u.must(t, "run", "--name", "sub", "--network", "none", "-u", "1000:1000", "busybox", "sh", "-c", "id -u; mkdir /tmp/d; touch /tmp/d/f; stat -c %u:%g /tmp/d/f")
	if r.stdout != "1000\n1000:1000\n" {
		t.Fatalf("-u 1000: %q", r.stdout)
	}
	var ids []string
	filepath.WalkDir(filepath.Join(u.home, ".local", "share", "minirun", "containers"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "f" {
			var st syscall.Stat_t
			syscall.Lstat(p, &st)
			ids = append(ids, strconv.Itoa(int(st.Uid))+":"+strconv.Itoa(int(st.Gid)))
		}
		return nil
	})
	if len(ids) != 1 || ids[0] != "400999:400999" {
		t.Errorf("the file of uid 1000 inside, on the host: %v, want 400999:400999", ids)
	}
	// The user cannot remove those files itself: rm does it as the root
	// of a user namespace with the same maps.
	u.must(t, "rm", "sub")
	u.assertNothingLeft(t)
}
