//go:build !amd64 && !arm64

package seccomp

// No system call tables for this GOARCH (mktables.go makes amd64 and
// arm64 ones): Compile refuses every filter.
const nativeArch = ""

var supported []archInfo
