package engines

// podman 4.3 (Debian 12) with minirun as its OCI runtime: podman hands
// minirun a bundle through conmon (create, start, state, kill, delete,
// exec with --process), as it does with runc or crun.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// podmanEnv is a podman with storage, state, locks, events and networks of
// its own below the world's directory, and minirun as its runtime.
type podmanEnv struct {
	*pdWorld
	runtime string // --runtime: minirun, or runc for the benchmark
	env     []string
	netns   *pdNetns // with bridge: every podman command runs in it
}

func newPodman(tb testing.TB) *podmanEnv { return newPodmanOn(tb, false) }

// newPodmanOn is newPodman; with bridge, podman keeps its default network
// (the bridge "podman", netavark, aardvark-dns for networks with DNS), and
// every podman command runs in the network and mount namespaces of a
// holder process (pdNewNetns): the bridge, veths, firewall rules,
// ip_forward, aardvark-dns and the network namespaces podman bind-mounts
// under /run/netns are that namespace's and die with it.
func newPodmanOn(tb testing.TB, bridge bool) *podmanEnv {
	pdNeedRoot(tb, "podman", "podman", "conmon")
	// What podman and its libraries write by default, outside --root and
	// --runroot: none of it may appear. (/run/minirun, minirun's default
	// state root, is handled below: podman gives the runtime no --root.)
	pdHostPaths(tb, "/var/lib/containers", "/var/lib/containers/cache", "/var/lib/containers/cache/blob-info-cache-v1.boltdb",
		"/run/containers", "/run/containers/networks",
		"/run/libpod", "/etc/cni/net.d/87-podman-bridge.conflist", "/var/lib/cni")
	w := pdNewWorld(tb, "podman")
	p := &podmanEnv{pdWorld: w, runtime: w.minirun}
	d := w.dir
	netns, backend := `netns = "none"`, "cni"
	if bridge {
		pdHostNetUnchanged(tb)
		p.netns = pdNewNetns(tb, true)
		netns, backend = `netns = "bridge"`, "netavark"
	}
	for _, sub := range []string{"root", "runroot", "tmp", "cni", "home"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	// Limits podman asks for by default are 1048576 open files and
	// processes; raising a hard limit needs CAP_SYS_RESOURCE, which this
	// machine may lack: stay within ours.
	var nofile, nproc unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile)
	unix.Getrlimit(unix.RLIMIT_NPROC, &nproc)
	conf := fmt.Sprintf(`[containers]
%[6]s
default_ulimits = ["nofile=%[1]d:%[2]d", "nproc=%[3]d:%[4]d"]

[engine]
lock_type = "file"
events_logger = "file"
events_logfile_path = "%[5]s/events.log"
cgroup_manager = "cgroupfs"
tmp_dir = "%[5]s/tmp"
volume_path = "%[5]s/root/volumes"
image_copy_tmp_dir = "%[5]s/tmp"

[network]
network_backend = "%[7]s"
network_config_dir = "%[5]s/cni"
`, min(nofile.Max, 4096), min(nofile.Max, 4096), min(nproc.Max, 4096), min(nproc.Max, 4096), d, netns, backend)
	storage := fmt.Sprintf("[storage]\ndriver = \"vfs\"\ngraphroot = \"%s/root\"\nrunroot = \"%s/runroot\"\n", d, d)
	files := map[string]string{"containers.conf": conf, "storage.conf": storage, "registries.conf": ""}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(d, name), []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "XDG_") && !strings.HasPrefix(kv, "CONTAINERS_") && !strings.HasPrefix(kv, "TMPDIR=") && !strings.HasPrefix(kv, "HOME=") {
			p.env = append(p.env, kv)
		}
	}
	p.env = append(p.env, "CONTAINERS_CONF="+d+"/containers.conf", "CONTAINERS_STORAGE_CONF="+d+"/storage.conf",
		"CONTAINERS_REGISTRIES_CONF="+d+"/registries.conf", "TMPDIR="+d+"/tmp", "HOME="+d+"/home")

	_, err := os.Stat("/run/minirun")
	runMiniExisted := err == nil
	tb.Cleanup(func() {
		// Whatever a failed test left: containers, then any conmon or
		// runtime process still naming our directory, then the storage.
		pdRun(tb, 60*time.Second, "", p.cmd("rm", "--all", "--force", "--time", "0"))
		if k := pdKillByArg(d); len(k) > 0 {
			tb.Errorf("processes left behind (killed): %v", k)
		}
		// minirun's state of our containers (bundles below d) must be gone.
		ents, _ := os.ReadDir("/run/minirun")
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join("/run/minirun", e.Name(), "state.json"))
			if err == nil && strings.Contains(string(b), d) {
				tb.Errorf("minirun state left in /run/minirun/%s", e.Name())
				os.RemoveAll(filepath.Join("/run/minirun", e.Name()))
			}
		}
		if !runMiniExisted {
			os.Remove("/run/minirun") // if empty: someone else may use it now
		}
	})

	p.importImage(tb, `CMD ["sh"]`, "localhost/busybox:latest")
	return p
}

