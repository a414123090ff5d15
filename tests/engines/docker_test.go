package engines

// dockerd 20.10 (Debian 12) with minirun registered as a runtime
// (--add-runtime) and chosen per container (docker run --runtime minirun):
// dockerd → its own containerd → containerd-shim-runc-v2 → minirun, the
// path runc takes, with the shim reading minirun's --log file on errors.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// dockerEnv is a dockerd of the test's own, with its containerd, in a mount
// and a network namespace of their own: /run is a private tmpfs there
// (containerd puts shim sockets in /run/containerd/s whatever its
// configuration says, and dockerd its plugins in /run/docker), as are
// /etc/docker (dockerd writes key.json there) and /opt/containerd; no
// interface, route or firewall rule of the host's is seen or changed.
// Everything dies with the namespaces when dockerd and its children exit.
type dockerEnv struct {
	*pdWorld
	cli  string
	sock string
	env  []string
}

func newDocker(tb testing.TB) *dockerEnv { return newDockerOn(tb, false) }

// newDockerOn is newDocker; with bridge, dockerd keeps its network defaults
// (the default bridge docker0, iptables rules, ip_forward and masquerading,
// the userland proxy off as above), all of them in its private network
// namespace, where they die with it.
func newDockerOn(tb testing.TB, bridge bool) *dockerEnv {
	pdNeedRoot(tb, "docker.io", "dockerd", "containerd", "containerd-shim-runc-v2")
	pdHostPaths(tb, "/etc/docker/key.json", "/var/lib/docker", "/run/docker")
	w := pdNewWorld(tb, "docker")
	d := &dockerEnv{pdWorld: w, sock: filepath.Join(w.dir, "docker.sock")}
	// The client of the same package as the daemon, if there is one.
	d.cli = "/usr/bin/docker"
	if _, err := os.Stat(d.cli); err != nil {
		if d.cli, err = exec.LookPath("docker"); err != nil {
			tb.Fatal("docker (the client) not found: install it with `apt-get install -y docker.io`")
		}
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			d.env = append(d.env, kv)
		}
	}
	d.env = append(d.env, "DOCKER_CONFIG="+filepath.Join(w.dir, "cli"))
	if err := os.WriteFile(filepath.Join(w.dir, "daemon.json"), []byte("{}\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	for _, sub := range []string{"data", "exec", "cli"} {
		os.MkdirAll(filepath.Join(w.dir, sub), 0o755)
	}
	// The mount point for the private /etc/docker (docker.io ships it).
	if _, err := os.Stat("/etc/docker"); err != nil {
		if err := os.Mkdir("/etc/docker", 0o755); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { os.Remove("/etc/docker") })
	}

	logf, err := os.Create(filepath.Join(w.dir, "dockerd.log"))
	if err != nil {
		tb.Fatal(err)
	}
	defer logf.Close()
	args := []string{"--mount", "--net", "--propagation", "private", "sh", "-c", `set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=0755 tmpfs /etc/docker
if [ -d /opt/containerd ]; then mount -t tmpfs tmpfs /opt/containerd; elif [ -d /opt ]; then mount -t tmpfs tmpfs /opt; fi
exec dockerd "$@"`, "sh",
		"--config-file", filepath.Join(w.dir, "daemon.json"),
		"--data-root", filepath.Join(w.dir, "data"),
		"--exec-root", filepath.Join(w.dir, "exec"),
		"-H", "unix://" + d.sock,
		"--pidfile", filepath.Join(w.dir, "docker.pid"),
		"--userland-proxy=false",
		"--storage-driver", "vfs",
		"--exec-opt", "native.cgroupdriver=cgroupfs",
		"--cgroup-parent", w.cgParent,
		"--add-runtime", "minirun=" + w.minirun,
	}
	if !bridge {
		args = append(args, "--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none")
	} else {
		pdHostNetUnchanged(tb)
	}
	daemon := exec.Command("unshare", args...)
	daemon.Stdout, daemon.Stderr = logf, logf
	daemon.Env = d.env
	if err := daemon.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = daemon.Wait(); close(exited) }()
	var ns uint64
	tb.Cleanup(func() {
		// Containers first (a failed test's), then dockerd, which stops
		// its containerd; then whatever is still in their namespace.
		if r := pdRun(tb, 60*time.Second, "", d.cmd("ps", "-aq")); r.code == 0 && strings.TrimSpace(r.stdout) != "" {
			pdRun(tb, 60*time.Second, "", d.cmd(append([]string{"rm", "-f"}, strings.Fields(r.stdout)...)...))
		}
		_ = daemon.Process.Signal(unix.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			tb.Errorf("dockerd did not stop within 30s of SIGTERM; killing it")
			_ = daemon.Process.Kill()
			<-exited
		}
		if ns != 0 {
			if n := pdKillMountNS(ns); n > 0 {
				tb.Errorf("%d processes were left in dockerd's namespace (killed)", n)
			}
		}
		if tb.Failed() {
			if b, err := os.ReadFile(filepath.Join(w.dir, "dockerd.log")); err == nil {
				tb.Logf("dockerd.log (last 4 KiB):\n%s", pdTail(b, 4096))
			}
		}
	})
	ready := pdWaitFor(30*time.Second, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		return exec.Command(d.cli, "-H", "unix://"+d.sock, "version").Run() == nil
	})
	select {
	case <-exited:
		b, _ := os.ReadFile(filepath.Join(w.dir, "dockerd.log"))
		tb.Fatalf("dockerd exited at start:\n%s", pdTail(b, 4096))
	default:
	}
	if !ready {
		tb.Fatal("dockerd did not answer within 30s")
	}
	ns, _ = pdMountNS(daemon.Process.Pid)
	pdMust(tb, 60*time.Second, d.cmd("import", "-c", `CMD ["sh"]`, w.busybox, "busybox:latest"))
	return d
}

