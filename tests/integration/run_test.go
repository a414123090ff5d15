package integration

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestPID1AndEcho(t *testing.T) {
	r := run(t, 0, "run", "--rm", "busybox", "sh", "-c", "echo $$")
	if strings.TrimSpace(r.stdout) != "1" {
		t.Fatalf("echo $$ printed %q, want 1", r.stdout)
	}
	r = run(t, 0, "run", "--rm", "busybox", "echo", "hi")
	if r.stdout != "hi\n" {
		t.Fatalf("echo hi printed %q", r.stdout)
	}
	assertClean(t)
}

func TestHostname(t *testing.T) {
	host, _ := os.Hostname()
	r := run(t, 0, "run", "--rm", "busybox", "hostname")
	got := strings.TrimSpace(r.stdout)
	if got == host || !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(got) {
		t.Fatalf("default hostname %q: want the 12-hex short ID, different from the host's %q", got, host)
	}
	r = run(t, 0, "run", "--rm", "--hostname", "web", "busybox", "sh", "-c", "hostname; cat /etc/hostname; echo $HOSTNAME")
	if r.stdout != "web\nweb\nweb\n" {
		t.Fatalf("--hostname web: got %q", r.stdout)
	}
}

// Every namespace the spec asks for is a new one: its inode differs from ours.
func TestNamespacesDiffer(t *testing.T) {
	types := []string{"pid", "mnt", "uts", "ipc", "net", "cgroup"}
	r := run(t, 0, "run", "--rm", "busybox", "sh", "-c", "for n in "+strings.Join(types, " ")+"; do readlink /proc/self/ns/$n; done")
	inside := strings.Fields(r.stdout)
	if len(inside) != len(types) {
		t.Fatalf("got %q", r.stdout)
	}
	for i, typ := range types {
		host, err := os.Readlink("/proc/self/ns/" + typ)
		if err != nil {
			t.Fatal(err)
		}
		if inside[i] == host {
			t.Errorf("%s namespace is the host's (%s)", typ, host)
		}
	}
	// The new network namespace has only lo, and it is up.
	r = run(t, 0, "run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net; ping -c1 -W1 127.0.0.1 >/dev/null && echo lo-up")
	if r.stdout != "lo\nlo-up\n" {
		t.Fatalf("network namespace: %q", r.stdout)
	}
}

func TestMountTable(t *testing.T) {
	r := run(t, 0, "run", "--rm", "busybox", "cat", "/proc/self/mountinfo")
	allowed := map[string]bool{"/": true, "/proc": true, "/dev": true, "/dev/pts": true, "/sys": true, "/dev/mqueue": true,
		"/dev/shm": true, "/etc/resolv.conf": true, "/etc/hostname": true, "/etc/hosts": true}
	for _, p := range append(dockerMasked(), dockerReadonly()...) {
		allowed[p] = true
	}
	var rootType string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		f := strings.Fields(line)
		mp := f[4]
		// The cgroup filesystem, seen from the cgroup namespace: every
		// hierarchy's root is the container's own cgroup ("/").
		if strings.HasPrefix(mp, "/sys/fs/cgroup") && f[3] == "/" {
			continue
		}
		if !allowed[mp] {
			t.Errorf("unexpected mount in the container: %s", line)
		}
		if mp == "/" {
			for i, x := range f {
				if x == "-" {
					rootType = f[i+1]
				}
			}
		}
	}
	if rootType != "overlay" {
		t.Errorf("root filesystem type %q, want overlay", rootType)
	}
}

func dockerMasked() []string {
	return []string{"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"}
}

func dockerReadonly() []string {
	return []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
}

