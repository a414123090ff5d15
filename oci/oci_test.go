package oci

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestCommand(t *testing.T) {
	img := ocispec.ImageConfig{Entrypoint: []string{"/ep"}, Cmd: []string{"default"}}
	empty := ""
	other := "/other"
	cases := []struct {
		ep   *string
		args []string
		want []string
	}{
		{nil, nil, []string{"/ep", "default"}},
		{nil, []string{"x"}, []string{"/ep", "x"}},
		{&empty, []string{"sh"}, []string{"sh"}},
		{&other, nil, []string{"/other"}},
	}
	for _, c := range cases {
		got, err := Command(img, c.ep, c.args)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Command(%v, %v) = %v, %v; want %v", c.ep, c.args, got, err, c.want)
		}
	}
	if _, err := Command(ocispec.ImageConfig{}, nil, nil); err == nil {
		t.Error("empty command accepted")
	}
}

func TestMergeEnv(t *testing.T) {
	got := MergeEnv([]string{"PATH=/bin", "A=1"}, []string{"A=2", "B=3"})
	if !reflect.DeepEqual(got, []string{"PATH=/bin", "A=2", "B=3"}) {
		t.Fatal(got)
	}
}

func TestValidation(t *testing.T) {
	for _, bad := range []string{"=bar", "", "A B=1"} {
		if ValidateEnv(bad) == nil {
			t.Errorf("env %q accepted", bad)
		}
	}
	if ValidateWorkdir("tmp") == nil || ValidateWorkdir("/tmp") != nil {
		t.Error("workdir validation")
	}
	if ValidateHostname("web") != nil || ValidateHostname("bad_host") == nil || ValidateHostname(strings.Repeat("a", 70)) == nil {
		t.Error("hostname validation")
	}
}

func TestBuildSpecDefaults(t *testing.T) {
	s, err := BuildSpec(RunConfig{Image: ocispec.ImageConfig{Cmd: []string{"sh"}, Env: []string{"PATH=/img"}},
		Env: []string{"FOO=bar"}, Hostname: "web", Rootfs: "/r", TTY: true, InitBinary: "/usr/bin/minirun"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Process.Args, []string{InitPath, "--", "sh"}) {
		t.Errorf("args %v", s.Process.Args)
	}
	want := []string{"PATH=/img", "HOSTNAME=web", "TERM=xterm", "FOO=bar"}
	if !reflect.DeepEqual(s.Process.Env, want) {
		t.Errorf("env %v, want %v", s.Process.Env, want)
	}
	if len(s.Process.Capabilities.Bounding) != 14 || s.Process.NoNewPrivileges || s.Hostname != "web" { // Docker: no_new_privs off by default
		t.Errorf("defaults missing: %+v", s.Process)
	}
}

func TestResolveUser(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000::/home/web:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\nweb:x:1000:\nwheel:x:10:web\naudio:x:29:other,web\n"), 0o644)
	cases := map[string][3]any{
		"":          {uint32(0), uint32(0), 1},
		"web":       {uint32(1000), uint32(1000), 3},
		"1000":      {uint32(1000), uint32(1000), 3},
		"1000:1000": {uint32(1000), uint32(1000), 1},
		"web:wheel": {uint32(1000), uint32(10), 1},
		"4242":      {uint32(4242), uint32(0), 1},
	}
	for in, want := range cases {
		u, err := ResolveUser(root, in)
		if err != nil || u.UID != want[0] || u.GID != want[1] || len(u.AdditionalGids) != want[2] {
			t.Errorf("ResolveUser(%q) = %+v, %v; want %v", in, u, err, want)
		}
	}
	for _, bad := range []string{"nobody", "web:nogroup", ":1", "1:"} {
		if _, err := ResolveUser(root, bad); err == nil {
			t.Errorf("ResolveUser(%q) accepted", bad)
		}
	}
}

func TestParseUlimit(t *testing.T) {
	rl, err := ParseUlimit("nofile=1024:2048")
	if err != nil || rl.Type != "RLIMIT_NOFILE" || rl.Soft != 1024 || rl.Hard != 2048 {
		t.Fatalf("%+v %v", rl, err)
	}
	for _, bad := range []string{"nofile", "bogus=1", "nofile=2:1", "nofile=x"} {
		if _, err := ParseUlimit(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
