package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// doctorReport is the JSON of `minirun doctor --format json`.
type doctorReport struct {
	Rootless bool           `json:"rootless"`
	Failed   bool           `json:"failed"`
	Summary  map[string]int `json:"summary"`
	Checks   []struct {
		ID       string   `json:"id"`
		Status   string   `json:"status"`
		Message  string   `json:"message"`
		Evidence []string `json:"evidence"`
		Why      string   `json:"why"`
		Fix      []string `json:"fix"`
	} `json:"checks"`
}

func parseDoctor(t *testing.T, r result) (doctorReport, map[string]int) {
	t.Helper()
	var rep doctorReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("doctor --format json: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	idx := map[string]int{}
	for i, c := range rep.Checks {
		idx[c.ID] = i
	}
	wantCode := 0
	if rep.Failed {
		wantCode = 1
	}
	if r.code != wantCode {
		t.Errorf("doctor exit %d with failed=%v (want %d)\n%s", r.code, rep.Failed, wantCode, r.stdout)
	}
	return rep, idx
}

// verdict asserts one check's status and that its text contains words.
func verdict(t *testing.T, rep doctorReport, idx map[string]int, id, status string, words ...string) {
	t.Helper()
	i, ok := idx[id]
	if !ok {
		t.Fatalf("no check %s", id)
	}
	c := rep.Checks[i]
	if c.Status != status {
		t.Errorf("%s: %s (%s), want %s; evidence %q", id, c.Status, c.Message, status, c.Evidence)
	}
	all := c.Message + "\n" + strings.Join(c.Evidence, "\n") + "\n" + c.Why + "\n" + strings.Join(c.Fix, "\n")
	for _, w := range words {
		if !strings.Contains(all, w) {
			t.Errorf("%s: %q not in %s", id, w, all)
		}
	}
}

// rootPropagation reads the propagation of "/" in the caller's mount
// namespace: "shared" when its optional fields have a shared:N.
func rootPropagation(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	p := ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 6 && f[4] == "/" {
			p = "private"
			for _, o := range f[6:] {
				if o == "-" {
					break
				}
				if strings.HasPrefix(o, "shared:") {
					p = "shared"
				}
			}
		}
	}
	return p
}

func TestDoctorThisHost(t *testing.T) {
	r := minirun(t, "", "doctor", "--format", "json")
	rep, idx := parseDoctor(t, r)
	if rep.Rootless {
		t.Error("root reported as rootless")
	}
	for _, ns := range []string{"mount", "uts", "ipc", "pid", "network", "cgroup", "user"} {
		verdict(t, rep, idx, "namespaces."+ns, "ok", "in a child process: ok")
	}
	verdict(t, rep, idx, "mounts.overlay", "ok", "overlay")
	// the data root of the tests is below /tmp: the overlay probe really mounted there
	verdict(t, rep, idx, "mounts.overlay_upper", "ok", "throwaway mount namespace: ok")
	verdict(t, rep, idx, "network.veth_bridge", "ok")
	verdict(t, rep, idx, "network.nftables", "ok")
	verdict(t, rep, idx, "runtime.nsenter", "ok", "linked in: true")
	verdict(t, rep, idx, "mounts.pivot_root", "ok")
	// idmapped layers: a 6.x kernel with the data root on ext4 has them (the
	// VM's data root is on tmpfs, which has them since 6.3 only)
	var fs unix.Statfs_t
	var u unix.Utsname
	if unix.Statfs(filepath.Dir(dataRoot), &fs) == nil && fs.Type == unix.EXT4_SUPER_MAGIC && unix.Uname(&u) == nil &&
		unix.ByteSliceToString(u.Release[:]) >= "6" {
		verdict(t, rep, idx, "mounts.idmapped_layers", "ok", "shows as 100000")
	}

	// What the kernel reports here, read by the test itself.
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		t.Fatal(err)
	}
	switch {
	case st.Type == unix.CGROUP2_SUPER_MAGIC:
		verdict(t, rep, idx, "cgroups.mode", "ok", "cgroup v2")
	case unix.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC:
		// the shared development machine: hybrid
		verdict(t, rep, idx, "cgroups.mode", "warn", "hybrid", "statfs /sys/fs/cgroup/unified: cgroup2")
		verdict(t, rep, idx, "cgroups.delegation", "skip")
	default:
		verdict(t, rep, idx, "cgroups.mode", "warn", "cgroup v1 only")
	}
	fwd, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if strings.TrimSpace(string(fwd)) == "1" {
		verdict(t, rep, idx, "network.ip_forward", "ok")
	} else {
		verdict(t, rep, idx, "network.ip_forward", "warn")
	}
	if rootPropagation(t) == "shared" {
		verdict(t, rep, idx, "mounts.propagation", "warn", "shared")
	} else {
		verdict(t, rep, idx, "mounts.propagation", "ok")
	}

	// The probes left nothing behind: no interface, no temporary directory.
	links, _ := exec.Command("ip", "-o", "link").Output()
	if strings.Contains(string(links), "doctor-") {
		t.Errorf("doctor left interfaces on the host:\n%s", links)
	}
	if m, _ := filepath.Glob(filepath.Join(dataRoot, ".doctor-overlay-*")); len(m) > 0 {
		t.Errorf("doctor left %v", m)
	}
	if m := mountsUnder(dataRoot + "/.doctor"); len(m) > 0 {
		t.Errorf("doctor left mounts %v", m)
	}

	// The human report: grouped, no colour when not a terminal.
	h := run(t, 0, "doctor")
	for _, w := range []string{"Namespaces\n", "Mounts\n", "Cgroups\n", "Network\n", "✔ new pid namespace", "ok,"} {
		if !strings.Contains(h.stdout, w) {
			t.Errorf("report lacks %q:\n%s", w, h.stdout)
		}
	}
	if strings.Contains(h.stdout, "\x1b[") {
		t.Error("colour escapes written to a pipe")
	}
}