func pdTail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func (d *dockerEnv) cmd(args ...string) *exec.Cmd {
	c := exec.Command(d.cli, append([]string{"-H", "unix://" + d.sock}, args...)...)
	c.Env = d.env
	return c
}

// runArgs are `docker run` flags every container gets: minirun, no network.
func (d *dockerEnv) runArgs(args ...string) []string {
	return append([]string{"run", "--runtime", "minirun", "--network", "none"}, args...)
}

func (d *dockerEnv) run(tb testing.TB, stdin string, args ...string) pdResult {
	tb.Helper()
	return pdRun(tb, 60*time.Second, stdin, d.cmd(args...))
}

func (d *dockerEnv) image() string { return "busybox" }

func (d *dockerEnv) rmArgs(name string) []string { return []string{"rm", "-f", name} }

func TestDocker(t *testing.T) {
	d := newDocker(t)
	pdCommonTests(t, d)

	t.Run("Limits", func(t *testing.T) {
		r := d.run(t, "", d.runArgs("--rm", "-m", "64m", "--pids-limit", "50", "-u", "1000:1000", "--ulimit", "nofile=512:512", "busybox", "sh", "-c", pdLimitsScript)...)
		if f := strings.Fields(r.stdout); r.code != 0 || strings.Join(f, " ") != "1000 512 67108864 50" {
			t.Fatalf("want 1000 512 67108864 50: %v", r)
		}
	})

	t.Run("ExecStop", func(t *testing.T) {
		name := "mr-exec"
		pdStartStoppable(t, d, name)
		// Docker answers 126 for any exec that fails to start, with runc
		// too, and its client may print the reason on stdout.
		pdExecInto(t, d, name, 126, func(r pdResult) string { return r.stdout + r.stderr })
		// Another container in this one's PID namespace (--pid container:).
		r := d.run(t, "", d.runArgs("--rm", "--pid", "container:"+name, "busybox", "ps", "-o", "pid,args")...)
		if r.code != 0 || !strings.Contains(r.stdout, "1 sh -c trap") {
			t.Errorf("--pid container: want the first container's PID 1: %v", r)
		}
		pdPauseStop(t, d, name)
	})

	t.Run("NothingLeft", func(t *testing.T) {
		if r := d.run(t, "", "ps", "-aq"); strings.TrimSpace(r.stdout) != "" {
			d.run(t, "", append([]string{"rm", "-f"}, strings.Fields(r.stdout)...)...)
		}
		if left := pdLeftCgroups(d.cgParent, ""); len(left) > 0 {
			t.Errorf("container cgroups left: %v", left)
		}
	})
}

// BenchmarkDockerRun times `docker run --rm busybox true` with minirun and
// with runc (dockerd's default runtime) on one dockerd:
//
//	go test -run '^$' -bench DockerRun -benchtime 20x ./tests/engines/
func BenchmarkDockerRun(b *testing.B) {
	d := newDocker(b)
	for _, rt := range []string{"minirun", "runc"} {
		b.Run(rt, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				r := d.run(b, "", "run", "--runtime", rt, "--network", "none", "--rm", "busybox", "true")
				if r.code != 0 {
					b.Fatal(r)
				}
			}
		})
	}
}

// BenchmarkDockerRunBridge is BenchmarkDockerRun on docker's default bridge
// network (docker0, its iptables rules and ip_forward, in dockerd's private
// network namespace): the work `minirun run --rm busybox true` does.
//
//	go test -run '^$' -bench DockerRunBridge -benchtime 20x ./tests/engines/
func BenchmarkDockerRunBridge(b *testing.B) {
	d := newDockerOn(b, true)
	for _, rt := range []string{"minirun", "runc"} {
		b.Run(rt, func(b *testing.B) {
			pdMustBeBridged(b, d.cmd(append([]string{"run", "--runtime", rt, "--rm", "busybox"}, pdEth0Args...)...))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if r := d.run(b, "", "run", "--runtime", rt, "--rm", "busybox", "true"); r.code != 0 {
					b.Fatal(r)
				}
			}
		})
	}
}
