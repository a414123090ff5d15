package seccomp

import "golang.org/x/sys/unix"

// nativeArch is the architecture of this binary's processes; a filter
// always covers it, as libseccomp's does.
const nativeArch = "SCMP_ARCH_X86_64"

// supported are the architectures an amd64 kernel runs processes of: x86_64
// itself, i386 (int 0x80 or a 32-bit binary) and x32 (x86_64's AUDIT_ARCH
// with bit 30 set in the system call number; no table here, see x32Bit).
var supported = []archInfo{
	{name: "SCMP_ARCH_X86_64", audit: unix.AUDIT_ARCH_X86_64, bits64: true, table: tableX86_64, x32: "SCMP_ARCH_X32"},
	{name: "SCMP_ARCH_X86", audit: unix.AUDIT_ARCH_I386, table: tableX86},
}
