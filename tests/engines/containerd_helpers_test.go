package engines

// Helpers of containerd_test.go and cri_test.go: a containerd of the
// test's own (configuration, sockets, content, snapshots and state below
// the world's directory), the images it runs, and its teardown.

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// ctdNamespace is the containerd namespace of the ctr tests; the CRI
// plugin uses its own, k8s.io.
const ctdNamespace = "minirun-test"

// ctdEnv is a containerd started by the test, in a mount and a network
// namespace of its own: /run is a private tmpfs there, because
// containerd 1.6 puts every shim's socket in /run/containerd/s whatever
// its configuration says; the network namespace has only lo, so that a
// pod on the "host" network sees none of the host's. Its shims are its
// children and share both namespaces.
type ctdEnv struct {
	*pdWorld
	sock      string // containerd's gRPC socket
	pid       int    // containerd's PID
	runcRoot  string // --runc-root of the ctr tests: minirun's state root
	fifoDir   string
	criRoot   string // the CRI runtime "minirun"'s state root (options.Root)
	crictlCfg string
	crictl    string
}

// ctdNeed skips as another user and fails, with apt-get's hint, when
// containerd is not installed (CI installs it: .ci/run).
func ctdNeed(tb testing.TB) {
	tb.Helper()
	pdNeedRoot(tb, "containerd", "containerd", "ctr", "containerd-shim-runc-v2")
	for _, p := range []string{"ip", "nsenter"} {
		if _, err := exec.LookPath(p); err != nil {
			tb.Fatalf("%s not found: install iproute2 and util-linux", p)
		}
	}
}

// newContainerd starts containerd with a generated configuration. With
// cri, its CRI plugin is on, with two runtimes: "runc" (the default) and
// "minirun", as docs/KUBERNETES.md configures them.
func newContainerd(tb testing.TB, cri bool) *ctdEnv {
	tb.Helper()
	ctdNeed(tb)
	// What containerd writes by default outside its root and state: none
	// of it may appear on the host.
	pdHostPaths(tb, "/run/containerd", "/run/containerd/s", "/var/lib/containerd", "/opt/containerd")
	w := pdNewWorld(tb, "ctd")
	e := &ctdEnv{pdWorld: w, sock: filepath.Join(w.dir, "c.sock"),
		runcRoot: filepath.Join(w.dir, "runc-root"), fifoDir: filepath.Join(w.dir, "fifo"),
		criRoot: filepath.Join(w.dir, "cri-minirun")}
	for _, sub := range []string{"root", "state", "tmp", "fifo", "cni/conf", "cni/bin", "pods"} {
		if err := os.MkdirAll(filepath.Join(w.dir, sub), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	cfg := filepath.Join(w.dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(ctdConfig(w.dir, w.minirun, cri)), 0o644); err != nil {
		tb.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(w.dir, "containerd.log"))
	if err != nil {
		tb.Fatal(err)
	}
	defer logf.Close()
	daemon := exec.Command("unshare", "--mount", "--net", "--propagation", "private", "sh", "-c", `set -e
mount -t tmpfs -o mode=0755 tmpfs /run
ip link set lo up
exec containerd "$@"`, "sh", "--config", cfg)
	daemon.Stdout, daemon.Stderr = logf, logf
	// The shims inherit it: console sockets (go-runc's temporary ones) go
	// below the world's directory.
	daemon.Env = append(os.Environ(), "TMPDIR="+filepath.Join(w.dir, "tmp"))
	if err := daemon.Start(); err != nil {
		tb.Fatal(err)
	}
	e.pid = daemon.Process.Pid
	exited := make(chan struct{})
	go func() { _ = daemon.Wait(); close(exited) }()
	var mntNS uint64
	tb.Cleanup(func() {
		e.removeAll(tb)
		_ = daemon.Process.Signal(unix.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			tb.Errorf("containerd did not stop within 20s of SIGTERM; killing it")
			_ = daemon.Process.Kill()
			<-exited
		}
		// Shims outlive containerd by design: whatever is left in its
		// mount namespace is ours (the containers' processes are in
		// cgroups below the world's, which its cleanup empties).
		if mntNS != 0 {
			if n := pdKillMountNS(mntNS); n > 0 {
				tb.Errorf("%d processes (shims) were left in containerd's namespace (killed)", n)
			}
		}
		if tb.Failed() {
			if b, err := os.ReadFile(filepath.Join(w.dir, "containerd.log")); err == nil {
				tb.Logf("containerd.log (last 6 KiB):\n%s", pdTail(b, 6144))
			}
		}
	})
	ready := pdWaitFor(30*time.Second, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		return exec.Command("ctr", "--address", e.sock, "version").Run() == nil
	})
	select {
	case <-exited:
		b, _ := os.ReadFile(filepath.Join(w.dir, "containerd.log"))
		tb.Fatalf("containerd exited at start:\n%s", pdTail(b, 4096))
	default:
	}
	if !ready {
		tb.Fatal("containerd did not answer within 30s")
	}
	mntNS, _ = pdMountNS(e.pid)
	return e
}

// ctdConfig is containerd's configuration: everything below dir, no
// plugin that writes elsewhere (opt installs into /opt/containerd), and
// with cri the CRI plugin configured as docs/KUBERNETES.md shows.
func ctdConfig(dir, minirun string, cri bool) string {
	disabled := []string{"io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
		"io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper",
		"io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"}
	if !cri {
		disabled = append(disabled, "io.containerd.grpc.v1.cri")
	}
	q, _ := json.Marshal(disabled) // a TOML array of strings is JSON's
	conf := fmt.Sprintf(`version = 2
root = "%[1]s/root"
state = "%[1]s/state"
disabled_plugins = %[2]s

[grpc]
  address = "%[1]s/c.sock"
[ttrpc]
  address = "%[1]s/c.sock.ttrpc"
[debug]
  level = "info"
`, dir, q)
	if !cri {
		return conf
	}
	// containerd's CRI asks oom_score_adj -998 for a sandbox: lowering
	// it needs CAP_SYS_RESOURCE, which some machines (this test VM) do
	// not grant even to root; runc fails there alike. containerd's
	// restrict_oom_score_adj clamps the value at its own.
	restrictOOM := !ctdHaveCap(unix.CAP_SYS_RESOURCE)
	return conf + fmt.Sprintf(`
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[3]q
  disable_apparmor = true
  restrict_oom_score_adj = %[4]t
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "%[1]s/cni/bin"
    conf_dir = "%[1]s/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "%[1]s/cri-runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.minirun]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.minirun.options]
        BinaryName = %[2]q
        Root = "%[1]s/cri-minirun"
`, dir, minirun, ctdPauseImage, restrictOOM)
}

// ctdPauseImage is the CRI plugin's sandbox_image: ours, imported, never
// pulled.
const ctdPauseImage = "localhost/minirun-test/pause:1"

// ctdBusybox is the busybox image's name in containerd.
const ctdBusybox = "docker.io/library/busybox:latest"

// ctdHaveCap tells whether this process has capability c in its
// effective set.
func ctdHaveCap(c int) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && n&(1<<uint(c)) != 0
		}
	}
	return false
}

