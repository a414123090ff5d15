package integration

// Regression tests for known container-runtime escapes (issue 8). Each one
// runs the attack for real from inside a container and asserts that it
// fails and that the host is unharmed.

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// rootfsCopy copies the busybox rootfs, for a bundle the test may alter.
func rootfsCopy(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "rootfs")
	if out, err := exec.Command("cp", "-a", busybox, dst).CombinedOutput(); err != nil {
		t.Fatalf("copy the rootfs: %v\n%s", err, out)
	}
	return dst
}

// CVE-2019-5736: a container process reopens the runtime binary through
// /proc/<pid>/exe of a runtime process it can see, and overwrites it.
//
// (a) The exec helper (nsenter's child, the minirun binary until its
// execve) is not dumpable: a watcher inside the container scans /proc
// while exec's run, and must never resolve a minirun binary's exe link,
// let alone open it for writing. (b) --init's minirun binary, PID 1 of
// the container, is read-only: opening it, or /proc/1/exe, for writing
// fails. (c) The host binaries (minirun, and minirun-init beside it, which
// the exec helper and --init run when it is there) are unchanged afterwards.
func TestEscapeCVE20195736(t *testing.T) {
	before := fileSum(t, bin)
	helper := filepath.Join(filepath.Dir(bin), "minirun-init")
	var beforeHelper [32]byte
	hasHelper := fileExists(helper)
	if hasHelper {
		beforeHelper = fileSum(t, helper)
	}
	name := fmt.Sprintf("esc5736-%d", os.Getpid())
	defer minirun(t, "", "rm", "-f", name)
	// The watcher (testdata/exewatch, static): every pid's exe, as fast as
	// it can, while exec's come and go.
	if _, err := exec.LookPath("go"); err != nil {
		t.Log("no Go toolchain: the exec-helper part is skipped")
	} else {
		watcher := filepath.Join(t.TempDir(), "exewatch")
		build := exec.Command("go", "build", "-o", watcher, "./tests/integration/testdata/exewatch")
		build.Dir = repoRoot
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build exewatch: %v\n%s", err, out)
		}
		run(t, 0, "run", "-d", "--name", name, "--network", "none", "-v", watcher+":/exewatch:ro", "busybox", "sh", "-c", "/exewatch > /tmp/watch.log 2>&1")
		for i := 0; i < 60; i++ {
			run(t, 0, "exec", name, "true")
		}
		r := run(t, 0, "exec", name, "cat", "/tmp/watch.log")
		if strings.Contains(r.stdout, "READ") || strings.Contains(r.stdout, "WROTE") {
			t.Errorf("a container process reached the runtime binary through /proc/<pid>/exe:\n%s", r.stdout)
		}
		t.Logf("exec helpers seen by the watcher (and denied): %d", strings.Count(r.stdout, "DENIED"))
		run(t, 0, "rm", "-f", name)
	}

	// (b) --init: PID 1 is the host's minirun, bind-mounted read-only.
	r := run(t, 0, "run", "--rm", "--init", "--network", "none", "busybox", "sh", "-c", `
readlink /proc/1/exe
(echo x >> /proc/1/exe) 2>/dev/null && echo WROTE-EXE
(exec 9</proc/1/exe && echo x >> /proc/self/fd/9) 2>/dev/null && echo WROTE-FD
(echo x >> /sbin/minirun-init) 2>/dev/null && echo WROTE-INIT
(: > /sbin/minirun-init) 2>/dev/null && echo TRUNC-INIT
rm -f /sbin/minirun-init 2>/dev/null; mv /sbin/minirun-init /sbin/x 2>/dev/null && echo MOVED
grep ' /sbin/minirun-init ' /proc/self/mountinfo`)
	for _, bad := range []string{"WROTE", "TRUNC", "MOVED"} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("--init's binary was altered (%s):\n%s", bad, r.stdout)
		}
	}
	mi := ""
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.Contains(l, " /sbin/minirun-init ") {
			mi = l
		}
	}
	f := strings.Fields(mi)
	if len(f) < 6 || !strings.Contains(","+f[5]+",", ",ro,") || !strings.Contains(f[5], "nosuid") || !strings.Contains(f[5], "nodev") {
		t.Errorf("--init's binary is not mounted ro,nosuid,nodev: %q", mi)
	}
	// (c)
	if fileSum(t, bin) != before {
		t.Fatal("the host's minirun binary changed")
	}
	if hasHelper && fileSum(t, helper) != beforeHelper {
		t.Fatal("the host's minirun-init binary changed")
	}
	assertClean(t)
}

