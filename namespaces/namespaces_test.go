package namespaces

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFlagNames(t *testing.T) {
	f := flags[Mount] | flags[PID] | flags[Network]
	got := FlagNames(f)
	if got != "CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWNET" {
		t.Fatalf("FlagNames = %q", got)
	}
}

func TestCloneFlagUnknown(t *testing.T) {
	if _, err := CloneFlag("pidd"); err == nil || !strings.Contains(err.Error(), "pidd") {
		t.Fatalf("want error naming pidd, got %v", err)
	}
}

func TestInodeSelf(t *testing.T) {
	a, err := Inode(0, PID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Inode(os.Getpid(), PID)
	if err != nil || a != b || !strings.HasPrefix(a, "pid:[") {
		t.Fatalf("Inode self %q vs pid %q (%v)", a, b, err)
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/tool", []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/data", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + dir}
	if p, err := LookPath("tool", env); err != nil || p != dir+"/tool" {
		t.Fatalf("LookPath(tool) = %q, %v", p, err)
	}
	if _, err := LookPath("nope", env); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "executable file not found in $PATH") {
		t.Fatalf("LookPath(nope) err = %v", err)
	}
	if _, err := LookPath("data", env); !errors.Is(err, ErrNotExecutable) {
		t.Fatalf("LookPath(data) err = %v", err)
	}
	if _, err := LookPath(dir, env); !errors.Is(err, ErrNotExecutable) {
		t.Fatalf("LookPath(dir) err = %v", err)
	}
}

func TestUserNamespaceFd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it writes a uid_map for other IDs")
	}
	m := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	f, err := UserNamespace(m, m)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mine, _ := os.Readlink("/proc/self/ns/user")
	var st, self unix.Stat_t
	unix.Fstat(int(f.Fd()), &st)
	unix.Stat("/proc/self/ns/user", &self)
	if st.Ino == self.Ino {
		t.Fatalf("got our own user namespace %s", mine)
	}
	// The namespace's owner is us; ioctl NS_GET_OWNER_UID reads its creator's uid.
	uid, err := unix.IoctlGetUint32(int(f.Fd()), unix.NS_GET_OWNER_UID)
	if err != nil || uid != 0 {
		t.Fatalf("owner uid %d, %v", uid, err)
	}
}
