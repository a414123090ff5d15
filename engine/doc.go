// Package engine is the Docker-like layer above the runtime: it turns
// `minirun run IMAGE CMD` into an OCI bundle and drives it through the
// runtime's lifecycle (package container), the way dockerd and containerd
// drive runc.
//
// For one `run` it:
//  1. finds the image in the local store (package image);
//  2. mounts the image's layers with a fresh upper directory as overlayfs
//     at <state root>/<id>/rootfs (package rootfs); with --userns=auto it
//     first takes a free block of the subordinate IDs of user "containers"
//     (userns.go, package idmap) and mounts the layers idmapped into it;
//  3. writes /etc/hosts, /etc/hostname and /etc/resolv.conf for the
//     container and resolves -u against the image's /etc/passwd;
//  4. builds config.json (package oci) and writes it into the bundle;
//  5. create, start, wait, with signals forwarded and, with -t, a pty
//     whose master it copies to and from the terminal;
//  6. tears down: runtime state, overlay mount, and with --rm the
//     container's directories.
//
// Nothing here makes a system call of its own beyond files and the
// terminal: every Linux primitive lives in the packages below.
package engine
