#!/usr/bin/env bash
# Lab 08: root in a container is not the host's root: capabilities,
# no_new_privs and a seccomp filter.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
need_busybox
need_tools capsh

step "your shell's capabilities"
say "Root's power is split into ~41 capabilities (capabilities(7)). Each" \
	"process has five sets; the effective one is what the kernel checks."
show_sh "grep -E '^Cap(Eff|Bnd)' /proc/self/status"
show capsh --decode="$(awk '/^CapEff/ {print $2}' /proc/self/status)"

step "a container's root has Docker's 14"
show minirun run --rm --network none busybox grep -E 'Cap|NoNewPrivs|Seccomp' /proc/self/status
EFF=$(minirun run --rm --network none busybox awk '/^CapEff/ {print $2}' /proc/self/status)
show capsh --decode="$EFF"
say "No CAP_SYS_ADMIN (mount, most of the kernel's knobs), no CAP_NET_ADMIN," \
	"no CAP_SYS_PTRACE, no CAP_SYS_MODULE. The bounding set is the same: even" \
	"a setuid binary cannot get more. NoNewPrivs: 1 means execve never grants" \
	"privileges again (prctl PR_SET_NO_NEW_PRIVS; minirun sets it here, Docker" \
	"only with --security-opt no-new-privileges); Seccomp: 2 is a filter."

step "what a missing capability looks like: EPERM"
show minirun run --rm --network none busybox sh -c 'mkdir -p /tmp/m && mount -t tmpfs none /tmp/m' || say "exit status $? (no CAP_SYS_ADMIN)"
show minirun run --rm --network none busybox sh -c 'touch /f && chown 1000 /f && ls -n /f'
show minirun run --rm --network none --cap-drop CHOWN busybox sh -c 'touch /f && chown 1000 /f' || say "exit status $? (CAP_CHOWN dropped)"
show minirun run --rm --network none --cap-add SYS_ADMIN busybox sh -c 'mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && grep /tmp/m /proc/mounts'

step "a non-root user has none at all"
show minirun run --rm --network none -u 1000:1000 busybox grep -E '^Cap(Prm|Eff)' /proc/self/status

step "seccomp: a filter on system calls"
say "Docker's default profile is an allowlist of ~350 system calls, compiled" \
	"to a BPF program (seccomp(2)) that the kernel runs on every system call." \
	"Calls outside it fail with EPERM, whatever the capabilities: unshare(2)" \
	"of a user namespace, for example, which has been the door of many kernel" \
	"exploits."
show minirun run --rm --network none busybox unshare -U true || say "exit status $? (denied by seccomp)"
show minirun run --rm --network none --security-opt seccomp=unconfined busybox sh -c 'grep Seccomp: /proc/self/status; unshare -U true && echo "unshare -U: allowed"'
say "--privileged: every capability, no seccomp filter: the host's root, minus" \
	"the namespaces. Use it for what needs it (a nested runtime), nothing else."
show minirun run --rm --network none --privileged busybox grep -E '^(CapEff|Seccomp):' /proc/self/status
say "Done. Now run ./check.sh to check your work."
