package probe

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// The probe run on the test process itself: what it reports must be what
// the kernel says about this process.
func TestCollectSelf(t *testing.T) {
	r := Collect([]string{"/bin/sh", "-c", "echo hi; exit 3"})
	if r["status.Pid"] != strconv.Itoa(os.Getpid()) {
		t.Errorf("status.Pid = %q, want %d", r["status.Pid"], os.Getpid())
	}
	if want := strconv.Itoa(os.Getuid()); !strings.HasPrefix(r["status.Uid"], want+" ") {
		t.Errorf("status.Uid = %q, want it to start with %s", r["status.Uid"], want)
	}
	if r["mount./.fstype"] == "" || !strings.Contains(r["mounts.order"], "/proc") {
		t.Errorf("no mounts seen: / %q, order %q", r["mount./.fstype"], r["mounts.order"])
	}
	if !strings.HasPrefix(r["dev./dev/null"], "c 1:3 0666 ") {
		t.Errorf("dev./dev/null = %q", r["dev./dev/null"])
	}
	if !strings.Contains(" "+r["net.interfaces"]+" ", " lo ") {
		t.Errorf("net.interfaces = %q, want lo among them", r["net.interfaces"])
	}
	if r["command.output"] != "hi" || r["command.exit"] != "3" {
		t.Errorf("command: output %q exit %q, want hi and 3", r["command.output"], r["command.exit"])
	}
	if r["env.PATH"] != os.Getenv("PATH") {
		t.Errorf("env.PATH = %q", r["env.PATH"])
	}
	for _, k := range []string{"caps.CapEff", "caps.CapBnd", "status.NoNewPrivs", "status.Seccomp", "rlimit.NOFILE", "fd.0", "userns.uid_map", "process.cwd"} {
		if r[k] == "" {
			t.Errorf("field %s is missing", k)
		}
	}
}

func TestCapNames(t *testing.T) {
	for hex, want := range map[string]string{
		"0000000000000000": "(none)",
		"00000000a80425fb": "CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,SETGID,SETUID,SETPCAP,NET_BIND_SERVICE,NET_RAW,SYS_CHROOT,MKNOD,AUDIT_WRITE,SETFCAP",
		"0000020000000000": "CAP_41",
	} {
		if got := capNames(hex); got != want {
			t.Errorf("capNames(%s) = %s, want %s", hex, got, want)
		}
	}
}

func TestNormalisation(t *testing.T) {
	if got := superOptions("rw,lowerdir=/a:/b,upperdir=/u,workdir=/w,xino=off"); got != "rw" {
		t.Errorf("superOptions = %q", got)
	}
	if got := propagation("shared:12 master:3"); got != "shared,master" {
		t.Errorf("propagation = %q", got)
	}
	if got := propagation(""); got != "private" {
		t.Errorf("propagation of nothing = %q", got)
	}
	id := strings.Repeat("ab", 32)
	if got := norm("/run/minirun/" + id + "/hosts"); got != "/run/minirun/<id>/hosts" {
		t.Errorf("norm = %q", got)
	}
	if got := unescape(`/a\040b`); got != "/a b" {
		t.Errorf("unescape = %q", got)
	}
	got := mountOrder([]string{"/", "/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpu",
		"/etc/hosts", "/etc/hostname", "/proc/kcore"})
	if want := "/ /dev /proc /dev/pts /sys /sys/fs/cgroup /sys/fs/cgroup/* /etc/hostname /etc/hosts /proc/kcore"; got != want {
		t.Errorf("mountOrder = %q\nwant        %q", got, want)
	}
}

func TestDiffAndNormalize(t *testing.T) {
	a := Report{"x": "1", "y": "/b/dir/2", "only.a": "v"}
	b := Report{"x": "1", "y": "/other/2", "only.b": "w"}
	d := Diff(a.Normalize("/b/dir", "<bundle>"), b.Normalize("/other", "<bundle>"), false)
	want := []Difference{{"only.a", "v", Absent}, {"only.b", Absent, "w"}}
	if len(d) != len(want) || d[0] != want[0] || d[1] != want[1] {
		t.Errorf("Diff = %v, want %v", d, want)
	}
	if all := Diff(a, b, true); len(all) != 4 {
		t.Errorf("Diff all = %v, want 4 fields", all)
	}
}

// The allowlist is exact: a difference no entry explains is reported, and
// so is an entry that explains nothing.
func TestCheckExact(t *testing.T) {
	l := []AllowEntry{
		{Field: "mount.*.options", Minirun: "ro,nosuid", Runc: "ro", Reason: "r"},
		{Field: "fd.0", Minirun: "/dev/null", Runc: Any, Reason: "r"},
		{Field: "gone", Minirun: "a", Runc: "b", Reason: "r"},
	}
	diffs := []Difference{
		{"mount./proc/acpi.options", "ro,nosuid", "ro"},
		{"mount./sys/firmware.options", "ro,nosuid", "ro"},
		{"fd.0", "/dev/null", "pipe"},
		{"mount./x.options", "rw", "ro"}, // a value no entry names
		{"new.field", "1", "2"},
	}
	unexplained, stale := Check(diffs, l)
	if len(unexplained) != 2 || unexplained[0].Field != "mount./x.options" || unexplained[1].Field != "new.field" {
		t.Errorf("unexplained = %v", unexplained)
	}
	if len(stale) != 1 || stale[0].Field != "gone" {
		t.Errorf("stale = %v", stale)
	}
}

func TestAllowlists(t *testing.T) {
	l, err := ParseAllowlist(allowlistRunc)
	if err != nil {
		t.Fatal(err)
	}
	if len(l) == 0 {
		t.Fatal("the committed allowlist is empty")
	}
	if _, err := ParseAllowlist([]byte(`[{"field":"x","minirun":"a","runc":"b"}]`)); err == nil {
		t.Error("an entry without a reason was accepted")
	}
	if _, err := ParseAllowlist([]byte(`[{"field":"x","minirun":"a","runc":"b","reason":"r","host":"v3"}]`)); err == nil {
		t.Error("an entry for an unknown host was accepted")
	}
	v1 := ForHost([]AllowEntry{{Field: "a", Host: "cgroup-v1"}, {Field: "b"}}, "cgroup-v2")
	if len(v1) != 1 || v1[0].Field != "b" {
		t.Errorf("ForHost = %v", v1)
	}
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{{"a", "a", true}, {"a", "ab", false}, {"m.*.o", "m./x/y.o", true}, {"m.*.o", "m./x.p", false}, {"*", "", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "aXc", false}} {
		if got := globMatch(c.pattern, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.pattern, c.s, got)
		}
	}
}
