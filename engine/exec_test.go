package engine

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func execSpec() *specs.Spec {
	umask := uint32(0o027)
	adj := 100
	return &specs.Spec{Process: &specs.Process{
		Terminal: true,
		Args:     []string{"httpd", "-f"},
		Env:      []string{"PATH=/bin", "HOSTNAME=abc", "FOO=container"},
		Cwd:      "/srv",
		User:     specs.User{UID: 33, GID: 33, AdditionalGids: []uint32{33}, Umask: &umask},
		Capabilities: &specs.LinuxCapabilities{
			Bounding: []string{"CAP_CHOWN"}, Effective: []string{"CAP_CHOWN"}, Permitted: []string{"CAP_CHOWN"},
		},
		Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 2048}},
		NoNewPrivileges: true,
		ApparmorProfile: "docker-default",
		OOMScoreAdj:     &adj,
	}}
}

// Without flags, exec runs as the container's process does: its user,
// capabilities, rlimits, no_new_privs, environment and working directory.
func TestExecProcessInheritsTheContainers(t *testing.T) {
	s := execSpec()
	p, err := execProcess(s, t.TempDir(), ExecOptions{Args: []string{"sh"}})
	if err != nil {
		t.Fatal(err)
	}
	want := *s.Process
	want.Terminal, want.Args = false, []string{"sh"}
	if !reflect.DeepEqual(*p, want) {
		t.Fatalf("process\n%+v\nwant\n%+v", *p, want)
	}
	p.Env[0] = "changed"
	if s.Process.Env[0] != "PATH=/bin" {
		t.Fatal("execProcess shares the spec's env slice")
	}
}

// -e adds to (and overrides) the container's environment, -t adds
// TERM=xterm unless the container has a TERM, -w and -u replace the cwd
// and the user (resolved in the container's /etc/passwd), the umask stays.
func TestExecProcessFlags(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1001:web:/home/web:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\nweb:x:1001:\nstaff:x:50:web\n"), 0o644)
	s := execSpec()
	p, err := execProcess(s, root, ExecOptions{Args: []string{"id"}, Env: []string{"FOO=exec", "BAR=1"}, TTY: true, Workdir: "/tmp", User: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Env, " "); got != "PATH=/bin HOSTNAME=abc FOO=exec TERM=xterm BAR=1" {
		t.Errorf("env %q", got)
	}
	if !p.Terminal || p.Cwd != "/tmp" {
		t.Errorf("terminal %v cwd %q", p.Terminal, p.Cwd)
	}
	if p.User.UID != 1000 || p.User.GID != 1001 || !reflect.DeepEqual(p.User.AdditionalGids, []uint32{1001, 50}) || *p.User.Umask != 0o027 {
		t.Errorf("user %+v", p.User)
	}
	s.Process.Env = append(s.Process.Env, "TERM=vt100")
	p, _ = execProcess(s, root, ExecOptions{Args: []string{"id"}, TTY: true, User: "1234:5"})
	if !strings.Contains(strings.Join(p.Env, " "), "TERM=vt100") || strings.Contains(strings.Join(p.Env, " "), "xterm") {
		t.Errorf("the container's TERM was not kept: %q", p.Env)
	}
	if p.User.UID != 1234 || p.User.GID != 5 {
		t.Errorf("numeric user %+v", p.User)
	}
	if _, err := execProcess(s, root, ExecOptions{Args: []string{"id"}, User: "nobody"}); err == nil || !strings.Contains(err.Error(), "unable to find user nobody") {
		t.Errorf("unknown user: %v", err)
	}
}

func TestExecOptionsCheck(t *testing.T) {
	t.Setenv("MINIRUN_EXEC_TEST", "from-here")
	o := ExecOptions{Args: []string{"sh"}, Env: []string{"A=1", "MINIRUN_EXEC_TEST", "MINIRUN_EXEC_UNSET_VAR"}}
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.Env, " "); got != "A=1 MINIRUN_EXEC_TEST=from-here" {
		t.Errorf("env %q", got)
	}
	for name, bad := range map[string]ExecOptions{
		"no command":  {},
		"relative -w": {Args: []string{"sh"}, Workdir: "tmp"},
		"bad -e":      {Args: []string{"sh"}, Env: []string{"=x"}},
		"bad -u":      {Args: []string{"sh"}, User: "web:"},
		"-d with -t":  {Args: []string{"sh"}, Detach: true, TTY: true},
	} {
		if err := bad.check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
