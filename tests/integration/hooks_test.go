package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Every OCI hook runs at its point of the lifecycle with the state JSON on
// stdin: the runtime-side ones see the host, createContainer runs in the
// container's namespaces before pivot_root, startContainer inside the
// container after it.
func TestOCIHooks(t *testing.T) {
	dir := t.TempDir()
	rec := func(kind string) specs.Hook {
		// Records stdin and which network namespace the hook ran in.
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c",
			"cat > " + filepath.Join(dir, kind+".json") + "; readlink /proc/self/ns/net > " + filepath.Join(dir, kind+".ns")}}
	}
	b := bundle(t, []string{"sh", "-c", "cat /tmp/startContainer.json"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			Prestart:        []specs.Hook{rec("prestart")},
			CreateRuntime:   []specs.Hook{rec("createRuntime")},
			CreateContainer: []specs.Hook{rec("createContainer")},
			// Resolved in the container: busybox's /bin/sh, writing its /tmp.
			StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > /tmp/startContainer.json"}}},
			Poststart:      []specs.Hook{rec("poststart")},
			Poststop:       []specs.Hook{rec("poststop")},
		}
	})
	defer os.Remove(filepath.Join(busybox, "tmp/startContainer.json"))
	r := run(t, 0, "run", "--bundle", b, "hooks1")
	hostNet, _ := os.Readlink("/proc/self/ns/net")
	for kind, want := range map[string]specs.ContainerState{
		"prestart": "creating", "createRuntime": "creating", "createContainer": "creating", "poststart": "running", "poststop": "stopped",
	} {
		var st specs.State
		b, err := os.ReadFile(filepath.Join(dir, kind+".json"))
		if err != nil || json.Unmarshal(b, &st) != nil {
			t.Errorf("%s hook: did not run or got no state: %v %q", kind, err, b)
			continue
		}
		if st.ID != "hooks1" || st.Status != want || (want != "stopped" && st.Pid <= 0) {
			t.Errorf("%s hook got %+v, want id hooks1, status %s and a pid", kind, st, want)
		}
		ns, _ := os.ReadFile(filepath.Join(dir, kind+".ns"))
		inHost := strings.TrimSpace(string(ns)) == hostNet
		if inHost == (kind == "createContainer") {
			t.Errorf("%s hook ran in network namespace %s (host: %s)", kind, ns, hostNet)
		}
	}
	var st specs.State
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.ID != "hooks1" || st.Status != "running" {
		t.Errorf("startContainer hook (inside the container): %q", r.stdout)
	}

	// A failing prestart hook, and one that runs past its timeout, fail
	// create with their error; nothing is left.
	one := 1
	for name, h := range map[string]specs.Hook{
		"fails":   {Path: "/bin/sh", Args: []string{"sh", "-c", "echo hook-said-no >&2; exit 3"}},
		"timeout": {Path: "/bin/sleep", Args: []string{"sleep", "30"}, Timeout: &one},
	} {
		b := bundle(t, []string{"true"}, func(s *specs.Spec) { s.Hooks = &specs.Hooks{Prestart: []specs.Hook{h}} })
		r := minirunFiles(t, "create", "--bundle", b, "hk-"+name)
		if r.code == 0 || !strings.Contains(r.stderr, "prestart hook") {
			t.Errorf("%s: create exit %d %q", name, r.code, r.stderr)
		}
		if name == "fails" && !strings.Contains(r.stderr, "hook-said-no") {
			t.Errorf("the hook's own message is missing: %q", r.stderr)
		}
		if name == "timeout" && !strings.Contains(r.stderr, "timed out") {
			t.Errorf("timeout: %q", r.stderr)
		}
		minirun(t, "", "delete", "--force", "hk-"+name)
	}
	// A failing poststart hook only warns.
	b = bundle(t, []string{"echo", "ran"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/false"}}}
	})
	if r := run(t, 0, "run", "--bundle", b, "hk-post"); r.stdout != "ran\n" || !strings.Contains(r.stderr, "warning: poststart hook") {
		t.Errorf("failing poststart: %q %q", r.stdout, r.stderr)
	}
	assertClean(t)
}

