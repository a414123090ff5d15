package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// resetTrace switches tracing off again after a test.
func resetTrace(t *testing.T) {
	t.Cleanup(func() {
		on.Store(false)
		state.Lock()
		state.out, state.childFd, state.sources = nil, 0, nil
		state.Unlock()
	})
}

func TestOffPrintsNothing(t *testing.T) {
	if On() {
		t.Fatal("tracing is on by default")
	}
	called := false
	Step("a", "b", "c", "d")(nil)
	StepFn("a", "b", "d", func() string { called = true; return "" })(nil)
	Note("a", "b", "c", "d")
	if called {
		t.Fatal("StepFn formatted its call with tracing off")
	}
}

func TestOffAllocatesNothing(t *testing.T) {
	x := 42
	n := testing.AllocsPerRun(1000, func() {
		Step("cgroups", "set the memory limit", "write memory.max = 1", "cgroups(7)")(nil)
		StepFn("rootfs", "mount", "mount(2)", func() string { return strconv.Itoa(x) })(nil)
		StepWith("rootfs", "mount(2)", func() string { return "mount " + strconv.Itoa(x) }, func() string { return strconv.Itoa(x) })(nil)
		NoteFn("rootfs", "mount", "mount(2)", func() string { return strconv.Itoa(x) })
	})
	if n != 0 {
		t.Fatalf("off path allocates %v times per step", n)
	}
}

func TestJSONRecords(t *testing.T) {
	resetTrace(t)
	var out bytes.Buffer
	Enable(&out, true, false)
	Step("cgroups", "set the memory limit", "write memory.max = 67108864", "cgroups(7)")(nil)
	StepFn("rootfs", "mount proc", "mount(2)", func() string { return `mount("proc", "/proc", "proc", 0, "")` })(errors.New("EPERM"))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 records, got %q", out.String())
	}
	var r Record
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Side != "runtime" || r.Area != "cgroups" || r.Call != "write memory.max = 67108864" || r.Man != "cgroups(7)" || r.Err != "" || r.TMs < 0 || r.DurMs < 0 {
		t.Fatalf("record 1: %+v", r)
	}
	if err := json.Unmarshal([]byte(lines[1]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Err != "EPERM" || r.Call != `mount("proc", "/proc", "proc", 0, "")` {
		t.Fatalf("record 2: %+v", r)
	}
	if strings.Contains(lines[0], "t_ns") {
		t.Fatalf("the wire timestamp leaked into the output: %s", lines[0])
	}
}

func TestTextFormat(t *testing.T) {
	r := Record{TMs: 12.34, DurMs: 0.4, Side: "runtime", Area: "cgroups", What: "set the memory limit", Call: "write memory.max = 67108864", Man: "cgroups(7)"}
	got := Format(r, false)
	for _, want := range []string{"+12.3ms", "0.4ms", "runtime", "[cgroups]", "set the memory limit", "write memory.max = 67108864", "cgroups(7)"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "\x1b") {
		t.Errorf("colour without a terminal: %q", got)
	}
	if !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
		t.Errorf("not one line: %q", got)
	}
	r.Err = "operation not permitted"
	if c := Format(r, true); !strings.Contains(c, "\x1b[36m[cgroups]") || !strings.Contains(c, "FAILED: operation not permitted") {
		t.Errorf("colour line: %q", c)
	}
	r.Side = "init"
	if c := Format(r, true); !strings.Contains(c, "\x1b[35minit") {
		t.Errorf("init's steps not set apart: %q", c)
	}
}

func TestColorFor(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ColorFor(f) {
		t.Error("a regular file is no terminal")
	}
	t.Setenv("NO_COLOR", "")
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if ColorFor(tty) {
			t.Error("colour despite NO_COLOR")
		}
	}
}

// TestChildRecordsMerge plays both sides in one process: records written
// to the child's pipe come out before the runtime's next own step, in order.
func TestChildRecordsMerge(t *testing.T) {
	resetTrace(t)
	var out bytes.Buffer
	Enable(&out, true, false)
	w, err := ChildPipe()
	if err != nil || w == nil {
		t.Fatal(w, err)
	}
	Step("container", "clone", "clone(...)", "clone(2)")(nil)
	// What StartChild + emit do in the child, by hand.
	for _, what := range []string{"mount proc", "pivot_root"} {
		b, _ := json.Marshal(Record{Side: "init", Area: "rootfs", What: what, T: state.t0.UnixNano() + 1000})
		if _, err := w.Write(append(b, '\n')); err != nil {
			t.Fatal(err)
		}
	}
	Step("container", "start", "open(exec.fifo)", "fifo(7)")(nil)
	w.Close()
	Flush()
	var whats []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		whats = append(whats, r.Side+":"+r.What)
	}
	want := "runtime:clone init:mount proc init:pivot_root runtime:start"
	if got := strings.Join(whats, " "); got != want {
		t.Fatalf("order %q, want %q", got, want)
	}
}

func BenchmarkStepOff(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Step("cgroups", "set the memory limit", "write memory.max = 67108864", "cgroups(7)")(nil)
	}
}

func BenchmarkStepFnOff(b *testing.B) {
	b.ReportAllocs()
	v := "67108864"
	for i := 0; i < b.N; i++ {
		StepFn("cgroups", "set the memory limit", "cgroups(7)", func() string { return "write memory.max = " + v })(nil)
	}
}
