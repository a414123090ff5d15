package engines

// Kubernetes' path to minirun: containerd's CRI plugin with a runtime
// "minirun" (a RuntimeClass's handler, configured as docs/KUBERNETES.md
// shows) driven with crictl, as the kubelet drives it: RunPodSandbox (the
// pause container), CreateContainer, StartContainer, ExecSync and a
// streaming Exec, the container log, StopContainer, RemoveContainer,
// StopPodSandbox, RemovePodSandbox. The pod is on the "host" network
// (containerd's own network namespace, made by the test), so no CNI
// plugin or configuration is needed; its containers share the sandbox's
// PID namespace (crictl's default, Kubernetes' shareProcessNamespace).

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ctdCrictlVersion is the cri-tools release the test builds when no
// crictl is given: its CRI v1 client works with containerd 1.6.
const ctdCrictlVersion = "v1.34.0"

// crictlCmd is crictl talking to this containerd's CRI, run in
// containerd's network namespace: a streaming exec connects to the CRI
// stream server, which listens on 127.0.0.1 there.
func (e *ctdEnv) crictlCmd(args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=/proc/" + strconv.Itoa(e.pid) + "/ns/net", "--", e.crictl, "--config", e.crictlCfg}, args...)...)
}

func (e *ctdEnv) crictlRun(tb testing.TB, args ...string) pdResult {
	tb.Helper()
	return pdRun(tb, 60*time.Second, "", e.crictlCmd(args...))
}

// findCrictl is $MINIRUN_TEST_CRICTL, crictl on $PATH, or one built now
// with `go install sigs.k8s.io/cri-tools/cmd/crictl@v1.34.0` (from the
// Go module proxy, or the module cache).
func (e *ctdEnv) findCrictl(tb testing.TB) {
	tb.Helper()
	e.crictlCfg = filepath.Join(e.dir, "crictl.yaml")
	cfg := fmt.Sprintf("runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 30\npull-image-on-create: false\n", e.sock, e.sock)
	if err := os.WriteFile(e.crictlCfg, []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	if e.crictl = os.Getenv("MINIRUN_TEST_CRICTL"); e.crictl != "" {
		return
	}
	if p, err := exec.LookPath("crictl"); err == nil {
		e.crictl = p
		return
	}
	gobin := filepath.Join(e.dir, "gobin")
	build := exec.Command(ctdGo(), "install", "sigs.k8s.io/cri-tools/cmd/crictl@"+ctdCrictlVersion)
	build.Dir = e.dir
	build.Env = append(os.Environ(), "GOBIN="+gobin, "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	if out, err := pdRunCombined(build, 5*time.Minute); err != nil {
		tb.Fatalf("build crictl %s (needs the Go module proxy or a module cache that has it; or set MINIRUN_TEST_CRICTL=/path/to/crictl): %v\n%s",
			ctdCrictlVersion, err, out)
	}
	e.crictl = filepath.Join(gobin, "crictl")
}

// pdRunCombined runs cmd with a timeout and returns its combined output.
func pdRunCombined(cmd *exec.Cmd, timeout time.Duration) (string, error) {
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("timed out after %v", timeout)
	}
}

