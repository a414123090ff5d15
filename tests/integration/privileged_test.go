package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// mountOpts returns the per-mount options (mountinfo's sixth field) of
// every mount whose mount point is dir or below it.
func mountOpts(mountinfo, dir string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(l)
		if len(f) < 6 {
			continue
		}
		if f[4] == dir || strings.HasPrefix(f[4], dir+"/") {
			out[f[4]] = f[5]
		}
	}
	return out
}

func hasOpt(opts, o string) bool {
	for _, x := range strings.Split(opts, ",") {
		if x == o {
			return true
		}
	}
	return false
}

// hostDevice is "major:minor mode uid gid" of a host device node, in the
// form busybox's stat -c '%t:%T %a %u %g' prints it (hex numbers).
func hostDevice(t *testing.T, path string) string {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return ""
	}
	return fmt.Sprintf("%x:%x %o %d %d", unix.Major(st.Rdev), unix.Minor(st.Rdev), st.Mode&0o7777, st.Uid, st.Gid)
}

const privScript = `cat /proc/self/status; echo ==; cat /proc/self/mountinfo; echo ==
stat -c %F $MASKED; head -c 1 $MASKED | wc -c; echo ==
for d in /dev/loop-control /dev/vda /dev/kmsg; do stat -c "$d %t:%T %a %u %g" $d 2>/dev/null || echo "$d missing"; done; echo ==
cat /sys/fs/cgroup/devices/devices.list 2>/dev/null; echo ==`

