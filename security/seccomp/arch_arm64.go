package seccomp

import "golang.org/x/sys/unix"

// nativeArch is the architecture of this binary's processes; a filter
// always covers it, as libseccomp's does.
const nativeArch = "SCMP_ARCH_AARCH64"

// supported are the architectures an arm64 kernel runs processes of.
var supported = []archInfo{
	{name: "SCMP_ARCH_AARCH64", audit: unix.AUDIT_ARCH_AARCH64, bits64: true, table: tableAARCH64},
	{name: "SCMP_ARCH_ARM", audit: unix.AUDIT_ARCH_ARM, table: tableARM},
}