// runc's exec form, as containerd calls it: --process FILE, --detach and
// --pid-file (no trailing newline).
func TestOCIExecProcessFile(t *testing.T) {
	b := bundle(t, []string{"sleep", "30"}, nil)
	defer minirun(t, "", "delete", "--force", "ociexec")
	if r := minirunFiles(t, "create", "--bundle", b, "ociexec"); r.code != 0 {
		t.Fatalf("create: %d %s", r.code, r.stderr)
	}
	run(t, 0, "start", "ociexec")
	dir := t.TempDir()
	write := func(p specs.Process) string {
		f := filepath.Join(dir, "process.json")
		b, _ := json.Marshal(p)
		os.WriteFile(f, b, 0o644)
		return f
	}
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "X=from-file"}
	r := minirun(t, "", "exec", "--process", write(specs.Process{Args: []string{"sh", "-c", "echo $X; hostname; exit 3"}, Cwd: "/", Env: env}), "ociexec")
	if r.code != 3 || r.stdout != "from-file\noci\n" {
		t.Errorf("exec --process: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	pidFile := filepath.Join(dir, "pid")
	r = minirunFiles(t, "exec", "--process", write(specs.Process{Args: []string{"sleep", "20"}, Cwd: "/", Env: env}), "--detach", "--pid-file", pidFile, "ociexec")
	raw, _ := os.ReadFile(pidFile)
	if r.code != 0 || len(raw) == 0 || strings.HasSuffix(string(raw), "\n") {
		t.Fatalf("exec --detach: exit %d %q, pid file %q", r.code, r.stderr, raw)
	}
	if cmd, _ := os.ReadFile("/proc/" + string(raw) + "/cmdline"); !strings.HasPrefix(string(cmd), "sleep\x0020") {
		t.Errorf("pid %s runs %q, want the detached sleep", raw, cmd)
	}
}

// A config.json may name an existing mount namespace: init joins it
// before the Go runtime starts (nsenter's mntjoin constructor), so the
// container's mounts are made in that namespace.
func TestOCIJoinMountNamespace(t *testing.T) {
	holder := exec.Command("sleep", "30")
	holder.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { holder.Process.Kill(); holder.Wait() }()
	nsPath := fmt.Sprintf("/proc/%d/ns/mnt", holder.Process.Pid)
	want, _ := os.Readlink(nsPath)
	b := bundle(t, []string{"readlink", "/proc/self/ns/mnt"}, func(s *specs.Spec) {
		for i := range s.Linux.Namespaces {
			if s.Linux.Namespaces[i].Type == specs.MountNamespace {
				s.Linux.Namespaces[i].Path = nsPath
			}
		}
	})
	r := run(t, 0, "run", "--bundle", b, "mntjoin")
	host, _ := os.Readlink("/proc/self/ns/mnt")
	if strings.TrimSpace(r.stdout) != want || want == host {
		t.Errorf("container's mount namespace %q, want the holder's %q (host %s)", r.stdout, want, host)
	}
	assertClean(t)
}

// runc's small contract points that engines rely on: delete --force of an
// unknown ID succeeds, state and kill of one fail, --flag=value works.
func TestOCIUnknownID(t *testing.T) {
	root := "--root=" + stateRoot
	if r := minirun(t, "", root, "delete", "--force", "never-created"); r.code != 0 {
		t.Errorf("delete --force of an unknown ID: exit %d %q", r.code, r.stderr)
	}
	for _, args := range [][]string{{"state", "never-created"}, {"kill", "never-created", "KILL"}, {"delete", "never-created"}} {
		if r := minirun(t, "", append([]string{root}, args...)...); r.code == 0 || !strings.Contains(r.stderr, "never-created") {
			t.Errorf("%v: exit %d %q, want a failure naming the ID", args, r.code, r.stderr)
		}
	}
}
