//go:build !cgo

package monitor

// Enabled is false without cgo: such a binary has no monitor for `run -d`.
const Enabled = false
