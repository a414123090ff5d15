package main

import (
	"bytes"
	"strings"
	"testing"
)

// Each commandTable entry's name is its command's name.
func TestCommandTableNames(t *testing.T) {
	g := &globals{}
	for _, c := range commandTable {
		if got := c.new(g).Name(); got != c.name {
			t.Errorf("commandTable: %q builds the command %q", c.name, got)
		}
	}
}

func TestHotCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "--bundle", "b", "x"}, "create"},
		{[]string{"--root", "/run/x", "--log", "/l", "--log-format", "json", "start", "x"}, "start"},
		{[]string{"--root=/r", "--systemd-cgroup", "--debug", "delete", "--force", "x"}, "delete"},
		{[]string{"--trace", "--trace-format", "json", "run", "--rm", "busybox"}, "run"},
		{[]string{"--data-root", "run", "state", "x"}, "state"}, // "run" is --data-root's value
		{[]string{"run", "--help"}, "run"},
		{[]string{"help", "run"}, ""},
		{[]string{"--help"}, ""},
		{[]string{"--version"}, ""},
		{[]string{"completion", "bash"}, ""},
		{[]string{"__complete", "ru"}, ""},
		{[]string{"image-rm", "x"}, ""}, // an alias
		{[]string{"rnu"}, ""},           // a typo to suggest for
		{[]string{"--unknown-flag", "run"}, ""},
		{nil, ""},
	} {
		if got := hotCommand(tc.args); got != tc.want {
			t.Errorf("hotCommand(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// A tree built for one command prints that command's help exactly as the
// whole tree does, and rejects its bad flags the same way.
func TestPartialTreeSameHelp(t *testing.T) {
	cleanRoot(t) // the environment of the goldens
	execute := func(only string, args ...string) (string, error) {
		root := newRootCommand(only)
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(args)
		err := root.Execute()
		return out.String(), err
	}
	for _, c := range commandTable {
		want, err := execute("", c.name, "--help")
		if err != nil {
			t.Fatalf("%s --help: %v", c.name, err)
		}
		got, err := execute(c.name, c.name, "--help")
		if err != nil {
			t.Fatalf("%s --help (partial tree): %v", c.name, err)
		}
		if got != want || !strings.Contains(got, "Usage:") {
			t.Errorf("%s --help from the partial tree differs:\n%s", c.name, firstDiff(want, got))
		}
		_, werr := execute("", c.name, "--no-such-flag")
		_, gerr := execute(c.name, c.name, "--no-such-flag")
		if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
			t.Errorf("%s --no-such-flag: partial tree %v, whole tree %v", c.name, gerr, werr)
		}
	}
	root := newRootCommand("create")
	for _, sub := range root.Commands() {
		switch sub.Name() {
		case "create", "help", "completion", "__man":
		default:
			t.Errorf("the tree for create also has %s", sub.Name())
		}
	}
}
