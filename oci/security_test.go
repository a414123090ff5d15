package oci

import (
	"strings"
	"testing"
)

// A profile naming a system call no architecture has is refused, with the
// name; one naming calls of other architectures only (Docker's own
// default.json lists recv, send, riscv_hwprobe) is not.
func TestSeccompProfileUnknownName(t *testing.T) {
	bad := `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","opne"],"action":"SCMP_ACT_ALLOW"}]}`
	s := Default()
	err := Security{Seccomp: bad}.apply(s)
	if err == nil || !strings.Contains(err.Error(), "opne") {
		t.Fatalf("unknown name: %v", err)
	}
	ok := `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","recv","riscv_hwprobe"],"action":"SCMP_ACT_ALLOW"}]}`
	if err := (Security{Seccomp: ok}).apply(Default()); err != nil {
		t.Fatal(err)
	}
}