// --privileged is Docker's: every capability the host can grant, no
// seccomp filter, /proc unmasked and writable, /sys and the cgroups
// read-write, every device allowed and the host's /dev nodes present.
// A default container has none of it. Nothing here writes to the host.
func TestPrivileged(t *testing.T) {
	hostStatus, _ := os.ReadFile("/proc/self/status")
	hostBnd := statusField(string(hostStatus), "CapBnd")
	lastB, _ := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	last, _ := strconv.Atoi(strings.TrimSpace(string(lastB)))
	full := fmt.Sprintf("%016x", uint64(1)<<uint(last+1)-1)
	_, v1Devices := os.Stat("/sys/fs/cgroup/devices/devices.list")
	// A masked path the host has (this kernel may lack /proc/kcore):
	// read one byte of it at most.
	masked := ""
	for _, p := range []string{"/proc/kcore", "/proc/timer_list", "/proc/keys"} {
		if _, err := os.Stat(p); err == nil {
			masked = p
			break
		}
	}
	if masked == "" {
		t.Fatal("none of /proc/kcore, /proc/timer_list, /proc/keys on this host")
	}

	check := func(priv bool, out, stderr string) {
		t.Helper()
		parts := strings.Split(out, "==\n")
		if len(parts) < 5 {
			t.Fatalf("privileged=%v: output %q, stderr %q", priv, out, stderr)
		}
		status, mountinfo, maskedOut, devs, devList := parts[0], parts[1], parts[2], parts[3], parts[4]
		for _, f := range []string{"CapEff", "CapPrm", "CapBnd"} {
			got := statusField(status, f)
			if priv && got != hostBnd {
				t.Errorf("privileged: %s %s, want the host's bounding set %s", f, got, hostBnd)
			}
			if !priv && got != "00000000a80425fb" {
				t.Errorf("default: %s %s, want Docker's 00000000a80425fb", f, got)
			}
		}
		if got, want := statusField(status, "Seccomp"), map[bool]string{true: "0", false: "2"}[priv]; got != want {
			t.Errorf("privileged=%v: Seccomp %s, want %s", priv, got, want)
		}
		if got, want := statusField(status, "NoNewPrivs"), "0"; got != want { // Docker's default, privileged or not
			t.Errorf("privileged=%v: NoNewPrivs %s, want %s", priv, got, want)
		}
		// Masked, a path is /dev/null; unmasked, a readable proc file.
		if (priv && (!strings.HasPrefix(maskedOut, "regular") || !strings.HasSuffix(maskedOut, "\n1\n"))) ||
			(!priv && maskedOut != "character special file\n0\n") {
			t.Errorf("privileged=%v: %s: %q", priv, masked, maskedOut)
		}
		procSys := mountOpts(mountinfo, "/proc/sys")["/proc/sys"]
		if priv && procSys != "" {
			t.Errorf("privileged: /proc/sys is a mount of its own (%s), want it part of the rw /proc", procSys)
		}
		if !priv && !hasOpt(procSys, "ro") {
			t.Errorf("default: /proc/sys mount options %q, want ro", procSys)
		}
		if o := mountOpts(mountinfo, "/proc")["/proc"]; !hasOpt(o, "rw") {
			t.Errorf("privileged=%v: /proc mount options %q", priv, o)
		}
		if _, masked := mountOpts(mountinfo, "/proc/keys")["/proc/keys"]; masked == priv {
			t.Errorf("privileged=%v: /proc/keys masked=%v", priv, masked)
		}
		want := map[bool]string{true: "rw", false: "ro"}[priv]
		sys := mountOpts(mountinfo, "/sys")
		if !hasOpt(sys["/sys"], want) {
			t.Errorf("privileged=%v: /sys mount options %q, want %s", priv, sys["/sys"], want)
		}
		cg := mountOpts(mountinfo, "/sys/fs/cgroup")
		if len(cg) == 0 {
			t.Errorf("privileged=%v: no cgroup mounts in %s", priv, mountinfo)
		}
		for dir, o := range cg {
			if !hasOpt(o, want) {
				t.Errorf("privileged=%v: %s mount options %q, want %s", priv, dir, o, want)
			}
		}
		for _, l := range strings.Split(strings.TrimSpace(devs), "\n") {
			path, got, _ := strings.Cut(l, " ")
			host := hostDevice(t, path)
			switch {
			case host == "":
				if got != "missing" {
					t.Errorf("%s: not on the host, but in the container: %s", path, got)
				}
			case priv && got != host:
				t.Errorf("privileged: %s is %q in the container, %q on the host", path, got, host)
			case !priv && got != "missing":
				t.Errorf("default: %s exists in the container: %s", path, got)
			}
		}
		if v1Devices == nil {
			all := strings.TrimSpace(devList) == "a *:* rwm"
			if all != priv {
				t.Errorf("privileged=%v: devices.list %q", priv, devList)
			}
		}
	}

	r := run(t, 0, "run", "--rm", "--network", "none", "--privileged", "-e", "MASKED="+masked, "busybox", "sh", "-c", privScript)
	check(true, r.stdout, r.stderr)
	if warned := strings.Contains(r.stderr, "cannot grant"); warned != (hostBnd != full) {
		t.Errorf("host bounding set %s (all: %s): warning %v: %q", hostBnd, full, warned, r.stderr)
	}
	if hostBnd != full && !strings.Contains(r.stderr, "CAP_") {
		t.Errorf("the warning names no capability: %q", r.stderr)
	}
	r = run(t, 0, "run", "--rm", "--network", "none", "-e", "MASKED="+masked, "busybox", "sh", "-c", privScript)
	check(false, r.stdout, r.stderr)

	// A privileged container can open the host's devices; a default one
	// may mknod a node (Docker allows "m") but not open it. Only opened,
	// never read or written.
	if f, err := os.Open("/dev/loop-control"); err == nil {
		f.Close()
		var st unix.Stat_t
		unix.Stat("/dev/loop-control", &st)
		r = run(t, 0, "run", "--rm", "--network", "none", "--privileged", "busybox", "sh", "-c", "exec 3</dev/loop-control && echo opened")
		if strings.TrimSpace(r.stdout) != "opened" {
			t.Errorf("privileged: open /dev/loop-control: %q %q", r.stdout, r.stderr)
		}
		r = run(t, 0, "run", "--rm", "--network", "none", "busybox", "sh", "-c",
			fmt.Sprintf("mknod /tmp/lc c %d %d && (exec 3</tmp/lc) && echo opened; true", unix.Major(st.Rdev), unix.Minor(st.Rdev)))
		if strings.Contains(r.stdout, "opened") || !strings.Contains(r.stderr, "Operation not permitted") {
			t.Errorf("default: open a loop-control node: %q %q", r.stdout, r.stderr)
		}
	}

	// --cap-drop still applies; --cap-add ALL gives no more than the
	// host has; an explicit seccomp profile and no-new-privileges are kept.
	bnd, _ := strconv.ParseUint(hostBnd, 16, 64)
	profile := filepath.Join(t.TempDir(), "profile.json")
	os.WriteFile(profile, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`), 0o644)
	r = run(t, 0, "run", "--rm", "--network", "none", "--privileged", "--cap-drop", "NET_ADMIN", "--cap-drop", "sys_module", "--cap-add", "ALL",
		"--security-opt", "seccomp="+profile, "--security-opt", "no-new-privileges", "busybox", "cat", "/proc/self/status")
	want := fmt.Sprintf("%016x", bnd&^(1<<unix.CAP_NET_ADMIN|1<<unix.CAP_SYS_MODULE))
	if got := statusField(r.stdout, "CapEff"); got != want {
		t.Errorf("--privileged --cap-add ALL --cap-drop NET_ADMIN,SYS_MODULE: CapEff %s, want %s (no more than the host has, the dropped ones dropped)", got, want)
	}
	r = run(t, 0, "run", "--rm", "--network", "none", "--privileged", "--cap-drop", "NET_ADMIN", "--cap-drop", "sys_module",
		"--security-opt", "seccomp="+profile, "--security-opt", "no-new-privileges", "busybox", "cat", "/proc/self/status")
	if got := statusField(r.stdout, "CapEff"); got != want {
		t.Errorf("--privileged --cap-drop NET_ADMIN,SYS_MODULE: CapEff %s, want %s", got, want)
	}
	if statusField(r.stdout, "Seccomp") != "2" || statusField(r.stdout, "NoNewPrivs") != "1" {
		t.Errorf("--privileged with a profile and no-new-privileges: Seccomp %s NoNewPrivs %s", statusField(r.stdout, "Seccomp"), statusField(r.stdout, "NoNewPrivs"))
	}
	assertClean(t)
}

// --read-only: the root filesystem cannot be written (EROFS), /tmp
// neither unless --tmpfs mounts one; /dev/shm and the volumes stay
// writable, as in Docker.
func TestReadOnlyRootfs(t *testing.T) {
	r := run(t, 0, "run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp", "busybox", "sh", "-c",
		"touch /x; echo root=$?; touch /tmp/y && echo tmp=ok; touch /dev/shm/z && echo shm=ok; grep ' / / ' /proc/self/mountinfo")
	if !strings.Contains(r.stdout, "root=1") || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("--read-only: writing / did not fail with EROFS: %q %q", r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "tmp=ok") || !strings.Contains(r.stdout, "shm=ok") {
		t.Errorf("--read-only --tmpfs /tmp: %q %q", r.stdout, r.stderr)
	}
	root := mountOpts(r.stdout[strings.Index(r.stdout, "shm=ok"):], "/")["/"]
	if !hasOpt(root, "ro") {
		t.Errorf("--read-only: / mount options %q", root)
	}
	r = run(t, 0, "run", "--rm", "--network", "none", "--read-only", "busybox", "sh", "-c", "touch /tmp/y; echo tmp=$?")
	if !strings.Contains(r.stdout, "tmp=1") || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("--read-only without --tmpfs: /tmp writable? %q %q", r.stdout, r.stderr)
	}
	// Without --read-only the root filesystem is writable.
	r = run(t, 0, "run", "--rm", "--network", "none", "busybox", "sh", "-c", "touch /x && echo root=ok")
	if !strings.Contains(r.stdout, "root=ok") {
		t.Errorf("default: / not writable: %q %q", r.stdout, r.stderr)
	}
	assertClean(t)
}