// ctr is ctr talking to this containerd, in namespace ns.
func (e *ctdEnv) ctr(ns string, args ...string) *exec.Cmd {
	return exec.Command("ctr", append([]string{"--address", e.sock, "--namespace", ns}, args...)...)
}

// run runs ctr in the tests' namespace.
func (e *ctdEnv) run(tb testing.TB, stdin string, args ...string) pdResult {
	tb.Helper()
	return pdRun(tb, 60*time.Second, stdin, e.ctr(ctdNamespace, args...))
}

// runArgs is `ctr run` of the busybox image as container id, with the
// runtime binary rt (minirun or runc), its state root below the world's
// directory, and its cgroup below the test's.
func (e *ctdEnv) runArgs(rt, id string, flags []string, args ...string) []string {
	a := append([]string{"run", "--runc-binary", rt, "--runc-root", e.runcRoot, "--fifo-dir", e.fifoDir,
		"--cgroup", e.cgParent + "/" + id}, flags...)
	return append(append(a, ctdBusybox, id), args...)
}

// importImage imports an OCI image archive into namespace ns.
func (e *ctdEnv) importImage(tb testing.TB, ns, archive string) {
	tb.Helper()
	pdMust(tb, 60*time.Second, e.ctr(ns, "image", "import", archive))
}

