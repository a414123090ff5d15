# shellcheck shell=bash disable=SC2034 # (REG is for the scripts)
# Lab 07's helpers (sourced after lib.sh and tmpdir): the lab's registry.

# start_registry: builds registry.go into $TMP (Go from PATH or
# /usr/local/go/bin), starts `registry serve` on 127.0.0.1 and sets
# REG=127.0.0.1:PORT; the registry is killed (by PID) at exit. Skips the lab
# without Go.
start_registry() {
	local go port='' i
	go=$(command -v go || true)
	[[ -n $go || ! -x /usr/local/go/bin/go ]] || go=/usr/local/go/bin/go
	[[ -n $go ]] || skip "Go is needed to build the lab's registry (registry.go); add /usr/local/go/bin to PATH"
	(cd "$REPO" && "$go" build -o "$TMP/registry" examples/07-images-registry/registry.go) || die "go build of registry.go failed"
	"$TMP/registry" serve >"$TMP/port" 2>"$TMP/registry.log" &
	REG_PID=$!
	cleanup "kill $REG_PID; wait $REG_PID"
	for ((i = 0; i < 50; i++)); do
		port=$(cat "$TMP/port")
		[[ -z $port ]] || break
		sleep 0.1
	done
	[[ $port =~ ^[0-9]+$ ]] || die "the registry did not start: $(cat "$TMP/registry.log")"
	REG=127.0.0.1:$port
}
