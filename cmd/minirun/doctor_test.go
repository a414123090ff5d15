package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/minirun/minirun/doctor"
)

var doctorSample = []doctor.Result{
	{ID: "a.one", Group: "mounts", Title: "first", Status: doctor.OK, Message: "fine", Evidence: []string{"read this"}, Why: "because"},
	{ID: "a.two", Group: "mounts", Title: "second", Status: doctor.Warn, Message: "careful", Evidence: []string{"/x: 1"}, Why: "a reason", Fix: []string{"cmd one", "cmd two"}},
	{ID: "b.one", Group: "network", Title: "third", Status: doctor.Fail, Message: "broken", Evidence: []string{"clone: EPERM"}, Why: "w", Fix: []string{"fix it"}},
	{ID: "b.two", Group: "network", Title: "fourth", Status: doctor.Skip, Message: "not here"},
}

func TestPrintDoctor(t *testing.T) {
	var b bytes.Buffer
	printDoctor(&b, doctorSample, false, false, false)
	out := b.String()
	for _, w := range []string{
		"Mounts\n  ✔ first: fine\n  ! second: careful\n      read: /x: 1\n      why:  a reason\n      fix:  cmd one\n            cmd two\n",
		"\nNetwork\n  ✘ third: broken\n", "  - fourth: not here\n",
		"1 ok, 1 warnings, 1 failed, 1 skipped",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("%q not in:\n%s", w, out)
		}
	}
	if strings.Contains(out, "read this") || strings.Contains(out, "\x1b[") || strings.Contains(out, "not root") {
		t.Errorf("evidence of a passed check, colour or the rootless note without asking:\n%s", out)
	}
	b.Reset()
	printDoctor(&b, doctorSample, true, true, true)
	out = b.String()
	for _, w := range []string{"read this", "\x1b[31m✘\x1b[0m", "You are not root"} {
		if !strings.Contains(out, w) {
			t.Errorf("verbose, colour, rootless: %q not in:\n%s", w, out)
		}
	}
}

func TestPrintDoctorJSON(t *testing.T) {
	var b bytes.Buffer
	if err := printDoctorJSON(&b, doctorSample, false); err != nil {
		t.Fatal(err)
	}
	var rep doctorReport
	if err := json.Unmarshal(b.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Failed || rep.Summary["fail"] != 1 || rep.Summary["ok"] != 1 || len(rep.Checks) != 4 || rep.Checks[1].Fix[1] != "cmd two" {
		t.Errorf("%+v", rep)
	}
}

func TestWrap(t *testing.T) {
	got := wrap("aaa bbb ccc ddd", 7, "> ")
	if got != "aaa bbb\n> ccc ddd" {
		t.Errorf("%q", got)
	}
}
