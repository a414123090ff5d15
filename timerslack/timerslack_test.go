package timerslack

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"50000", 50000, true},
		{"1", 1, true},
		{"999999", 999999, true},
		{"5000000", 5000000, true},
		{"", 0, false},
		{"0", 0, false},
		{"-5", 0, false},
		{"+5", 0, false},
		{" 5", 0, false},
		{"5 ", 0, false},
		{"05", 0, false},
		{"5e3", 0, false},
		{"abc", 0, false},
		{"99999999999999999999999", 0, false},
	} {
		got, ok := parse(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("parse(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// onThread runs fn on a thread of its own whose slack is ns, and puts the
// thread's slack back after.
func onThread(t *testing.T, ns int, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	was, err := Get()
	if err != nil {
		t.Fatal(err)
	}
	if err := Set(ns); err != nil {
		t.Fatal(err)
	}
	defer Set(was)
	fn()
}

// childSlack starts cat from the calling thread and returns the slack it
// reports for itself.
func childSlack(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("cat", "/proc/self/timerslack_ns").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func TestReleased(t *testing.T) {
	defer func(r int) { release = r }(release)
	onThread(t, 777777, func() {
		// Without a recorded slack the child gets the thread's; with
		// one, that one.
		for _, c := range []struct{ release, want int }{{0, 777777}, {55555, 55555}} {
			release = c.release
			if err := Released(func() error {
				if got := childSlack(t); got != strconv.Itoa(c.want) {
					t.Errorf("recorded %d: the child has %s ns, want %d", c.release, got, c.want)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := Get(); got != 777777 {
			t.Errorf("after Released the thread has %d ns, want 777777 again", got)
		}
	})
}

func TestTakeEnvAndChildEnv(t *testing.T) {
	defer func(r int) { release = r }(release)
	for _, c := range []struct {
		env  string
		want []string
	}{
		{"50000", []string{Env + "=50000"}},
		{"junk", nil},
		{"0", nil},
	} {
		release = 0
		t.Setenv(Env, c.env)
		TakeEnv()
		if _, ok := os.LookupEnv(Env); ok {
			t.Errorf("%s=%s: still in the environment after TakeEnv", Env, c.env)
		}
		if got := ChildEnv(); strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s=%s: ChildEnv() = %q, want %q", Env, c.env, got, c.want)
		}
	}
	if err := Set(0); err == nil {
		t.Error("Set(0) (the kernel's reset to the default) was taken")
	}
}

// The constructor (timerslack.c, in this test binary too) raises the slack
// of a process started with Env, before the Go runtime starts its
// threads, and leaves the others alone.
func TestConstructor(t *testing.T) {
	if !constructor {
		t.Skip("built without cgo: no constructor")
	}
	if os.Getenv("TIMERSLACK_HELPER") == "1" {
		// Any thread will do: they all inherited the main thread's.
		n, _ := Get()
		os.Stdout.WriteString(strconv.Itoa(n))
		os.Exit(0)
	}
	for _, c := range []struct {
		env  string
		want int
	}{
		{"50000", Raised},
		{"999999", Raised},
		{"", 50000},
		{"1000000", 50000}, // as large as Raised already: left
		{"5000000", 50000}, // larger: left
		{"junk", 50000},    // not a slack: left
		{"-1", 50000},
	} {
		var got string
		onThread(t, 50000, func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestConstructor$")
			cmd.Env = append(os.Environ(), "TIMERSLACK_HELPER=1")
			if c.env != "" {
				cmd.Env = append(cmd.Env, Env+"="+c.env)
			}
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			got = string(out)
		})
		if got != strconv.Itoa(c.want) {
			t.Errorf("started with %s=%q, a process has a timer slack of %s ns, want %d", Env, c.env, got, c.want)
		}
	}
}