func TestMaskedAndReadonlyPaths(t *testing.T) {
	// Only the masked files this kernel has can be checked.
	var files []string
	for _, f := range dockerMasked() {
		if fi, err := os.Stat(f); err == nil && !fi.IsDir() {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		t.Fatal("none of Docker's masked files exists on this host")
	}
	script := `
for f in ` + strings.Join(files, " ") + `; do [ -e $f ] && [ -z "$(head -c1 $f 2>/dev/null)" ] && echo "$f empty"; done
[ -z "$(ls -A /sys/firmware)" ] && echo "/sys/firmware empty"
echo x > /proc/sys/kernel/hostname 2>/dev/null || echo "/proc/sys read-only"
echo h > /proc/sysrq-trigger 2>/dev/null || echo "/proc/sysrq-trigger read-only"
touch /sys/x 2>/dev/null || echo "/sys read-only"
`
	r := run(t, 0, "run", "--rm", "busybox", "sh", "-c", script)
	wants := []string{"/sys/firmware empty", "/proc/sys read-only", "/proc/sysrq-trigger read-only", "/sys read-only"}
	for _, f := range files {
		wants = append(wants, f+" empty")
	}
	for _, want := range wants {
		if !strings.Contains(r.stdout, want+"\n") {
			t.Errorf("missing %q in:\n%s", want, r.stdout)
		}
	}
}

func statusFields(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func TestCapabilitiesAndNoNewPrivs(t *testing.T) {
	r := run(t, 0, "run", "--rm", "busybox", "cat", "/proc/self/status")
	st := statusFields(r.stdout)
	want := map[string]string{"CapInh": "0000000000000000", "CapPrm": "00000000a80425fb", "CapEff": "00000000a80425fb",
		"CapBnd": "00000000a80425fb", "CapAmb": "0000000000000000", "NoNewPrivs": "0", "Seccomp": "2"}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("%s = %q, want %q (Docker's default)", k, st[k], v)
		}
	}
	// A non-root user keeps the bounding set but no effective capability.
	r = run(t, 0, "run", "--rm", "-u", "1000", "busybox", "cat", "/proc/self/status")
	st = statusFields(r.stdout)
	if st["CapEff"] != "0000000000000000" || st["CapBnd"] != "00000000a80425fb" || st["Uid"] != "1000\t1000\t1000\t1000" {
		t.Errorf("as uid 1000: CapEff %s CapBnd %s Uid %s", st["CapEff"], st["CapBnd"], st["Uid"])
	}
}

func TestEnvWorkdirUserHostname(t *testing.T) {
	r := run(t, 0, "run", "--rm", "-e", "FOO=bar", "-w", "/tmp", "-u", "1000:1000", "--hostname", "web", "busybox",
		"sh", "-c", "id; pwd; hostname; echo $FOO")
	if r.stdout != "uid=1000 gid=1000 groups=1000\n/tmp\nweb\nbar\n" {
		t.Fatalf("got %q", r.stdout)
	}
	r = run(t, 0, "run", "--rm", "-u", "nobody", "-w", "/does/not/exist", "busybox", "sh", "-c", "id -u; pwd; echo $HOME")
	if r.stdout != "65534\n/does/not/exist\n/home\n" {
		t.Fatalf("-u nobody, created workdir, HOME from passwd: got %q", r.stdout)
	}
	r = run(t, 0, "run", "--rm", "busybox", "id")
	if r.stdout != "uid=0(root) gid=0(root) groups=0(root),10(wheel)\n" {
		t.Fatalf("root's groups: %q", r.stdout)
	}
	os.Setenv("MINIRUN_TEST_PASS", "through")
	defer os.Unsetenv("MINIRUN_TEST_PASS")
	r = run(t, 0, "run", "--rm", "-e", "MINIRUN_TEST_PASS", "-e", "MINIRUN_TEST_UNSET", "busybox", "env")
	if !strings.Contains(r.stdout, "MINIRUN_TEST_PASS=through\n") || strings.Contains(r.stdout, "MINIRUN_TEST_UNSET") ||
		!strings.Contains(r.stdout, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n") {
		t.Fatalf("env: %q", r.stdout)
	}
}

