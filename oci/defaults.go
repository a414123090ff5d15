package oci

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minirun/minirun/cgroups"
)

// DefaultPath is the PATH Docker gives a container whose image sets none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultCapabilities is Docker's default capability set: root in a
// container keeps these 14 and loses the rest (CAP_SYS_ADMIN, CAP_NET_ADMIN,
// CAP_SYS_MODULE, CAP_SYS_PTRACE, ...). As a mask: 0x00000000a80425fb.
var DefaultCapabilities = []string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FSETID",
	"CAP_FOWNER",
	"CAP_MKNOD",
	"CAP_NET_RAW",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETFCAP",
	"CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT",
	"CAP_KILL",
	"CAP_AUDIT_WRITE",
}

// DefaultMaskedPaths are hidden from the container (Docker's list): they
// leak host information or offer knobs a container must not turn.
var DefaultMaskedPaths = []string{
	"/proc/asound",
	"/proc/acpi",
	"/proc/interrupts",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
}

// DefaultReadonlyPaths can be read but not written (Docker's list).
var DefaultReadonlyPaths = []string{
	"/proc/bus",
	"/proc/fs",
	"/proc/irq",
	"/proc/sys",
	"/proc/sysrq-trigger",
}

// DefaultNamespaces are the namespaces of a Docker container. Docker uses
// the cgroup namespace on cgroup v2 hosts ("private" cgroupns mode), and
// minirun always does.
var DefaultNamespaces = []specs.LinuxNamespace{
	{Type: specs.PIDNamespace},
	{Type: specs.NetworkNamespace},
	{Type: specs.IPCNamespace},
	{Type: specs.UTSNamespace},
	{Type: specs.MountNamespace},
	{Type: specs.CgroupNamespace},
}

// DefaultMounts are Docker's mounts, in the order they must be made.
func DefaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		// Inside the cgroup namespace this shows the container's own cgroup as the root.
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=67108864"}},
	}
}

// Default returns the spec every minirun container starts from: Docker's
// defaults, with an empty process to fill in.
func Default() *specs.Spec {
	caps := append([]string(nil), DefaultCapabilities...)
	return &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{
			Cwd: "/",
			Env: []string{"PATH=" + DefaultPath},
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: caps,
				Permitted: caps,
			},
			NoNewPrivileges: true,
		},
		Mounts: DefaultMounts(),
		Linux: &specs.Linux{
			Namespaces: append([]specs.LinuxNamespace(nil), DefaultNamespaces...),
			// Docker's device allowlist: deny everything, then allow the
			// harmless devices. Without it, root in the container could
			// mknod the host's disk (CAP_MKNOD) and open it.
			Resources:     &specs.LinuxResources{Devices: cgroups.DefaultDeviceRules()},
			MaskedPaths:   append([]string(nil), DefaultMaskedPaths...),
			ReadonlyPaths: append([]string(nil), DefaultReadonlyPaths...),
		},
	}
}