// fdList parses `ls /proc/<pid>/fd` output.
func fdList(out string) []string { return strings.Fields(out) }

// CVE-2016-9962 / CVE-2024-21626: no descriptor of the host reaches the
// container, so neither the process nor a cwd of /proc/self/fd/N gets
// hold of a host directory.
func TestEscapeCVE202421626FdLeak(t *testing.T) {
	want := []string{"0", "1", "2"}
	// sh is PID 1 and has opened nothing itself.
	r := run(t, 0, "run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /proc/1/fd; echo --; ls -l /proc/1/fd")
	if got := fdList(strings.Split(r.stdout, "--")[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("run: container init has descriptors %v, want %v:\n%s", got, want, r.stdout)
	}
	name := fmt.Sprintf("esc21626-%d", os.Getpid())
	defer minirun(t, "", "rm", "-f", name)
	run(t, 0, "run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "60")
	r = run(t, 0, "exec", name, "sh", "-c", "ls /proc/1/fd; echo --; ls /proc/$$/fd; echo --; ls -l /proc/1/fd /proc/$$/fd")
	parts := strings.Split(r.stdout, "--")
	if len(parts) < 3 || !reflect.DeepEqual(fdList(parts[0]), want) || !reflect.DeepEqual(fdList(parts[1]), want) {
		t.Errorf("exec: descriptors of PID 1 / the exec'd process are not just 0 1 2:\n%s", r.stdout)
	}
	// The cwd attack: the process must start in a directory inside its
	// root, or not start at all.
	probe := `a=$(stat -c %d:%i .); p=$(pwd -P 2>&1); b=$(stat -c %d:%i "$p" 2>&1); echo "cwd=$(readlink /proc/self/cwd) pwd=$p"; [ "$a" = "$b" ] && echo INSIDE || echo OUTSIDE; ls ../../../../ 2>&1 | head -50`
	check := func(what string, r result) {
		t.Helper()
		t.Logf("%s: exit %d %q %q", what, r.code, strings.SplitN(r.stdout, "\n", 3)[0], strings.TrimSpace(r.stderr))
		if r.code == 0 && (!strings.Contains(r.stdout, "INSIDE") || strings.Contains(r.stdout, "unreachable")) {
			t.Errorf("%s: the process started with a cwd outside its root:\n%s%s", what, r.stdout, r.stderr)
		}
	}
	for n := 3; n <= 10; n++ {
		cwd := "/proc/self/fd/" + strconv.Itoa(n)
		check("run -w "+cwd, minirun(t, "", "run", "--rm", "--network", "none", "-w", cwd, "busybox", "sh", "-c", probe))
		check("exec -w "+cwd, minirun(t, "", "exec", "-w", cwd, name, "sh", "-c", probe))
		b := bundle(t, []string{"sh", "-c", probe}, func(s *specs.Spec) { s.Process.Cwd = cwd })
		check("OCI cwd "+cwd, minirunFiles(t, "run", "--bundle", b, fmt.Sprintf("esc21626-oci-%d-%d", os.Getpid(), n)))
	}
	run(t, 0, "rm", "-f", name)

	// The same with a rootfs that has, where init's descriptors point on
	// the host (its cgroup directories and files, which the Go runtime of
	// init keeps open), directories of its own and no /sys mount: the
	// runtime's "mkdir the cwd in the root" then succeeds, and only the
	// check after chdir stands between the process and the host's cgroup
	// hierarchy.
	rootfs := rootfsCopy(t)
	b0 := bundle(t, nil, nil)
	for _, p := range cgroupParents() {
		os.MkdirAll(filepath.Join(rootfs, p, filepath.Base(b0)), 0o755)
	}
	for n := 3; n <= 10; n++ {
		cwd := "/proc/self/fd/" + strconv.Itoa(n)
		b := bundle(t, []string{"sh", "-c", probe}, func(s *specs.Spec) {
			s.Process.Cwd = cwd
			s.Root.Path = rootfs
			s.Linux.CgroupsPath = cgroupParent + "/" + filepath.Base(b0)
			var ms []specs.Mount
			for _, m := range s.Mounts {
				if !strings.HasPrefix(m.Destination, "/sys") {
					ms = append(ms, m)
				}
			}
			s.Mounts = ms
		})
		check("OCI, no /sys, cwd "+cwd, minirunFiles(t, "run", "--bundle", b, fmt.Sprintf("esc21626-sys-%d-%d", os.Getpid(), n)))
	}
	assertClean(t)
}

// CVE-2021-30465: a mount destination in config.json that goes through a
// symlink of the rootfs pointing at an absolute host path (and a climbing
// relative one) is resolved inside the root: the host's directories get
// neither the mount nor the container's writes.
func TestEscapeCVE202130465OCIMountSymlink(t *testing.T) {
	hostDirs := hostSecretDirs(t)
	rootfs := rootfsCopy(t)
	os.Symlink(hostDirs[0], filepath.Join(rootfs, "abs"))
	os.Symlink("../../../../../../../.."+hostDirs[1], filepath.Join(rootfs, "rel"))
	bindSrc := t.TempDir()
	b := bundle(t, []string{"sh", "-c", "ls -A /abs/ /rel/; echo in-tmpfs > /abs/written; echo in-bind > /rel/written; " +
		"awk '{print $5, $9}' /proc/self/mountinfo | grep -e '^" + hostDirs[0] + " ' -e '^" + hostDirs[1] + " '; true"},
		func(s *specs.Spec) {
			s.Root.Path = rootfs
			s.Mounts = append(s.Mounts,
				specs.Mount{Destination: "/abs", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev"}},
				specs.Mount{Destination: "/rel", Type: "bind", Source: bindSrc, Options: []string{"rbind", "rw"}})
		})
	r := minirunFiles(t, "run", "--bundle", b, fmt.Sprintf("esc30465-%d", os.Getpid()))
	if strings.Contains(r.stdout, "host-secret") {
		t.Fatalf("the container saw the host's directory through the rootfs's symlink: %q", r.stdout)
	}
	if r.code == 0 && (!strings.Contains(r.stdout, hostDirs[0]+" tmpfs") || !strings.Contains(r.stdout, hostDirs[1]+" ")) {
		t.Errorf("want the mounts at %v inside the container: %q %q", hostDirs, r.stdout, r.stderr)
	}
	for _, d := range hostDirs {
		if ents := entries(d); !reflect.DeepEqual(ents, []string{"host-secret"}) {
			t.Errorf("the host's %s was written to: %v", d, ents)
		}
		if m := mountsUnder(d); len(m) > 0 {
			t.Errorf("a mount landed on the host: %v", m)
		}
	}
	if r.code == 0 {
		if b, _ := os.ReadFile(filepath.Join(bindSrc, "written")); string(b) != "in-bind\n" {
			t.Errorf("bind mount through the relative link: %q", b)
		}
	}
	t.Logf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	assertClean(t)
}

// CVE-2025-31133 class: masking binds /dev/null over files; a rootfs that
// ships /dev/null as a symlink to a host-affecting procfs file, with no
// tmpfs on /dev, must not get that file bound over the masked paths (or
// made writable), and the masked paths stay masked.
func TestEscapeCVE202531133DevNullMask(t *testing.T) {
	corePattern, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	for _, target := range []string{"/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger"} {
		t.Run(strings.ReplaceAll(target, "/", "_"), func(t *testing.T) {
			rootfs := rootfsCopy(t)
			os.MkdirAll(filepath.Join(rootfs, "dev"), 0o755)
			os.Remove(filepath.Join(rootfs, "dev/null"))
			if err := os.Symlink(target, filepath.Join(rootfs, "dev/null")); err != nil {
				t.Fatal(err)
			}
			b := bundle(t, []string{"sh", "-c", `
echo kcore=$(head -c 64 /proc/kcore 2>/tmp/err | wc -c)
echo keys=$(wc -c < /proc/keys 2>/tmp/err)
echo timer=$(wc -c < /proc/timer_list 2>/tmp/err)
stat -L -c "null=%F %t:%T" /dev/null
(echo '|/tmp/pwn' > /proc/kcore) 2>/tmp/err && echo WROTE-MASKED
(echo '|/tmp/pwn' > /proc/keys) 2>/tmp/err && echo WROTE-MASKED
(echo '|/tmp/pwn' > /proc/sys/kernel/core_pattern) 2>/tmp/err && echo WROTE-CORE
echo done`}, func(s *specs.Spec) {
				s.Root.Path = rootfs
				var ms []specs.Mount
				for _, m := range s.Mounts {
					if m.Destination != "/dev" && !strings.HasPrefix(m.Destination, "/dev/") {
						ms = append(ms, m)
					}
				}
				s.Mounts = ms
			})
			r := minirunFiles(t, "run", "--bundle", b, fmt.Sprintf("esc31133-%d", os.Getpid()))
			t.Logf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
			if after, _ := os.ReadFile("/proc/sys/kernel/core_pattern"); string(after) != string(corePattern) {
				os.WriteFile("/proc/sys/kernel/core_pattern", corePattern, 0o644)
				t.Fatalf("the host's core_pattern changed: %q", after)
			}
			if r.code != 0 && !strings.Contains(r.stderr, "not the null device") {
				t.Errorf("exit %d without refusing the rootfs's /dev/null: %s", r.code, r.stderr)
			}
			if r.code == 0 {
				for _, l := range []string{"kcore=0", "keys=0", "timer=0", "done"} {
					if !strings.Contains(r.stdout, l+"\n") {
						t.Errorf("masked path not masked: want %q in\n%s", l, r.stdout)
					}
				}
				if strings.Contains(r.stdout, "WROTE") || !strings.Contains(r.stdout, "null=character special file 1:3") {
					t.Errorf("the container's /dev/null is not the null device or a masked path was writable:\n%s", r.stdout)
				}
			}
			assertClean(t)
		})
	}
}

// CVE-2022-29162: the inheritable capability set is empty, so a file with
// inheritable file capabilities cannot hand them to the process.
func TestEscapeCVE202229162Inheritable(t *testing.T) {
	r := run(t, 0, "run", "--rm", "--network", "none", "busybox", "cat", "/proc/self/status")
	if got := statusField(r.stdout, "CapInh"); got != "0000000000000000" {
		t.Errorf("run: CapInh %s", got)
	}
	name := fmt.Sprintf("esc29162-%d", os.Getpid())
	defer minirun(t, "", "rm", "-f", name)
	run(t, 0, "run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "60")
	for _, args := range [][]string{{"exec", name}, {"exec", "-u", "1000", name}, {"exec", "--privileged", name}} {
		r := minirun(t, "", append(args, "cat", "/proc/self/status")...)
		if r.code != 0 && args[1] == "--privileged" {
			continue // exec --privileged may not exist
		}
		if got := statusField(r.stdout, "CapInh"); r.code != 0 || got != "0000000000000000" {
			t.Errorf("%v: exit %d CapInh %q %s", args, r.code, got, r.stderr)
		}
	}
	run(t, 0, "rm", "-f", name)
	// An OCI bundle with the default spec: nothing inheritable.
	b := bundle(t, []string{"cat", "/proc/self/status"}, nil)
	r = minirunFiles(t, "run", "--bundle", b, fmt.Sprintf("esc29162-oci-%d", os.Getpid()))
	if got := statusField(r.stdout, "CapInh"); r.code != 0 || got != "0000000000000000" {
		t.Errorf("OCI default: exit %d CapInh %q %s", r.code, got, r.stderr)
	}
	assertClean(t)
}

// The kernel interfaces that a container must not write, and the
// syscalls that it must not make, by default.
func TestEscapeProcSysMountUnshare(t *testing.T) {
	corePattern, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	hostname, _ := os.ReadFile("/proc/sys/kernel/hostname")
	r := run(t, 0, "run", "--rm", "--network", "none", "busybox", "sh", "-c", `
(echo h > /proc/sysrq-trigger) 2>/dev/null && echo BAD-sysrq-trigger
(echo '|/tmp/pwn' > /proc/sys/kernel/core_pattern) 2>/dev/null && echo BAD-proc-sys
(echo 1 > /proc/sys/vm/drop_caches) 2>/dev/null && echo BAD-drop-caches
(echo x > /proc/sys/kernel/hostname) 2>/dev/null && echo BAD-hostname
(echo 1 > /sys/kernel/profiling) 2>/dev/null && echo BAD-sys
(echo change > /sys/class/net/lo/uevent) 2>/dev/null && echo BAD-sys-uevent
mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>/dev/null && echo BAD-mount
mount -o remount,rw /proc/sys 2>/dev/null && echo BAD-remount
mount -t proc proc /tmp/m 2>/dev/null && echo BAD-proc
unshare -U true 2>/dev/null && echo BAD-unshare-U
unshare -m true 2>/dev/null && echo BAD-unshare-m
awk '$5 == "/proc/sys" || $5 == "/proc/sysrq-trigger" || $5 == "/sys" {print $5, $6}' /proc/self/mountinfo
echo done`)
	if strings.Contains(r.stdout, "BAD") || !strings.Contains(r.stdout, "done") {
		t.Errorf("an attack succeeded:\n%s", r.stdout)
	}
	for _, p := range []string{"/proc/sys ", "/proc/sysrq-trigger ", "/sys "} {
		if _, err := os.Stat(strings.TrimSpace(p)); err != nil {
			continue // a kernel without CONFIG_MAGIC_SYSRQ has no /proc/sysrq-trigger
		}
		found := false
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(l, p) {
				found = true
				if !strings.HasPrefix(strings.Fields(l)[1], "ro") {
					t.Errorf("%s is not read-only: %q", p, l)
				}
			}
		}
		if !found {
			t.Errorf("%s: not a mount of its own in the container:\n%s", p, r.stdout)
		}
	}
	if b, _ := os.ReadFile("/proc/sys/kernel/core_pattern"); string(b) != string(corePattern) {
		os.WriteFile("/proc/sys/kernel/core_pattern", corePattern, 0o644)
		t.Errorf("host core_pattern changed: %q", b)
	}
	if b, _ := os.ReadFile("/proc/sys/kernel/hostname"); string(b) != string(hostname) {
		t.Errorf("host hostname changed: %q", b)
	}
	assertClean(t)
}

// CVE-2019-5736, the classic way in: the container's program (or what an
// admin's `exec` runs, e.g. a /bin/sh replaced by a symlink) is
// /proc/self/exe, so the minirun process that execs it runs minirun again,
// inside the container and dumpable. An attacker in the container keeps an
// O_PATH descriptor of its /proc/<pid>/exe and, once no minirun runs any
// more (the OCI verbs exit after start, so nothing keeps the binary busy
// with ETXTBSY), reopens it for writing to replace the host's runtime.
//
// minirun runs init and exec helpers from a detached read-only mount of
// their binary (container/exeseal.go): minirun-init beside minirun (what
// `make build` makes, container/initbin.go), else minirun itself. The
// attacker (testdata/sysprobe exe-attack, which only opens, never writes)
// must reach that binary (the test sees the attack happen) but never get it
// writable. The same attack with MINIRUN_NO_EXE_SEAL=1 is logged as the
// control.
func TestEscapeCVE20195736ProcSelfExe(t *testing.T) {
	probe := buildSysprobe(t)
	// The binary the exec helper runs, and what /proc/self/exe then runs
	// for a second: minirun-init is the `run --init` reaper (it runs
	// `sleep 1` and waits), minirun reads import's stdin.
	target, victimArgs := bin, []string{"import", "-", "x:y"}
	if h := filepath.Join(filepath.Dir(bin), "minirun-init"); fileExists(h) {
		target, victimArgs = h, []string{"sleep", "1"}
	}
	before, beforeBin := fileSum(t, target), fileSum(t, bin)
	var st syscall.Stat_t
	if err := syscall.Stat(target, &st); err != nil {
		t.Fatal(err)
	}
	attack := func(t *testing.T, env ...string) string {
		rootfs := rootfsCopy(t)
		b, err := os.ReadFile(probe)
		if err != nil || os.WriteFile(filepath.Join(rootfs, "sysprobe"), b, 0o755) != nil {
			t.Fatalf("copy sysprobe into the rootfs: %v", err)
		}
		id := fmt.Sprintf("esc5736x-%d", os.Getpid())
		bd := bundle(t, []string{"sh", "-c", fmt.Sprintf("/sysprobe exe-attack %d %d 4 > /tmp/attack.log 2>&1; sleep 60", st.Dev, st.Ino)},
			func(s *specs.Spec) { s.Root.Path = rootfs })
		if r := minirunFiles(t, "create", "--bundle", bd, id); r.code != 0 {
			t.Fatalf("create: %d %s", r.code, r.stderr)
		}
		defer minirun(t, "", "delete", "--force", id)
		run(t, 0, "start", id)
		// The victim: minirun exec'ing /proc/self/exe in the container,
		// alive for a second (import reads its stdin), then gone.
		victim := exec.Command(bin, append([]string{"exec", "-i", id, "/proc/self/exe"}, victimArgs...)...)
		victim.Env = append(minirunEnv(), env...)
		in, _ := victim.StdinPipe()
		if err := victim.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		in.Close()
		_ = victim.Wait()
		// The attacker goes on for a few seconds with no minirun running.
		log := filepath.Join(rootfs, "tmp", "attack.log")
		var out []byte
		for i := 0; i < 100; i++ {
			if out, _ = os.ReadFile(log); strings.Contains(string(out), "end") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		return string(out)
	}
	out := attack(t)
	t.Logf("sealed: %q", out)
	if !strings.Contains(out, "REACHED") {
		t.Errorf("the attacker never reached the exec'd minirun's /proc/<pid>/exe: the test did not test: %q", out)
	}
	if strings.Contains(out, "WRITABLE") {
		t.Errorf("the container could open the host's minirun binary for writing: %q", out)
	}
	t.Logf("control, MINIRUN_NO_EXE_SEAL=1: %q", attack(t, "MINIRUN_NO_EXE_SEAL=1"))
	if fileSum(t, target) != before || fileSum(t, bin) != beforeBin {
		t.Fatalf("the host's %s changed", target)
	}
	assertClean(t)
}

// CVE-2021-30465, raced: mount destinations are resolved inside the root
// (securejoin) and then used by path, so a directory on the way that a
// container can change (a shared volume) may be swapped for a symlink
// between the check and the use. Here a host-side racer exchanges, as
// fast as it can (renameat2 RENAME_EXCHANGE, as the original PoC did from
// a second container), a directory of the volume with a symlink to a host
// directory, while containers start over and over with tmpfs and file bind
// mounts below that directory. If a start ever follows the swapped symlink
// it creates its mount point (mkdir, or an empty file for a file bind) in
// the host directory, and mounts there: the host directory must never get
// an entry or a mount, whatever the runs' outcome (a run may fail: the
// swap can make a destination a symlink, which is refused).
func TestEscapeCVE202130465Race(t *testing.T) {
	hostDir := hostSecretDirs(t)[0]
	vol := t.TempDir()
	if err := os.Mkdir(filepath.Join(vol, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(hostDir, filepath.Join(vol, "l")); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "src")
	os.WriteFile(src, []byte("bind source\n"), 0o644)

	stop := make(chan struct{})
	swaps := make(chan int)
	go func() {
		runtime.LockOSThread()
		n := 0
		d, l := filepath.Join(vol, "d"), filepath.Join(vol, "l")
		for {
			select {
			case <-stop:
				swaps <- n
				return
			default:
			}
			for i := 0; i < 100; i++ {
				if unix.Renameat2(unix.AT_FDCWD, d, unix.AT_FDCWD, l, unix.RENAME_EXCHANGE) == nil {
					n++
				}
			}
		}
	}()
	args := []string{"run", "--rm", "--network", "none", "-v", vol + ":/vol"}
	for i := 0; i < 6; i++ {
		args = append(args, "--tmpfs", fmt.Sprintf("/vol/d/m%d", i), "-v", fmt.Sprintf("%s:/vol/d/f%d:ro", src, i))
	}
	args = append(args, "busybox", "true")
	runs, failed := 0, 0
	var firstErr string
	for end := time.Now().Add(12 * time.Second); time.Now().Before(end); {
		runs++
		r := minirun(t, "", args...)
		if r.code != 0 {
			failed++
			if firstErr == "" {
				firstErr = r.stderr
			}
		}
		if e := entries(hostDir); len(e) != 1 {
			break
		}
	}
	close(stop)
	n := <-swaps
	t.Logf("%d runs (%d refused, first: %q), %d swaps", runs, failed, firstErr, n)
	if e := entries(hostDir); !reflect.DeepEqual(e, []string{"host-secret"}) {
		t.Errorf("a container start created mount points in the host's directory %s through the swapped symlink: %v", hostDir, e)
	}
	if m := mountsUnder(hostDir); len(m) > 0 {
		t.Errorf("a mount landed on the host: %v", m)
	}
	if runs-failed == 0 {
		// Every start met the racer and refused (safe); the assertions
		// above still covered every attempt at making the mount points.
		t.Logf("no run got through the race this time: all refused")
	}
	assertClean(t)
}