func TestExitCodes(t *testing.T) {
	run(t, 0, "run", "--rm", "busybox", "true")
	run(t, 7, "run", "--rm", "busybox", "sh", "-c", "exit 7")
	r := run(t, 127, "run", "--rm", "busybox", "nosuchcommand")
	if !strings.Contains(r.stderr, "executable file not found in $PATH") {
		t.Errorf("127 stderr: %q", r.stderr)
	}
	r = run(t, 126, "run", "--rm", "busybox", "/etc/passwd")
	if !strings.Contains(r.stderr, "permission denied") {
		t.Errorf("126 stderr: %q", r.stderr)
	}
	// A process killed by SIGKILL: 128+9. (PID 1 cannot SIGKILL itself, so
	// the shell runs under --init.)
	run(t, 137, "run", "--rm", "--init", "busybox", "sh", "-c", "kill -9 $$")
	// A container that could not start leaves nothing, even without --rm.
	run(t, 127, "run", "--name", "never-started", "busybox", "nosuchcommand")
	run(t, 126, "run", "busybox", "/etc/passwd")
	assertClean(t)
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		// --pull never: tests send no traffic to a real registry.
		{[]string{"run", "--rm", "--pull", "never", "busybx", "true"}, `image "busybx" not found locally`},
		{[]string{"run", "--rm", "--pull", "sometimes", "busybox", "true"}, "invalid --pull"},
		{[]string{"run", "--rm", "-u", "nobodyx", "busybox", "true"}, "unable to find user nobodyx"},
		{[]string{"run", "--rm", "-u", "1000:", "busybox", "true"}, "invalid user"},
		{[]string{"run", "--rm", "-w", "tmp", "busybox", "true"}, "needs to be an absolute path"},
		{[]string{"run", "--rm", "-e", "=bar", "busybox", "true"}, "invalid environment variable"},
		{[]string{"run", "--rm", "--hostname", "bad_name", "busybox", "true"}, "invalid hostname"},
		{[]string{"run", "--rm", "--bogus", "busybox", "true"}, "unknown flag: --bogus"},
		{[]string{"run", "--rm"}, "requires at least 1 argument"},
		{[]string{"run", "--rm", "--rootfs", "/nonexistent"}, "not a directory"},
	}
	for _, c := range cases {
		r := minirun(t, "", c.args...)
		if r.code != 125 || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "panic") {
			t.Errorf("minirun %v: exit %d, stderr %q; want 125 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	assertClean(t)
}

func TestStdin(t *testing.T) {
	r := minirun(t, "hello\n", "run", "--rm", "-i", "busybox", "cat")
	if r.code != 0 || r.stdout != "hello\n" {
		t.Fatalf("-i: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	// Without -i the container's stdin is /dev/null, as in Docker.
	r = minirun(t, "hello\n", "run", "--rm", "busybox", "cat")
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("no -i: exit %d, %q", r.code, r.stdout)
	}
}

func TestRootfsDirectory(t *testing.T) {
	r := run(t, 0, "run", "--rm", "--rootfs", busybox, "/bin/sh", "-c", "ls /; echo $$")
	for _, d := range []string{"bin", "etc", "proc", "dev"} {
		if !strings.Contains(r.stdout, d+"\n") {
			t.Errorf("ls / lacks %s: %q", d, r.stdout)
		}
	}
	if !strings.HasSuffix(r.stdout, "\n1\n") {
		t.Errorf("not PID 1: %q", r.stdout)
	}
	assertClean(t)
}

func TestDryRun(t *testing.T) {
	r := run(t, 0, "run", "--dry-run", "-e", "A=1", "busybox", "sh")
	var s specs.Spec
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("not a config.json: %v\n%s", err, r.stdout)
	}
	if s.Version != specs.Version || len(s.Process.Args) != 1 || s.Process.Args[0] != "sh" || len(s.Linux.Namespaces) != 6 {
		t.Fatalf("unexpected spec: %+v", s.Process)
	}
	assertClean(t)
}

func TestReadOnlyRoot(t *testing.T) {
	r := run(t, 0, "run", "--rm", "--read-only", "busybox", "sh", "-c", "touch /x 2>/dev/null || echo refused; touch /dev/shm/ok && echo shm-ok")
	if r.stdout != "refused\nshm-ok\n" {
		t.Fatalf("got %q", r.stdout)
	}
}

func TestNamedContainerKeptThenRemoved(t *testing.T) {
	run(t, 0, "run", "--name", "keepme", "busybox", "sh", "-c", "echo data > /root/file")
	r := minirun(t, "", "run", "--name", "keepme", "busybox", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "already in use") {
		t.Fatalf("duplicate name: %d %q", r.code, r.stderr)
	}
	if m := mountsUnder(stateRoot); len(m) > 0 {
		t.Fatalf("a stopped container keeps no mount: %v", m)
	}
	run(t, 0, "rm", "keepme")
	assertClean(t)
}

// An ordinary user runs in rootless mode (rootless_test.go), but never
// with root's state and data roots: they are not the user's.
func TestNonRootRefused(t *testing.T) {
	os.MkdirAll(stateRoot, 0o711) // as root's /run/minirun exists
	r := minirunAs(t, 65534, "run", "--rm", "busybox", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "is not a directory of uid 65534") {
		t.Fatalf("as uid 65534: exit %d, %q", r.code, r.stderr)
	}
}

func TestUlimitAndNoPivot(t *testing.T) {
	r := run(t, 0, "run", "--rm", "--ulimit", "nofile=512:1024", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn")
	if r.stdout != "512\n1024\n" {
		t.Fatalf("--ulimit: %q", r.stdout)
	}
	// The initramfs fallback: move the rootfs over / and chroot.
	r = run(t, 0, "run", "--rm", "--no-pivot", "busybox", "sh", "-c", "echo $$; ls /bin/busybox")
	if r.stdout != "1\n/bin/busybox\n" {
		t.Fatalf("--no-pivot: %q", r.stdout)
	}
	r = minirun(t, "", "run", "--rm", "--ulimit", "nofile=2:1", "busybox", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "soft limit is above the hard one") {
		t.Fatalf("bad --ulimit: %d %q", r.code, r.stderr)
	}
	assertClean(t)
}

// --network host shares the host's network namespace; container:NAME joins
// another container's. (No traffic is sent: only namespace identities.)
func TestNetworkModes(t *testing.T) {
	hostNet, _ := os.Readlink("/proc/self/ns/net")
	hostName, _ := os.Hostname()
	r := run(t, 0, "run", "--rm", "--network", "host", "busybox", "sh", "-c", "readlink /proc/self/ns/net; hostname")
	if r.stdout != hostNet+"\n"+hostName+"\n" {
		t.Errorf("--network host: %q, want %s and %s", r.stdout, hostNet, hostName)
	}
	cmd := exec.Command(bin, "run", "--rm", "--name", "netowner", "--hostname", "owner", "busybox", "sh", "-c",
		"trap 'exit 0' TERM; readlink /proc/self/ns/net; sleep 30 & wait")
	cmd.Env = minirunEnv()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		assertClean(t)
	}()
	line, _ := bufio.NewReader(out).ReadString('\n')
	r = run(t, 0, "run", "--rm", "--network", "container:netowner", "busybox", "sh", "-c", "readlink /proc/self/ns/net; hostname")
	if r.stdout != line+"owner\n" || line == hostNet+"\n" {
		t.Errorf("--network container:netowner: %q, want %q and owner", r.stdout, line)
	}
	for _, bad := range [][]string{{"--network", "container:nosuch"}, {"--network", "bogus"}} {
		r := minirun(t, "", append(append([]string{"run", "--rm"}, bad...), "busybox", "true")...)
		if r.code != 125 {
			t.Errorf("%v: exit %d %q", bad, r.code, r.stderr)
		}
	}
}

// Bad security input is refused before anything is made: a seccomp profile
// naming a system call no kernel has, bad JSON, an unknown capability.
func TestSecurityBadInputLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.json")
	os.WriteFile(typo, []byte(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","opne"],"action":"SCMP_ACT_ALLOW"}]}`), 0o644)
	broken := filepath.Join(dir, "broken.json")
	os.WriteFile(broken, []byte(`{"defaultAction":`), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--security-opt", "seccomp=" + typo}, "opne"},
		{[]string{"--security-opt", "seccomp=" + broken}, "seccomp"},
		{[]string{"--cap-add", "CAP_NOPE"}, "CAP_NOPE"},
	} {
		args := append(append([]string{"run", "--rm", "--name", "badsec"}, c.args...), "busybox", "true")
		if r := minirun(t, "", args...); r.code != 125 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q (want 125 naming %q)", c.args, r.code, r.stderr, c.want)
		}
	}
	assertClean(t)
}
