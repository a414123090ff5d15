#!/usr/bin/env bash
# Lab 07: what an image is (a manifest, a config, layer tarballs, all named
# by digest), and how it travels: save, push to a registry on loopback, pull.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
# shellcheck source=reg.sh
. "$here/reg.sh"
need_busybox
need_tools jq tar sha256sum
tmpdir
cd "$TMP"

step "the local store"
show minirun images
show_sh "minirun image inspect busybox | jq '.[0] | {Id, RepoTags, Config: .Config.Cmd, RootFS}'"
say "Id is the digest (sha256) of the image's config; RootFS.Layers lists the" \
	"layers' diff IDs, the digests of their *uncompressed* tars."

step "an image as files: minirun save"
show minirun save -o busybox.tar busybox
show tar -tvf busybox.tar
say "An OCI image layout (oci-layout, index.json, blobs/sha256/...) plus" \
	"Docker's manifest.json, so that both 'docker load' and OCI tools read it."
show mkdir img
show tar -xf busybox.tar -C img
show_sh "jq . img/index.json"
MANIFEST=$(jq -r '.manifests[0].digest' img/index.json | cut -d: -f2)
show_sh "jq . img/blobs/sha256/$MANIFEST"
CONFIG=$(jq -r '.config.digest' "img/blobs/sha256/$MANIFEST" | cut -d: -f2)
LAYER=$(jq -r '.layers[0].digest' "img/blobs/sha256/$MANIFEST" | cut -d: -f2)
show_sh "jq '{architecture, os, config: .config.Cmd, rootfs}' img/blobs/sha256/$CONFIG"
say "Every blob is named by the sha256 of its bytes: content addressing. Check:"
show_sh "sha256sum img/blobs/sha256/$LAYER"
say "The layer is a gzip'ed tar; its diff ID (in the config) is the digest of" \
	"the tar before compression:"
show_sh "gunzip -c img/blobs/sha256/$LAYER | sha256sum"
show_sh "gunzip -c img/blobs/sha256/$LAYER | tar -tv | head -n 5"

step "a registry on loopback"
say "A registry is an HTTP API (the OCI distribution spec): blobs and manifests" \
	"under /v2/<repository>/. registry.go runs go-containerregistry's" \
	"in-memory registry on 127.0.0.1 and pushes like 'docker push' does."
start_registry
say "The registry listens on $REG."
show "$TMP/registry" push busybox.tar "$REG/lab/busybox:1"
show http_get "${REG%:*}" "${REG#*:}" /v2/_catalog
echo
show http_get "${REG%:*}" "${REG#*:}" /v2/lab/busybox/tags/list
echo
show_sh "curl -s http://$REG/v2/lab/busybox/manifests/1 2>/dev/null | jq . || true"

step "pull it back"
say "A pull fetches the manifest, then every blob it names that the store does" \
	"not have. minirun already has this layer (same digest): nothing to download." \
	"Plain HTTP is allowed for localhost (elsewhere: --insecure)."
show minirun pull "$REG/lab/busybox:1"
show minirun images
show minirun run --rm --network none "$REG/lab/busybox:1" echo "hello from a pulled image"
show minirun rmi "$REG/lab/busybox:1"
say "rmi removed the name; the layer stays, busybox:latest still uses it."
say "Done. Now run ./check.sh to check your work."
