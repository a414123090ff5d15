// Package config reads minirun's configuration file, /etc/minirun/config.json
// (or the file MINIRUN_CONFIG names), and lays the MINIRUN_* environment
// variables over it. The command line lays its flags over the result:
//
//	flag > MINIRUN_* environment variable > configuration file > built-in default
//
// The file is JSON, the format of the OCI config.json minirun already
// writes and reads, so no other parser is needed. It is checked when it
// is read: an unknown key, a value of the wrong type or a bad value is an
// error that names the file, the line and the key.
//
//	{
//	  "data_root": "/var/lib/minirun",
//	  "state_root": "/run/minirun",
//	  "default_subnet": "10.88.0.0/16",
//	  "registry_mirror": "https://mirror.example:5000",
//	  "log_level": "info"
//	}
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// DefaultPath is where the configuration file is looked for; EnvPath names
// the variable that points elsewhere.
const (
	DefaultPath = "/etc/minirun/config.json"
	EnvPath     = "MINIRUN_CONFIG"
)

// Config is minirun's configuration. Empty strings are "not set".
type Config struct {
	DataRoot       string // images, container layers, volumes
	StateRoot      string // one directory per container (runc's --root)
	DefaultSubnet  string // the default "bridge" network's subnet, when it is made
	RegistryMirror string // a mirror tried first for docker.io images
	LogLevel       string // debug, info, warn or error
	// Path is the file read, "" when there was none.
	Path string
}

// Defaults are the built-in values. For an ordinary user (rootless mode,
// docs/ROOTLESS.md) the roots are the user's own: $XDG_RUNTIME_DIR/minirun
// (else /tmp/minirun-<uid>) and $XDG_DATA_HOME/minirun (else
// ~/.local/share/minirun, else /tmp/minirun-<uid>-data), as rootless
// podman's.
func Defaults() Config {
	if os.Geteuid() != 0 {
		return Config{DataRoot: rootlessDataRoot(), StateRoot: rootlessStateRoot(), LogLevel: "info"}
	}
	return Config{DataRoot: "/var/lib/minirun", StateRoot: "/run/minirun", LogLevel: "info"}
}

func rootlessStateRoot() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "minirun")
	}
	return filepath.Join(os.TempDir(), "minirun-"+strconv.Itoa(os.Geteuid()))
}

func rootlessDataRoot() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "minirun")
	}
	if h := os.Getenv("HOME"); h != "" && filepath.IsAbs(h) && h != "/" {
		return filepath.Join(h, ".local", "share", "minirun")
	}
	return filepath.Join(os.TempDir(), "minirun-"+strconv.Itoa(os.Geteuid())+"-data")
}

// A key of the file: its name, the environment variable that overrides
// it, where it goes and how its value is checked.
type key struct {
	name, env string
	field     func(*Config) *string
	check     func(string) error
}

var keys = []key{
	{"data_root", "MINIRUN_DATA_ROOT", func(c *Config) *string { return &c.DataRoot }, absPath},
	{"state_root", "MINIRUN_ROOT", func(c *Config) *string { return &c.StateRoot }, absPath},
	{"default_subnet", "MINIRUN_DEFAULT_SUBNET", func(c *Config) *string { return &c.DefaultSubnet }, subnet},
	{"registry_mirror", "MINIRUN_REGISTRY_MIRROR", func(c *Config) *string { return &c.RegistryMirror }, mirror},
	{"log_level", "MINIRUN_LOG_LEVEL", func(c *Config) *string { return &c.LogLevel }, logLevel},
}

// Keys lists the file's keys and their environment variables, for help.
func Keys() [][2]string {
	var out [][2]string
	for _, k := range keys {
		out = append(out, [2]string{k.name, k.env})
	}
	return out
}

// Error is a problem in the configuration file, with its place.
type Error struct {
	File string
	Line int    // 1-based; 0 when unknown
	Key  string // "" when the problem is not one key's
	Err  error
}

func (e *Error) Error() string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Key != "" {
		return fmt.Sprintf("configuration file %s: key %q: %v", where, e.Key, e.Err)
	}
	return fmt.Sprintf("configuration file %s: %v", where, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Load reads the configuration file (MINIRUN_CONFIG, else DefaultPath) over
// the defaults, then the environment over both. A missing file at the
// default path is no error; a missing file that MINIRUN_CONFIG names is.
func Load(getenv func(string) string) (Config, error) {
	path, named := getenv(EnvPath), true
	if path == "" {
		path, named = DefaultPath, false
	}
	c := Defaults()
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if c, err = Parse(path, data); err != nil {
			return Config{}, err
		}
	case errors.Is(err, os.ErrNotExist) && !named:
	default:
		return Config{}, &Error{File: path, Err: fmt.Errorf("%w (%s names it)", err, EnvPath)}
	}
	return c.WithEnv(getenv)
}

