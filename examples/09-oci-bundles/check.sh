#!/usr/bin/env bash
# Lab 09, check your work: the OCI lifecycle under minirun, and the same
# bundle giving the same process under runc.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
tmpdir
B=$TMP/bundle ID=lab09c-$$ RID=lab09crunc-$$ RUNC_ROOT=$TMP/runc-state
mkdir -p "$B/rootfs"
"$REPO/scripts/busybox-rootfs.sh" | tar -x -C "$B/rootfs"
minirun spec --bundle "$B"
check "minirun spec wrote a config.json" jq -e '.ociVersion and .process and .root.path == "rootfs"' "$B/config.json"
jq ".process.terminal = false | .process.args = [\"sleep\", \"300\"] | .hostname = \"lab09\" | .linux.cgroupsPath = \"lab09c-$$/c\"" "$B/config.json" >"$B/c.json"
mv "$B/c.json" "$B/config.json"

cleanup "rm_cgroups lab09c-$$"
cleanup "\"$MINIRUN\" delete --force $ID"
minirun create --bundle "$B" "$ID"
check_eq "create: status created" "$(minirun state "$ID" | jq -r .status)" created
pid=$(minirun state "$ID" | jq -r .pid)
check_no_match "create: the process is not sleep yet" "$(tr '\0' ' ' <"/proc/$pid/cmdline")" '^sleep'
check_no_match "create: it is in a new PID namespace" "$(readlink "/proc/$pid/ns/pid")" "^$(readlink /proc/self/ns/pid | sed 's/[][]/\\&/g')$"
minirun start "$ID"
check_eq "start: status running" "$(minirun state "$ID" | jq -r .status)" running
check_eq "start: the same PID now runs sleep" "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "sleep 300 "
minirun kill "$ID" KILL
for _ in 1 2 3 4 5 6 7 8 9 10; do [[ $(minirun state "$ID" | jq -r .status) == stopped ]] && break; sleep 0.2; done
check_eq "kill KILL: status stopped" "$(minirun state "$ID" | jq -r .status)" stopped
minirun delete "$ID"
check "delete: the state is gone" sh -c "! \"$MINIRUN\" state $ID >/dev/null 2>&1"

jq '.process.args = ["sh", "-c", "hostname; echo pid $$; grep -E \"^(CapEff|CapBnd|Seccomp|NoNewPrivs):\" /proc/self/status"]' "$B/config.json" >"$B/c.json"
mv "$B/c.json" "$B/config.json"
mine=$(minirun run --bundle "$B" "$ID" 2>&1)
check_match "minirun run --bundle: the hostname and PID 1 of config.json" "$mine" '^lab09$'
check_match "minirun run --bundle: PID 1" "$mine" '^pid 1$'
if command -v runc >/dev/null; then
	cleanup "runc --root $RUNC_ROOT delete --force $RID"
	theirs=$(runc --root "$RUNC_ROOT" run --bundle "$B" "$RID" 2>&1)
	check_eq "runc run of the same bundle: the same hostname, PID, capabilities, seccomp, no_new_privs" "$theirs" "$mine"
else
	echo "SKIP the runc comparison: runc is not installed"
fi
finish