// removeAll removes every task and container a failed test left, in
// both namespaces, so that containerd can stop cleanly. It never stops
// the cleanup (pdRun would, on a timeout): what it cannot remove, the
// kills by namespace and cgroup that follow take care of.
func (e *ctdEnv) removeAll(tb testing.TB) {
	run := func(cmd *exec.Cmd) string {
		out, err := pdRunCombined(cmd, 30*time.Second)
		if err != nil {
			tb.Logf("cleanup: %s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
		}
		return out
	}
	if e.crictl != "" {
		run(e.crictlCmd("rmp", "--all", "--force"))
	}
	for _, ns := range []string{ctdNamespace, "k8s.io"} {
		for _, id := range strings.Fields(run(e.ctr(ns, "task", "list", "--quiet"))) {
			run(e.ctr(ns, "task", "delete", "--force", id))
		}
		for _, id := range strings.Fields(run(e.ctr(ns, "container", "list", "--quiet"))) {
			run(e.ctr(ns, "container", "delete", id))
		}
	}
}

// --- images ---

// ctdImageArchive writes an OCI image layout as a tar (what `ctr image
// import` reads) to out: one uncompressed layer, the file layer, with
// config, named name (the io.containerd.image.name annotation).
func ctdImageArchive(tb testing.TB, out, name, layer string, config ocispec.ImageConfig) {
	tb.Helper()
	layerDigest, layerSize := ctdDigestFile(tb, layer)
	img := ocispec.Image{
		Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		Config:   config,
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layerDigest}},
	}
	configJSON := ctdJSON(tb, img)
	manifest := ocispec.Manifest{
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(configJSON), Size: int64(len(configJSON))},
		Layers:    []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageLayer, Digest: layerDigest, Size: layerSize}},
	}
	manifest.SchemaVersion = 2
	manifestJSON := ctdJSON(tb, manifest)
	index := ocispec.Index{
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{{
			MediaType:   ocispec.MediaTypeImageManifest,
			Digest:      digest.FromBytes(manifestJSON),
			Size:        int64(len(manifestJSON)),
			Annotations: map[string]string{"io.containerd.image.name": name, ocispec.AnnotationRefName: name},
			Platform:    &ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		}},
	}
	index.SchemaVersion = 2

	f, err := os.Create(out)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	add := func(name string, b []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			tb.Fatal(err)
		}
	}
	add(ocispec.ImageLayoutFile, []byte(`{"imageLayoutVersion":"1.0.0"}`))
	add("index.json", ctdJSON(tb, index))
	add("blobs/sha256/"+digest.FromBytes(configJSON).Encoded(), configJSON)
	add("blobs/sha256/"+digest.FromBytes(manifestJSON).Encoded(), manifestJSON)
	lf, err := os.Open(layer)
	if err != nil {
		tb.Fatal(err)
	}
	defer lf.Close()
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/sha256/" + layerDigest.Encoded(), Mode: 0o644, Size: layerSize, Typeflag: tar.TypeReg}); err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(tw, lf); err != nil {
		tb.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
}

func ctdJSON(tb testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func ctdDigestFile(tb testing.TB, path string) (digest.Digest, int64) {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		tb.Fatal(err)
	}
	return digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(h.Sum(nil))), n
}

// busyboxImage makes the busybox image's archive from the world's
// busybox root filesystem tar.
func (e *ctdEnv) busyboxImage(tb testing.TB) string {
	out := filepath.Join(e.dir, "busybox-oci.tar")
	ctdImageArchive(tb, out, ctdBusybox, e.busybox, ocispec.ImageConfig{
		Cmd: []string{"sh"},
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
	})
	return out
}

// pauseImage builds testdata/pause (static) and makes the sandbox image
// of it: /pause, its only file.
func (e *ctdEnv) pauseImage(tb testing.TB) string {
	bin := filepath.Join(e.dir, "pause")
	build := exec.Command(ctdGo(), "build", "-trimpath", "-o", bin, "./tests/engines/testdata/pause")
	build.Dir = ctdRepo()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("build the pause program: %v\n%s", err, out)
	}
	layer := filepath.Join(e.dir, "pause-layer.tar")
	b, err := os.ReadFile(bin)
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(layer)
	if err != nil {
		tb.Fatal(err)
	}
	tw := tar.NewWriter(f)
	if err := tw.WriteHeader(&tar.Header{Name: "pause", Mode: 0o755, Size: int64(len(b)), Typeflag: tar.TypeReg}); err == nil {
		_, err = tw.Write(b)
	}
	if err == nil {
		err = tw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(e.dir, "pause-oci.tar")
	ctdImageArchive(tb, out, ctdPauseImage, layer, ocispec.ImageConfig{Entrypoint: []string{"/pause"}})
	return out
}

// ctdGo is the go command: on $PATH, or the toolchain the test was built
// with (sudo resets PATH).
func ctdGo() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func ctdRepo() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// ctdState reports whether minirun has state for container id below
// root (its --root as the shim gives it: <Root>/<namespace>).
func ctdState(root, ns, id string) bool {
	_, err := os.Stat(filepath.Join(root, ns, id, "state.json"))
	return err == nil
}

// ctdCgroupOf is pid's cgroup: its memory hierarchy's path (v1), or its
// unified one.
func ctdCgroupOf(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	unified := ""
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				return parts[2]
			}
		}
		if parts[0] == "0" {
			unified = parts[2]
		}
	}
	return unified
}