// WithEnv lays the MINIRUN_* variables that are set over c.
func (c Config) WithEnv(getenv func(string) string) (Config, error) {
	for _, k := range keys {
		if v := getenv(k.env); v != "" {
			if err := k.check(v); err != nil {
				return Config{}, fmt.Errorf("environment variable %s=%q: %w", k.env, v, err)
			}
			*k.field(&c) = v
		}
	}
	return c, nil
}

// Parse reads a configuration file's content over the defaults.
func Parse(path string, data []byte) (Config, error) {
	c := Defaults()
	c.Path = path
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil // an empty file sets nothing
	}
	lineAt := func(off int64) int { return bytes.Count(data[:min(int(off), len(data))], []byte("\n")) + 1 }
	fail := func(off int64, key string, err error) error {
		return &Error{File: path, Line: lineAt(off), Key: key, Err: err}
	}
	syntax := func(err error, off int64) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off = se.Offset
		}
		// The file ended early: encoding/json says so with io.EOF or
		// io.ErrUnexpectedEOF, or (built with GOEXPERIMENT=jsonv2, as the
		// Makefile does) with a syntax error at the end of the data.
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || se != nil && se.Offset >= int64(len(bytes.TrimRight(data, " \t\r\n"))) {
			return fail(int64(len(data)), "", errors.New("unexpected end of the file: a } or \" is missing"))
		}
		return fail(off, "", fmt.Errorf("not valid JSON: %v", err))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return Config{}, syntax(err, dec.InputOffset())
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return Config{}, fail(0, "", errors.New("want a JSON object: { \"key\": \"value\", ... }"))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Config{}, syntax(err, dec.InputOffset())
		}
		name, _ := tok.(string)
		keyOff := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return Config{}, syntax(err, dec.InputOffset())
		}
		k, ok := lookup(name)
		if !ok {
			return Config{}, fail(keyOff, name, fmt.Errorf("unknown key%s (known keys: %s)", didYouMean(name), knownKeys()))
		}
		if seen[name] {
			return Config{}, fail(keyOff, name, errors.New("given twice"))
		}
		seen[name] = true
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return Config{}, fail(keyOff, name, fmt.Errorf("want a string, got %s", jsonKind(raw)))
		}
		if err := k.check(v); err != nil {
			return Config{}, fail(keyOff, name, err)
		}
		*k.field(&c) = v
	}
	if _, err := dec.Token(); err != nil { // the closing }
		return Config{}, syntax(err, dec.InputOffset())
	}
	if _, err := dec.Token(); err != io.EOF {
		return Config{}, fail(dec.InputOffset(), "", errors.New("text after the closing }"))
	}
	return c, nil
}

func lookup(name string) (key, bool) {
	for _, k := range keys {
		if k.name == name {
			return k, true
		}
	}
	return key{}, false
}

func knownKeys() string {
	var names []string
	for _, k := range keys {
		names = append(names, k.name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// didYouMean names the known key that differs from name by case, "-" for
// "_", or one edit.
func didYouMean(name string) string {
	norm := strings.ReplaceAll(strings.ToLower(name), "-", "_")
	for _, k := range keys {
		if k.name == norm || oneEdit(norm, k.name) {
			return fmt.Sprintf(": did you mean %q?", k.name)
		}
	}
	return ""
}

// oneEdit is true when a and b differ by one inserted, deleted or changed byte.
func oneEdit(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if len(a) == len(b) {
		return a[i+min(1, len(a)-i):] == b[i+min(1, len(b)-i):]
	}
	return a[i:] == b[i+1:]
}

func jsonKind(raw json.RawMessage) string {
	switch t := bytes.TrimSpace(raw); {
	case len(t) == 0:
		return "nothing"
	case t[0] == '{':
		return "an object"
	case t[0] == '[':
		return "a list"
	case t[0] == 't' || t[0] == 'f':
		return "a boolean"
	case t[0] == 'n':
		return "null"
	default:
		return "a number"
	}
}

func absPath(v string) error {
	if !filepath.IsAbs(v) {
		return errors.New("want an absolute path")
	}
	return nil
}

func subnet(v string) error {
	p, err := netip.ParsePrefix(v)
	if err != nil || !p.Addr().Is4() {
		return errors.New("want an IPv4 subnet in CIDR form, e.g. 10.88.0.0/16")
	}
	if p.Bits() > 30 {
		return errors.New("subnet too small: want /30 or larger, e.g. 10.88.0.0/16")
	}
	return nil
}

// mirror accepts what image pulls accept: https://host[:port],
// http://host[:port] (plain HTTP) or host[:port].
func mirror(v string) error {
	bad := errors.New("want https://host[:port], http://host[:port] or host[:port]")
	if !strings.Contains(v, "://") {
		if v == "" || strings.ContainsAny(v, "/?#@ ") {
			return bad
		}
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.User != nil || u.RawQuery != "" {
		return bad
	}
	return nil
}

func logLevel(v string) error {
	switch v {
	case "debug", "info", "warn", "error":
		return nil
	}
	return errors.New("want debug, info, warn or error")
}
