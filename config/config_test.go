package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseValid(t *testing.T) {
	c, err := Parse("/etc/minirun/config.json", []byte(`{
  "data_root": "/srv/minirun",
  "state_root": "/run/mr",
  "default_subnet": "10.77.0.0/16",
  "registry_mirror": "https://mirror.example:5000",
  "log_level": "debug"
}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{DataRoot: "/srv/minirun", StateRoot: "/run/mr", DefaultSubnet: "10.77.0.0/16",
		RegistryMirror: "https://mirror.example:5000", LogLevel: "debug", Path: "/etc/minirun/config.json"}
	if c != want {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
}

func TestParseKeepsDefaults(t *testing.T) {
	c, err := Parse("f.json", []byte(`{"log_level": "warn"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataRoot != "/var/lib/minirun" || c.StateRoot != "/run/minirun" || c.LogLevel != "warn" {
		t.Fatalf("%+v", c)
	}
	if c, err := Parse("f.json", []byte("  \n")); err != nil || c.DataRoot != "/var/lib/minirun" {
		t.Fatalf("empty file: %+v %v", c, err)
	}
}

// Every bad file names the file, the line and (when there is one) the key.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		line       int
		key, msg   string
	}{
		{"unknown key", "{\n  \"data_root\": \"/x\",\n  \"data_rot\": \"/y\"\n}", 3, "data_rot", `did you mean "data_root"`},
		{"unknown key dash", "{\n\"log-level\": \"info\"}", 2, "log-level", `did you mean "log_level"`},
		{"wrong type", "{\n\n  \"state_root\": 42\n}", 3, "state_root", "want a string, got a number"},
		{"wrong type list", "{\"registry_mirror\": [\"a\"]}", 1, "registry_mirror", "want a string, got a list"},
		{"relative path", "{\n \"data_root\": \"var/lib\"}", 2, "data_root", "absolute path"},
		{"bad subnet", "{\n\n\n \"default_subnet\": \"10.0.0.0\"}", 4, "default_subnet", "CIDR"},
		{"v6 subnet", "{\"default_subnet\": \"fd00::/64\"}", 1, "default_subnet", "IPv4"},
		{"bad mirror", "{\"registry_mirror\": \"ftp://x\"}", 1, "registry_mirror", "https://host"},
		{"bad level", "{\n\"log_level\": \"loud\"}", 2, "log_level", "debug, info, warn or error"},
		{"twice", "{\"log_level\": \"info\",\n\"log_level\": \"warn\"}", 2, "log_level", "given twice"},
		{"syntax", "{\n  \"data_root\": \"/x\"\n  \"state_root\": \"/y\"\n}", 3, "", "not valid JSON"},
		{"unclosed", "{\n  \"data_root\": \"/x\",\n", 3, "", "end of the file"},
		{"not object", "[1]", 1, "", "JSON object"},
		{"trailing", "{}\n{}", 2, "", "after the closing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("/etc/minirun/config.json", []byte(tc.text))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want a *config.Error, got %v", err)
			}
			if ce.File != "/etc/minirun/config.json" || ce.Line != tc.line || ce.Key != tc.key {
				t.Fatalf("got file %q line %d key %q, want line %d key %q (%v)", ce.File, ce.Line, ce.Key, tc.line, tc.key, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.msg) || !strings.Contains(msg, "/etc/minirun/config.json:") {
				t.Fatalf("message %q lacks %q or the file:line", msg, tc.msg)
			}
			if tc.key != "" && !strings.Contains(msg, `"`+tc.key+`"`) {
				t.Fatalf("message %q does not name the key", msg)
			}
		})
	}
}

// flag > environment > file > default: Load does the last three.
func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(`{"data_root": "/from/file", "state_root": "/state/file", "log_level": "warn"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{EnvPath: path, "MINIRUN_ROOT": "/state/env", "MINIRUN_DEFAULT_SUBNET": "10.66.0.0/24"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != path || c.DataRoot != "/from/file" || c.StateRoot != "/state/env" || c.DefaultSubnet != "10.66.0.0/24" || c.LogLevel != "warn" {
		t.Fatalf("%+v", c)
	}
	// A bad environment value is named.
	if _, err := Load(env(map[string]string{EnvPath: path, "MINIRUN_LOG_LEVEL": "loud"})); err == nil || !strings.Contains(err.Error(), "MINIRUN_LOG_LEVEL") {
		t.Fatalf("bad env: %v", err)
	}
}

func TestLoadMissing(t *testing.T) {
	// MINIRUN_CONFIG naming a missing file is an error...
	missing := filepath.Join(t.TempDir(), "nope.json")
	if _, err := Load(env(map[string]string{EnvPath: missing})); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing named file: %v", err)
	}
	// ...the default path missing is not (tested only where it is missing).
	if _, err := os.Stat(DefaultPath); errors.Is(err, os.ErrNotExist) {
		c, err := Load(env(nil))
		if err != nil || c.Path != "" || c != Defaults() {
			t.Fatalf("no file: %+v %v", c, err)
		}
	}
}