// inPrivateMountNS runs script with sh in a new mount namespace (unshare
// -m makes every mount in it private first, so nothing the script mounts
// or re-marks reaches the host) and returns the output of the minirun
// command in it.
func inPrivateMountNS(t *testing.T, script string) result {
	t.Helper()
	needTool(t, "unshare")
	before := rootPropagation(t)
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script)
	cmd.Env = append(minirunEnv(), "MINIRUN="+bin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	_ = cmd.Run()
	if after := rootPropagation(t); after != before {
		t.Fatalf("the host's / changed propagation: %s -> %s", before, after)
	}
	return result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
}

func TestDoctorSharedRoot(t *testing.T) {
	r := inPrivateMountNS(t, `mount --make-shared / && exec "$MINIRUN" doctor --format json`)
	rep, idx := parseDoctor(t, r)
	verdict(t, rep, idx, "mounts.propagation", "warn", "/ is shared", "pivot_root", "EINVAL", "--make-rprivate", "shared:")
	// a shared / is a trap for tutorials, not a failure of minirun
	verdict(t, rep, idx, "mounts.pivot_root", "ok")
	// and the overlay probe in its own namespace still works (it makes / private first)
	verdict(t, rep, idx, "mounts.overlay_upper", "ok")
}

func TestDoctorOverlayUpperRefused(t *testing.T) {
	// A data root on an overlay (as when minirun runs inside a Docker
	// container): overlay refuses an overlay as upper filesystem.
	d := t.TempDir()
	for _, n := range []string{"l", "u", "w", "m"} {
		if err := os.Mkdir(filepath.Join(d, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := inPrivateMountNS(t, `set -e; d=`+d+`
mount -t overlay overlay -o lowerdir=$d/l,upperdir=$d/u,workdir=$d/w $d/m
"$MINIRUN" --data-root $d/m/data doctor --format json || echo "exit=$?" >&2`)
	rep, idx := parseDoctor(t, result{r.stdout, r.stderr, 1})
	if !rep.Failed || !strings.Contains(r.stderr, "exit=1") {
		t.Errorf("doctor did not fail: failed=%v stderr %q", rep.Failed, r.stderr)
	}
	verdict(t, rep, idx, "mounts.overlay_upper", "fail", "statfs "+d+"/m: overlay", "invalid argument", "--data-root")
	if m, _ := filepath.Glob(filepath.Join(d, "u", ".doctor-overlay-*")); len(m) > 0 {
		t.Errorf("doctor left %v", m)
	}
}

func TestDoctorAsUser(t *testing.T) {
	r := minirunAs(t, 65534, "doctor", "--format", "json")
	rep, idx := parseDoctor(t, r)
	if !rep.Rootless {
		t.Error("uid 65534 not reported as rootless")
	}
	verdict(t, rep, idx, "network.veth_bridge", "skip", "slirp4netns")
	verdict(t, rep, idx, "mounts.overlay_upper", "skip")
	max, _ := os.ReadFile("/proc/sys/user/max_user_namespaces")
	if strings.TrimSpace(string(max)) != "0" {
		// unprivileged: each namespace is probed together with a user namespace
		verdict(t, rep, idx, "namespaces.pid", "ok", "clone(CLONE_NEWUSER|CLONE_NEWPID)")
	}
	// nobody has no range in /etc/subuid on a normal host
	if b, _ := os.ReadFile("/etc/subuid"); !strings.Contains(string(b), "nobody:") && !strings.Contains(string(b), "65534:") {
		// (named 65534 where /etc/passwd has no nobody, as in the VM)
		verdict(t, rep, idx, "user.subuid", "warn", "/etc/subuid", "usermod --add-subuids")
	}
	h := minirunAs(t, 65534, "doctor")
	if !strings.Contains(h.stdout, "You are not root") || !strings.Contains(h.stdout, "slirp4netns") {
		t.Errorf("as a user, no word on rootless mode:\n%s", h.stdout)
	}
}

func TestDoctorUsernsAutoIDs(t *testing.T) {
	// minirun's overrides of /etc/subuid and /etc/subgid are what doctor reads
	delegate(t, "someoneelse:100000:65536\ncontainers:1200000:65536\n")
	rep, idx := parseDoctor(t, minirun(t, "", "doctor", "--format", "json"))
	verdict(t, rep, idx, "user.subuid_auto", "ok", "containers has 1200000-1265535")
	delegate(t, "containers:1200000:1000\n")
	rep, idx = parseDoctor(t, minirun(t, "", "doctor", "--format", "json"))
	verdict(t, rep, idx, "user.subuid_auto", "warn", "fewer than 65536", "--userns=auto refuses", "echo containers:100000:1048576 >>")
}

func TestDoctorWithoutCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds minirun a second time, without cgo")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no Go toolchain here (the VM): cannot build a binary without cgo")
	}
	nocgo := filepath.Join(t.TempDir(), "minirun-nocgo")
	build := exec.Command("go", "build", "-o", nocgo, "./cmd/minirun")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build without cgo: %v\n%s", err, out)
	}
	cmd := exec.Command(nocgo, "doctor", "--format", "json")
	cmd.Env = minirunEnv()
	out, _ := cmd.Output()
	rep, idx := parseDoctor(t, result{string(out), "", cmd.ProcessState.ExitCode()})
	verdict(t, rep, idx, "runtime.nsenter", "fail", "linked in: false", "setns", "CGO_ENABLED=1")
	if cmd.ProcessState.ExitCode() != 1 {
		t.Errorf("exit %d, want 1", cmd.ProcessState.ExitCode())
	}
}

