// Package cgroups will hold control groups, the kernel's accounting and
// limiting of CPU, memory, PIDs and I/O for a group of processes (man 7
// cgroups). It arrives with the cgroups issue: cgroup v2 first, v1 for
// hybrid hosts. Until then a container runs in the cgroup of whoever
// started it, inside its own cgroup namespace.
package cgroups