// importImage makes an image of the busybox tar. The import runs in a
// mount namespace of its own with a tmpfs on /var/lib: containers/image
// keeps a blob cache in /var/lib/containers/cache whatever --root says.
func (p *podmanEnv) importImage(tb testing.TB, change, name string) {
	tb.Helper()
	imp := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs tmpfs /var/lib && exec "$@"`, "sh")
	imp.Args = append(imp.Args, p.cmd("import", "--change", change, p.busybox, name).Args...)
	imp.Env = p.env
	pdMust(tb, 60*time.Second, imp)
}

// cmd is podman with the private configuration.
func (p *podmanEnv) cmd(args ...string) *exec.Cmd {
	d := p.dir
	global := []string{"--root", d + "/root", "--runroot", d + "/runroot", "--storage-driver", "vfs",
		"--cgroup-manager", "cgroupfs", "--events-backend", "file", "--tmpdir", d + "/tmp", "--runtime", p.runtime}
	c := exec.Command("podman", append(global, args...)...)
	if p.netns != nil {
		c = exec.Command("nsenter", append(p.netns.enter(), c.Args...)...)
	}
	c.Env = p.env
	return c
}

// runArgs are `podman run` flags every container gets: no network, and
// its cgroup below the test's.
func (p *podmanEnv) runArgs(args ...string) []string {
	return append([]string{"run", "--network", "none", "--cgroup-parent", p.cgParent}, args...)
}

// benchRuntimes are the runtimes the benchmarks time podman with: name and
// path of minirun, and of runc if it is installed.
func (p *podmanEnv) benchRuntimes(tb testing.TB) [][2]string {
	runtimes := [][2]string{{"minirun", p.minirun}}
	if runc, err := exec.LookPath("runc"); err == nil {
		runtimes = append(runtimes, [2]string{"runc", runc})
		// podman gives the runtime no --root: runc's default state root
		// (in the holder's /run with a network namespace).
		if _, err := os.Stat("/run/runc"); err != nil && p.netns == nil {
			tb.Cleanup(func() { os.Remove("/run/runc") })
		}
	}
	return runtimes
}

func (p *podmanEnv) run(tb testing.TB, stdin string, args ...string) pdResult {
	tb.Helper()
	return pdRun(tb, 60*time.Second, stdin, p.cmd(args...))
}

func (p *podmanEnv) image() string { return "localhost/busybox" }

func (p *podmanEnv) rmArgs(name string) []string { return []string{"rm", "-f", "-t", "0", name} }

func TestPodman(t *testing.T) {
	p := newPodman(t)
	pdCommonTests(t, p)

	// The limits podman writes into config.json, as the container sees them.
	t.Run("Limits", func(t *testing.T) {
		r := p.run(t, "", p.runArgs("--rm", "--memory", "64m", "--pids-limit", "50", "-u", "1000:1000", "localhost/busybox", "sh", "-c", pdLimitsScript)...)
		f := strings.Fields(r.stdout)
		if r.code != 0 || len(f) != 4 || f[0] != "1000" || f[2] != "67108864" || f[3] != "50" {
			t.Fatalf("want uid 1000, the nofile limit, 67108864 and 50: %v", r)
		}
	})

	t.Run("ExecStop", func(t *testing.T) {
		name := "mr-exec"
		pdStartStoppable(t, p, name)
		pdExecInto(t, p, name, 127, func(r pdResult) string { return r.stderr })
		pdPauseStop(t, p, name)
		// A stopped container cannot be exec'd into.
		if r := p.run(t, "", "exec", name, "true"); r.code == 0 {
			t.Errorf("exec into a stopped container succeeded: %v", r)
		}
	})

	// A user namespace: podman chowns the image copy and gives minirun
	// the mappings; /sys/fs/cgroup cannot be a new mount there.
	t.Run("UserNamespace", func(t *testing.T) {
		r := p.run(t, "", p.runArgs("--rm", "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536", "localhost/busybox", "sh", "-c",
			"id -u; cat /proc/self/uid_map; ls /sys/fs/cgroup/pids >/dev/null && echo cgroups")...)
		if f := strings.Fields(r.stdout); r.code != 0 || strings.Join(f, " ") != "0 0 100000 65536 cgroups" {
			t.Fatalf("want root inside mapped to 100000: %v", r)
		}
	})

	// A pod shares its infra container's namespaces, the PID one too:
	// minirun joins namespaces by path. (The infra image is ours: podman's
	// own pause image would be built with buildah, which writes to
	// /var/tmp and /var/lib/containers.)
	t.Run("PodSharedPID", func(t *testing.T) {
		p.importImage(t, `CMD ["sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]`, "localhost/mr-infra:latest")
		if r := p.run(t, "", "pod", "create", "--name", "mr-pod", "--cgroup-parent", p.cgParent, "--infra-image", "localhost/mr-infra:latest",
			"--share", "net,ipc,uts,pid"); r.code != 0 {
			t.Fatal(r)
		}
		defer p.run(t, "", "pod", "rm", "--force", "mr-pod")
		r := p.run(t, "", "run", "--rm", "--pod", "mr-pod", "localhost/busybox", "ps", "-o", "pid,args")
		if r.code != 0 || !strings.Contains(r.stdout, "1 sh -c trap") {
			t.Fatalf("want the pod's infra process as PID 1: %v", r)
		}
	})

	t.Run("NothingLeft", func(t *testing.T) {
		if r := p.run(t, "", "rm", "--all", "--force", "--time", "0"); r.code != 0 {
			t.Fatal(r)
		}
		// minirun removes each container's cgroup on delete (podman keeps
		// its conmon cgroup, which the world's cleanup removes).
		if left := pdLeftCgroups(p.cgParent, "libpod-"); len(left) > 0 {
			t.Errorf("container cgroups left: %v", left)
		}
	})
}

