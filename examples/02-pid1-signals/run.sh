#!/usr/bin/env bash
# Lab 02: PID 1 in a container: signals it ignores, zombies it must reap.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
need_busybox
C1=lab02a-$$ C2=lab02b-$$ C3=lab02c-$$
cleanup "\"$MINIRUN\" rm -f $C1 $C2 $C3"

step "PID 1 ignores signals it has no handler for"
say "The kernel never delivers to a namespace's init a signal whose action is" \
	"the default (SIG_DFL), except SIGKILL and SIGSTOP sent from an ancestor" \
	"namespace. 'sleep' installs no handler, so SIGTERM is simply dropped."
show minirun run -d --name "$C1" --network none busybox sleep 300
show minirun kill -s TERM "$C1"
sleep 1
show minirun ps
say "Still Up. 'minirun stop' sends the stop signal, waits (-t seconds)," \
	"then sends SIGKILL, which PID 1 cannot ignore: exit code 128+9 = 137."
show_sh "time minirun stop -t 2 $C1"
show_sh "minirun inspect $C1 | jq '.[0].State.ExitCode'"

step "a PID 1 with a handler stops at once"
show minirun run -d --name "$C2" --network none busybox \
	sh -c 'trap "echo got SIGTERM; exit 0" TERM; while :; do sleep 0.2; done'
sleep 0.5
show_sh "time minirun stop -t 10 $C2"
show minirun logs "$C2"
show_sh "minirun inspect $C2 | jq '.[0].State.ExitCode'"

step "orphans are re-parented to PID 1, which must reap them"
say "A process whose parent exits is adopted by its namespace's init." \
	"When it dies it stays a zombie (state Z) until init calls wait(2)." \
	"'sleep' never does: the zombie stays, holding a PID."
show minirun run -d --name "$C3" --network none busybox sleep 300
show minirun exec "$C3" sh -c 'sleep 0.1 &'
sleep 0.5
show minirun exec "$C3" ps -o pid,ppid,stat,comm
show minirun rm -f "$C3"

step "--init: a tiny init as PID 1 that forwards signals and reaps"
say "minirun run --init (docker run --init) bind-mounts minirun's own init as" \
	"PID 1: it forwards signals to your command (PID 2 here, which gets the" \
	"default action: SIGTERM kills it) and reaps every orphan."
show minirun run -d --init --name "$C3" --network none busybox sleep 300
show minirun exec "$C3" sh -c 'sleep 0.1 &'
sleep 0.5
show minirun exec "$C3" ps -o pid,ppid,stat,comm
show_sh "time minirun stop -t 10 $C3"
show_sh "minirun inspect $C3 | jq '.[0].State.ExitCode'"
say "143 = 128+15: sleep died of the SIGTERM that init forwarded, at once."
say "Done. Now run ./check.sh to check your work."
