package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/minirun/minirun/engine"
)

// capture runs fn with os.Stdout going to a pipe and returns what it wrote.
func capture(t *testing.T, fn func() error) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	ferr := fn()
	os.Stdout = old
	w.Close()
	out := <-done
	r.Close()
	return out, ferr
}

var rows = []psRow{
	{ID: "0123456789ab", Image: "busybox", Command: `"sh"`, RunningFor: "3 minutes ago", Status: "Up 3 minutes", State: "running", Names: "web"},
	{ID: "ba9876543210", Image: "alpine", Command: `"true"`, RunningFor: "1 hour ago", Status: "Exited (0) 1 hour ago", State: "exited", Names: "job"},
}

func noTable(io.Writer) error { return errors.New("the table was printed") }

func TestRenderTemplate(t *testing.T) {
	out, err := capture(t, func() error { return render(`{{.Names}} {{.Status}}`, rows, noTable) })
	if err != nil || out != "web Up 3 minutes\njob Exited (0) 1 hour ago\n" {
		t.Fatalf("%q %v", out, err)
	}
	// \t is a tab, and Docker's functions are there.
	out, err = capture(t, func() error { return render(`{{upper .Names}}\t{{truncate .ID 4}}\t{{json .State}}`, rows, noTable) })
	if err != nil || out != "WEB\t0123\t\"running\"\nJOB\tba98\t\"exited\"\n" {
		t.Fatalf("%q %v", out, err)
	}
}

func TestRenderTableTemplate(t *testing.T) {
	out, err := capture(t, func() error { return render(`table {{.ID}}\t{{.Names}}\t{{.RunningFor}}`, rows, noTable) })
	want := "CONTAINER ID   NAMES     CREATED\n" +
		"0123456789ab   web       3 minutes ago\n" +
		"ba9876543210   job       1 hour ago\n"
	if err != nil || out != want {
		t.Fatalf("got\n%s\nwant\n%s (%v)", out, want, err)
	}
}

func TestRenderJSON(t *testing.T) {
	out, err := capture(t, func() error { return render("json", rows, noTable) })
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one JSON object per line: %q", out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil {
		t.Fatal(err)
	}
	// Docker's field names.
	for _, k := range []string{"ID", "Image", "Command", "CreatedAt", "RunningFor", "Status", "State", "Ports", "Names"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %s in %s", k, lines[1])
		}
	}
	if m["Names"] != "job" {
		t.Fatalf("%v", m)
	}
}

func TestRenderTable(t *testing.T) {
	for _, f := range []string{"", "table"} {
		called := false
		_, err := capture(t, func() error {
			return render(f, rows, func(io.Writer) error { called = true; return nil })
		})
		if err != nil || !called {
			t.Fatalf("%q: table not printed (%v)", f, err)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	_, err := capture(t, func() error { return render(`{{.Names`, rows, noTable) })
	if err == nil || !strings.Contains(err.Error(), "template parsing error") {
		t.Fatalf("parse: %v", err)
	}
	_, err = capture(t, func() error { return render(`{{.Nope}}`, rows, noTable) })
	if err == nil || !strings.Contains(err.Error(), ".Names") || !strings.Contains(err.Error(), "Nope") {
		t.Fatalf("unknown field: %v", err)
	}
}

// inspect -f runs on the JSON field names (Docker's), numbers as they are.
func TestInspectTemplate(t *testing.T) {
	type state struct {
		Pid     int  `json:"Pid"`
		Running bool `json:"Running"`
	}
	type obj struct {
		ID    string `json:"Id"`
		State state  `json:"State"`
	}
	get := func(ref string) (obj, error) {
		if ref == "missing" {
			return obj{}, errors.New("no such container: missing")
		}
		return obj{ID: ref + "-id", State: state{Pid: 1234567, Running: true}}, nil
	}
	out, err := capture(t, func() error {
		return inspectEach(`{{.Id}} {{.State.Pid}} {{if .State.Running}}up{{end}}`, []string{"a", "b"}, get)
	})
	if err != nil || out != "a-id 1234567 up\nb-id 1234567 up\n" {
		t.Fatalf("%q %v", out, err)
	}
	out, err = capture(t, func() error { return inspectEach("", []string{"a", "missing"}, get) })
	var arr []map[string]any
	if jerr := json.Unmarshal([]byte(out), &arr); jerr != nil || len(arr) != 1 || err == nil {
		t.Fatalf("json: %q %v %v", out, jerr, err)
	}
}

func TestRenderOne(t *testing.T) {
	v := currentVersion()
	out, err := capture(t, func() error { return renderOne("json", v, noTable) })
	var m map[string]any
	if err != nil || json.Unmarshal([]byte(out), &m) != nil || m["SpecVersion"] == "" || m["GoVersion"] == nil {
		t.Fatalf("%q %v", out, err)
	}
	out, err = capture(t, func() error { return renderOne("{{.Os}}/{{.SpecVersion}}", v, noTable) })
	if err != nil || out != "linux/"+v.SpecVersion+"\n" {
		t.Fatalf("%q %v", out, err)
	}
}

func TestSuggestFlag(t *testing.T) {
	root := newRootCommand("")
	run, _, err := root.Find([]string{"run"})
	if err != nil {
		t.Fatal(err)
	}
	for typed, want := range map[string]string{"netwrk": "--network", "publsh": "--publish", "detatch": "--detach", "zzzzzzzz": ""} {
		if got := suggestFlag(run, errors.New("unknown flag: --"+typed)); got != want {
			t.Errorf("--%s: got %q, want %q", typed, got, want)
		}
	}
}

// Mistyped commands, at the top and in a group, get the closest ones and
// an error (exit 125), not the help and exit 0.
func TestSuggestCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"runn"}, "Did you mean this?\n\trun"},
		{[]string{"network", "lss"}, "Did you mean this?\n\tls"},
		{[]string{"volume", "creat"}, "Did you mean this?\n\tcreate"},
		{[]string{"ps", "--formt", "json"}, "Did you mean --format?"},
	} {
		root := cleanRoot(t)
		root.SetArgs(tc.args)
		root.SetOut(io.Discard)
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("minirun %v: %v, want %q", tc.args, err, tc.want)
		} else if code := engine.ExitCode(err); code != 125 {
			t.Errorf("minirun %v: exit %d", tc.args, code)
		}
	}
}

// Colour never reaches a pipe or a file, and never with NO_COLOR.
func TestColourOnlyOnATerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	t.Setenv("NO_COLOR", "")
	if got := colour(w, red, "minirun:"); got != "minirun:" {
		t.Fatalf("a pipe got %q", got)
	}
	tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		return // no terminal here: the rest needs one
	}
	defer tty.Close()
	t.Setenv("TERM", "xterm")
	if got := colour(tty, red, "x"); got != "\x1b[31mx\x1b[0m" {
		t.Fatalf("a terminal got %q", got)
	}
	t.Setenv("NO_COLOR", "1")
	if got := colour(tty, red, "x"); got != "x" {
		t.Fatalf("NO_COLOR: a terminal got %q", got)
	}
}
