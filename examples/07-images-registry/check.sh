#!/usr/bin/env bash
# Lab 07, check your work: digests match contents; push and pull round-trip.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
# shellcheck source=reg.sh
. "$here/reg.sh"
need_busybox
tmpdir
cd "$TMP"
minirun save -o busybox.tar busybox
mkdir img && tar -xf busybox.tar -C img
check "the archive is an OCI image layout" test -f img/oci-layout -a -f img/index.json
check "and has Docker's manifest.json" test -f img/manifest.json
m=$(jq -r '.manifests[0].digest' img/index.json | cut -d: -f2)
cfg=$(jq -r '.config.digest' "img/blobs/sha256/$m" | cut -d: -f2)
layer=$(jq -r '.layers[0].digest' "img/blobs/sha256/$m" | cut -d: -f2)
bad=0
for b in img/blobs/sha256/*; do [[ $(sha256sum <"$b" | cut -d' ' -f1) == "${b##*/}" ]] || bad=$((bad + 1)); done
check_eq "every blob's name is the sha256 of its content" "$bad" 0
check_eq "the image ID is the config's digest" "$(minirun image inspect busybox | jq -r '.[0].Id')" "sha256:$cfg"
check_eq "the config's diff_id is the digest of the uncompressed layer" \
	"$(jq -r '.rootfs.diff_ids[0]' "img/blobs/sha256/$cfg")" "sha256:$(gunzip -c "img/blobs/sha256/$layer" | sha256sum | cut -d' ' -f1)"

start_registry
ref=$REG/labcheck/busybox:$$
check "push to the loopback registry" "$TMP/registry" push busybox.tar "$ref"
check_match "the registry lists the repository" "$(http_get "${REG%:*}" "${REG#*:}" /v2/_catalog)" '"labcheck/busybox"'
cleanup "\"$MINIRUN\" rmi $ref"
check "minirun pull from it" minirun pull -q "$ref"
check_eq "the pulled image has the same ID" "$(minirun image inspect "$ref" | jq -r '.[0].Id')" "sha256:$cfg"
check_eq "and runs" "$(minirun run --rm --network none "$ref" echo pulled 2>&1)" pulled
check "rmi of the pulled name" minirun rmi "$ref"
check "busybox:latest is still there" minirun image inspect busybox:latest
finish
