// Package oci is the boundary between what a person types and what the
// runtime executes: it turns Docker-style options and an image's
// configuration into an OCI runtime-spec config.json
// (github.com/opencontainers/runtime-spec, config.md and config-linux.md).
//
// Everything a container will get is decided here and written down in the
// spec: namespaces, mounts, environment, user, capabilities, masked paths.
// The runtime (package container) then executes that file faithfully and
// decides nothing on its own, so `minirun run --dry-run` shows exactly what
// will happen, and the same bundle can be handed to runc or crun to compare.
// This split is runc's "specconv" and containerd's "oci" package.
//
// Docker's defaults are collected in defaults.go with the reason for each.
package oci
