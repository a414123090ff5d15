#!/usr/bin/env bash
# Lab 08, check your work: capability sets, EPERM without them, seccomp.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
need_busybox
r() { minirun run --rm --network none "$@" 2>&1; }
status() { r "$@" cat /proc/self/status; }
field() { awk -v f="$1:" '$1 == f {print $2}'; }

st=$(status busybox)
check_eq "default: Docker's 14 capabilities (CapEff)" "$(field CapEff <<<"$st")" 00000000a80425fb
check_eq "default: the bounding set is the same" "$(field CapBnd <<<"$st")" 00000000a80425fb
check_eq "default: a seccomp filter (Seccomp: 2)" "$(field Seccomp <<<"$st")" 2
check_eq "default: mount fails (no CAP_SYS_ADMIN)" "$(r busybox sh -c 'mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>/dev/null || echo denied')" denied
check_eq "default: chown works (CAP_CHOWN)" "$(r busybox sh -c 'touch /f; chown 1000 /f; stat -c %u /f')" 1000
check_match "--cap-drop CHOWN: chown fails with EPERM" "$(r --cap-drop CHOWN busybox sh -c 'touch /f; chown 1000 /f')" 'Operation not permitted'
check_eq "--cap-add SYS_ADMIN: mount works" "$(r --cap-add SYS_ADMIN busybox sh -c 'mkdir -p /tmp/m; mount -t tmpfs none /tmp/m; echo $?')" 0
check_eq "-u 1000: no capabilities" "$(field CapEff <<<"$(status -u 1000:1000 busybox)")" 0000000000000000
check_match "seccomp: unshare -U is denied" "$(r busybox unshare -U true)" 'Operation not permitted'
check_eq "seccomp=unconfined: no filter, unshare -U allowed" "$(r --security-opt seccomp=unconfined busybox sh -c 'grep Seccomp: /proc/self/status | cut -f2; unshare -U true && echo ok')" $'0\nok'
check_eq "--privileged: no seccomp filter" "$(field Seccomp <<<"$(status --privileged busybox)")" 0
finish
