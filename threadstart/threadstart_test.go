//go:build cgo

package threadstart

import "testing"

// The constructor ran before the test's Go runtime started, and holds its
// slot. (Whether that spares musl's munmap(2) is for the musl-linked
// binaries: tests/integration/threads_test.go traces them.)
func TestKept(t *testing.T) {
	if !Kept() {
		t.Fatal("the constructor did not keep a malloc slot")
	}
}
