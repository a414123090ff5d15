#!/usr/bin/env bash
# Lab 02, check your work: signals to PID 1, zombies, --init.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
need_busybox
C1=lab02ca-$$ C2=lab02cb-$$ C3=lab02cc-$$
cleanup "\"$MINIRUN\" rm -f $C1 $C2 $C3"
state() { minirun inspect "$1" | jq -r ".[0].State.$2"; }
ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

minirun run -d --name "$C1" --network none busybox sleep 300 >/dev/null
minirun kill -s TERM "$C1" >/dev/null
sleep 1
check_eq "SIGTERM to a PID 1 without a handler: still running" "$(state "$C1" Status)" running
t0=$(ms)
minirun stop -t 1 "$C1" >/dev/null
t=$(($(ms) - t0))
check_eq "stop: SIGKILL after the timeout, exit code 137" "$(state "$C1" ExitCode)" 137
check "stop waited the 1 s timeout (took ${t} ms)" test "$t" -ge 900

minirun run -d --name "$C2" --network none busybox sh -c 'trap "echo got SIGTERM; exit 0" TERM; while :; do sleep 0.2; done' >/dev/null
sleep 0.5
minirun stop -t 10 "$C2" >/dev/null
check_eq "PID 1 with a SIGTERM handler: exits 0" "$(state "$C2" ExitCode)" 0
check_match "its handler ran" "$(minirun logs "$C2")" 'got SIGTERM'

minirun run -d --name "$C3" --network none busybox sleep 300 >/dev/null
minirun exec "$C3" sh -c 'sleep 0.1 &'
for _ in $(seq 30); do
	out=$(minirun exec "$C3" ps -o ppid,stat,comm)
	grep -Eq '^ *1 +Z +sleep' <<<"$out" && break
	sleep 0.2
done
check_match "an orphan under a non-reaping PID 1 stays a zombie" "$out" '^ *1 +Z +sleep'
minirun rm -f "$C3" >/dev/null

minirun run -d --init --name "$C3" --network none busybox sleep 300 >/dev/null
minirun exec "$C3" sh -c 'sleep 0.1 &'
sleep 0.5
for _ in $(seq 30); do
	out=$(minirun exec "$C3" ps -o pid,stat,comm)
	grep -q ' Z ' <<<"$out" || break
	sleep 0.2
done
check_no_match "--init reaps the orphan: no zombie" "$out" ' Z '
check_match "--init: sleep is not PID 1" "$out" '^ +1 +[A-Z]+ +[a-z-]*init'
t0=$(ms)
minirun stop -t 10 "$C3" >/dev/null
t=$(($(ms) - t0))
check_eq "--init forwards SIGTERM: exit code 143" "$(state "$C3" ExitCode)" 143
check "--init: stopped well before the 10 s timeout (took ${t} ms)" test "$t" -lt 5000
finish