// BenchmarkPodmanRun times `podman run --rm busybox true` with minirun and
// with runc (Debian's, if installed) as the runtime, on one podman setup:
//
//	go test -run '^$' -bench PodmanRun -benchtime 20x ./tests/engines/
func BenchmarkPodmanRun(b *testing.B) {
	p := newPodman(b)
	for _, rt := range p.benchRuntimes(b) {
		b.Run(rt[0], func(b *testing.B) {
			p.runtime = rt[1]
			defer func() { p.runtime = p.minirun }()
			for i := 0; i < b.N; i++ {
				if r := p.run(b, "", p.runArgs("--rm", "localhost/busybox", "true")...); r.code != 0 {
					b.Fatal(r)
				}
			}
		})
	}
}

// BenchmarkPodmanRunBridge is BenchmarkPodmanRun on podman's default bridge
// network ("podman", netavark), in a private network namespace: the work
// `minirun run --rm busybox true` does.
//
//	go test -run '^$' -bench PodmanRunBridge -benchtime 20x ./tests/engines/
func BenchmarkPodmanRunBridge(b *testing.B) {
	p := newPodmanOn(b, true)
	for _, rt := range p.benchRuntimes(b) {
		b.Run(rt[0], func(b *testing.B) {
			p.runtime = rt[1]
			defer func() { p.runtime = p.minirun }()
			pdMustBeBridged(b, p.cmd(append([]string{"run", "--cgroup-parent", p.cgParent, "--rm", "localhost/busybox"}, pdEth0Args...)...))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if r := p.run(b, "", "run", "--cgroup-parent", p.cgParent, "--rm", "localhost/busybox", "true"); r.code != 0 {
					b.Fatal(r)
				}
			}
		})
	}
}
