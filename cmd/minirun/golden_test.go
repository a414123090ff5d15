package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The golden files of the help (testdata/help) and of the man pages
// (testdata/man) are generated from the command definitions; `make golden`
// rewrites them (go test ./cmd/minirun -run Golden -update).
var update = flag.Bool("update", false, "rewrite the golden files in testdata (make golden)")

// cleanRoot is the command tree as a user with no MINIRUN_* variables and
// no configuration file sees it, so that the goldens do not depend on
// this machine.
func cleanRoot(t *testing.T) *cobra.Command {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "MINIRUN_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	empty := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MINIRUN_CONFIG", empty)
	t.Setenv("NO_COLOR", "1")
	return newRootCommand("")
}

// walk calls fn on c and every command below it that a user can see.
func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() || s.Name() == "help" {
			walk(s, fn)
		}
	}
}

// compareGolden checks dir holds exactly files (or, with -update, makes it so).
func compareGolden(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	if *update {
		old, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range old {
			if _, ok := files[filepath.Base(f)]; !ok {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	var names []string
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s/%s is missing: run `make golden`", dir, name)
			continue
		}
		if !bytes.Equal(want, files[name]) {
			t.Errorf("%s/%s is stale: run `make golden` (and review the diff)\n%s", dir, name, firstDiff(string(want), string(files[name])))
		}
	}
	existing, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range existing {
		if _, ok := files[filepath.Base(f)]; !ok {
			t.Errorf("%s is no command's any more: run `make golden`", f)
		}
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\n  golden: " + a + "\n  now:    " + b
		}
	}
	return ""
}

func TestHelpGolden(t *testing.T) {
	root := cleanRoot(t)
	files := map[string][]byte{}
	walk(root, func(c *cobra.Command) {
		var b bytes.Buffer
		c.SetOut(&b)
		if err := c.Help(); err != nil {
			t.Fatalf("%s --help: %v", c.CommandPath(), err)
		}
		files[strings.ReplaceAll(c.CommandPath(), " ", "_")+".txt"] = b.Bytes()
	})
	compareGolden(t, "testdata/help", files)
}

func TestManGolden(t *testing.T) {
	root := cleanRoot(t)
	dir := t.TempDir()
	if err := writeManPages(root, dir); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = b
	}
	if len(files) < 40 {
		t.Fatalf("only %d man pages", len(files))
	}
	if _, ok := files["minirun-run.1"]; !ok {
		t.Fatal("no minirun-run.1")
	}
	compareGolden(t, "testdata/man", files)
}

// Every command a user sees has a one-line summary and an example, every
// flag a description.
func TestEveryCommandHasHelp(t *testing.T) {
	root := cleanRoot(t)
	walk(root, func(c *cobra.Command) {
		if c.Short == "" {
			t.Errorf("%s: no Short", c.CommandPath())
		}
		if c != root && !c.HasExample() {
			t.Errorf("%s: no Example", c.CommandPath())
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if strings.TrimSpace(f.Usage) == "" {
				t.Errorf("%s --%s: no description", c.CommandPath(), f.Name)
			}
		})
	})
}