func TestCRI(t *testing.T) {
	e := newContainerd(t, true)
	e.findCrictl(t)
	e.importImage(t, "k8s.io", e.pauseImage(t))
	e.importImage(t, "k8s.io", e.busyboxImage(t))
	if r := e.crictlRun(t, "images"); r.code != 0 || !strings.Contains(r.stdout, "minirun-test/pause") || !strings.Contains(r.stdout, "busybox") {
		t.Fatalf("crictl images: want the pause and busybox images: %v", r)
	}

	write := func(name string, v any) string {
		p := filepath.Join(e.dir, name)
		if err := os.WriteFile(p, ctdJSON(t, v), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	type m = map[string]any
	// namespace_options.network 2 is NODE (hostNetwork: true); pid is
	// left at POD: the containers join the sandbox's PID namespace.
	pod := write("pod.json", m{
		"metadata":      m{"name": "mr-pod", "namespace": "minirun-test", "uid": "mr-pod-uid", "attempt": 0},
		"log_directory": filepath.Join(e.dir, "pods", "mr-pod"),
		"linux": m{
			"cgroup_parent":    e.cgParent + "/pods",
			"security_context": m{"namespace_options": m{"network": 2}},
		},
	})
	// seccomp profile_type 0 is RuntimeDefault: containerd's default
	// profile, in config.json for minirun to apply.
	container := func(file, name string, command ...string) string {
		return write(file, m{
			"metadata": m{"name": name},
			"image":    m{"image": ctdBusybox},
			"command":  command,
			"log_path": name + ".log",
			"linux":    m{"security_context": m{"seccomp": m{"profile_type": 0}}},
		})
	}
	app := container("app.json", "app", "sh", "-c", `grep Seccomp: /proc/$$/status; echo hello from the pod; trap "echo got TERM; exit 0" TERM; while :; do sleep 0.1; done`)

	// RunPodSandbox with the RuntimeClass handler "minirun".
	r := e.crictlRun(t, "runp", "--runtime", "minirun", pod)
	podID := strings.TrimSpace(r.stdout)
	if r.code != 0 || podID == "" {
		t.Fatalf("runp: %v", r)
	}
	defer e.crictlRun(t, "rmp", "--force", podID)
	if !ctdState(e.criRoot, "k8s.io", podID) {
		t.Fatalf("no minirun state for the sandbox below %s: the runtime handler did not run minirun", e.criRoot)
	}
	if st := ctdInspect(t, e, "inspectp", podID); st.State != "SANDBOX_READY" {
		t.Fatalf("sandbox state %q, want SANDBOX_READY", st.State)
	}

	r = e.crictlRun(t, "create", "--no-pull", podID, app, pod)
	cid := strings.TrimSpace(r.stdout)
	if r.code != 0 || cid == "" {
		t.Fatalf("create: %v", r)
	}
	defer e.crictlRun(t, "rm", "--force", cid)
	if r := e.crictlRun(t, "start", cid); r.code != 0 {
		t.Fatalf("start: %v", r)
	}
	if !ctdState(e.criRoot, "k8s.io", cid) {
		t.Errorf("no minirun state for the container below %s", e.criRoot)
	}
	if st := ctdInspect(t, e, "inspect", cid); st.State != "CONTAINER_RUNNING" {
		t.Fatalf("container state %q, want CONTAINER_RUNNING", st.State)
	}
	if !pdWaitFor(10*time.Second, func() bool { return strings.Contains(e.crictlRun(t, "logs", cid).stdout, "hello from the pod") }) {
		t.Errorf("logs: no \"hello from the pod\": %v", e.crictlRun(t, "logs", cid))
	}

	t.Run("ExecSync", func(t *testing.T) {
		r := e.crictlRun(t, "exec", "--sync", cid, "ps", "-o", "pid,args")
		if r.code != 0 || !strings.Contains(r.stdout, "1 /pause") || !strings.Contains(r.stdout, "hello from the pod") {
			t.Errorf("ps in the pod's PID namespace: want /pause as PID 1 and the app: %v", r)
		}
		// The app logged its own seccomp mode at start.
		if r := e.crictlRun(t, "logs", cid); !strings.Contains(r.stdout, "Seccomp:\t2\n") {
			t.Errorf("RuntimeDefault: want a seccomp filter (mode 2) on the app: %v", r)
		}
		r = e.crictlRun(t, "exec", "--sync", cid, "grep", "Seccomp:", "/proc/self/status")
		if r.code != 0 || strings.TrimSpace(r.stdout) != "Seccomp:\t2" {
			t.Errorf("RuntimeDefault: want a seccomp filter (mode 2) on the exec'd process: %v", r)
		}
		r = e.crictlRun(t, "exec", "--sync", cid, "sh", "-c", "exit 3")
		if r.code == 0 || !strings.Contains(r.stderr, "exited with 3") {
			t.Errorf("exec --sync exit 3: %v", r)
		}
	})

	// Exec through the CRI stream server (kubectl exec's path).
	t.Run("ExecStream", func(t *testing.T) {
		r := e.crictlRun(t, "exec", cid, "sh", "-c", "echo streamed; exit 4")
		if r.stdout != "streamed\n" || !strings.Contains(r.stderr, "exit code 4") {
			t.Errorf("exec: want the output and exit code 4: %v", r)
		}
		s := pdStartPty(t, e.crictlCmd("exec", "-it", cid, "sh"), 30, 100)
		at := s.expect(0, "# ", 30*time.Second)
		s.send("tty; exit 0\n")
		s.expect(at, "/dev/pts/", 10*time.Second)
		if code := s.wait(30 * time.Second); code != 0 {
			t.Errorf("exec -it: exit code %d; output:\n%q", code, s.output())
		}
	})

	// UpdateContainerResources: minirun update --resources - (the
	// shim writes the JSON on its stdin); the new limit is in the
	// container's cgroup.
	t.Run("Update", func(t *testing.T) {
		if r := e.crictlRun(t, "update", "--memory", "134217728", cid); r.code != 0 {
			t.Fatalf("update: %v", r)
		}
		var v struct {
			Info struct {
				Pid int `json:"pid"`
			} `json:"info"`
		}
		r := e.crictlRun(t, "inspect", "--output", "json", cid)
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Info.Pid == 0 {
			t.Fatalf("inspect: no pid: %v", r)
		}
		cg := ctdCgroupOf(v.Info.Pid)
		limit := ""
		for _, f := range []string{"/sys/fs/cgroup/memory" + cg + "/memory.limit_in_bytes", "/sys/fs/cgroup" + cg + "/memory.max"} {
			if b, err := os.ReadFile(f); err == nil {
				limit = strings.TrimSpace(string(b))
				break
			}
		}
		if limit != "134217728" {
			t.Errorf("memory limit of cgroup %s: %q, want 134217728", cg, limit)
		}
	})

	// A missing program fails StartContainer with minirun's reason.
	t.Run("StartError", func(t *testing.T) {
		bad := container("bad.json", "bad", "nosuch")
		r := e.crictlRun(t, "create", "--no-pull", podID, bad, pod)
		id := strings.TrimSpace(r.stdout)
		if r.code != 0 {
			t.Fatalf("create: %v", r)
		}
		defer e.crictlRun(t, "rm", "--force", id)
		r = e.crictlRun(t, "start", id)
		// (crictl quotes the error: exec: \"nosuch\": …)
		if r.code == 0 || !strings.Contains(r.stderr, "OCI runtime create failed") || !strings.Contains(r.stderr, `nosuch\": executable file not found in $PATH`) {
			t.Errorf("start: want minirun's error: %v", r)
		}
	})

	// StopContainer: SIGTERM to PID 1, whose trap exits 0 at once.
	start := time.Now()
	if r := e.crictlRun(t, "stop", "--timeout", "20", cid); r.code != 0 {
		t.Fatalf("stop: %v", r)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("stop took %v: the SIGTERM did not reach PID 1", el)
	}
	if st := ctdInspect(t, e, "inspect", cid); st.State != "CONTAINER_EXITED" || st.ExitCode != 0 {
		t.Errorf("after stop: %+v, want CONTAINER_EXITED with exit code 0", st)
	}
	if r := e.crictlRun(t, "logs", cid); !strings.Contains(r.stdout, "got TERM") {
		t.Errorf("logs after stop: want \"got TERM\": %v", r)
	}
	if r := e.crictlRun(t, "rm", cid); r.code != 0 {
		t.Errorf("rm: %v", r)
	}
	if r := e.crictlRun(t, "stopp", podID); r.code != 0 {
		t.Errorf("stopp: %v", r)
	}
	if r := e.crictlRun(t, "rmp", podID); r.code != 0 {
		t.Errorf("rmp: %v", r)
	}
	if r := e.crictlRun(t, "pods", "--quiet"); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("pods left: %v", r)
	}
	if ents, _ := os.ReadDir(filepath.Join(e.criRoot, "k8s.io")); len(ents) > 0 {
		t.Errorf("minirun state left: %v", ents)
	}
	if left := pdLeftCgroups(e.cgParent+"/pods", ""); len(left) > 0 {
		t.Errorf("cgroups left: %v", left)
	}
}

// ctdStatus is what the tests read of `crictl inspect[p]`.
type ctdStatus struct {
	State    string `json:"state"`
	ExitCode int    `json:"exitCode"`
	Reason   string `json:"reason"`
}

func ctdInspect(t *testing.T, e *ctdEnv, verb, id string) ctdStatus {
	t.Helper()
	r := e.crictlRun(t, verb, "--output", "json", id)
	var v struct {
		Status ctdStatus `json:"status"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &v) != nil {
		t.Fatalf("%s %s: %v", verb, id, r)
	}
	return v.Status
}