func TestDoctorForwardDropAndIPForwardOff(t *testing.T) {
	needTool(t, "nft")
	needTool(t, "unshare")
	// In a network namespace of its own (gone with the shell), a firewall
	// like Docker's or ufw's: a forward chain with policy drop, and routing
	// off. Neither touches the host's network namespace.
	cmd := exec.Command("unshare", "-n", "sh", "-c", `set -e
nft add table inet fw
nft add chain inet fw FORWARD '{ type filter hook forward priority 0; policy drop; }'
echo 0 > /proc/sys/net/ipv4/ip_forward
exec "$MINIRUN" doctor --format json`)
	cmd.Env = append(minirunEnv(), "MINIRUN="+bin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	_ = cmd.Run()
	rep, idx := parseDoctor(t, result{out.String(), errb.String(), cmd.ProcessState.ExitCode()})
	verdict(t, rep, idx, "network.forward_policy", "warn", "nft table inet fw chain FORWARD", "policy drop",
		"iptables -I FORWARD -i "+testBridge+" -j ACCEPT", "DOCKER-USER")
	verdict(t, rep, idx, "network.ip_forward", "warn", "ip_forward: 0", "sysctl -w net.ipv4.ip_forward=1")
	// warnings only: doctor does not fail for them
	if rep.Failed {
		t.Errorf("failed: %s", out.String())
	}
}

// needTool skips the test when a program it drives is missing (the VM's
// userland is busybox).
func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed here", name)
	}
}
