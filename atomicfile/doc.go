// Package atomicfile replaces the content of a small file in one step, so
// that a reader sees the old content or the new, never a part of either:
// minirun's state files (state.json, run.json, the network table) are read
// by other minirun processes at any moment.
//
// The classic way is to write the new content to a temporary file beside
// the old one and rename(2) it over the old: a rename within one directory
// is atomic. On ext4, though, renaming a file over an existing one makes
// the kernel write the new file's data to the disk at once (the mount
// option auto_da_alloc, on by default: it saves applications that skip
// fsync from finding empty files after a crash), and that block write was
// measured on every state save of every container start. renameat2(2) with
// RENAME_EXCHANGE swaps the two names instead, just as atomically; ext4
// does not flush on an exchange, and the temporary name, which then holds
// the old content, is removed. Where the file does not exist yet (or the
// filesystem cannot exchange) a plain rename does it.
//
// The temporary name is fixed (path+".tmp"), so that whoever removes a
// container's files knows every name there can be; it also means one
// writer at a time per file: the callers write a file they own, or hold a
// lock (image/store.go, whose index several pulls may write at once
// without one, keeps its own unique temporary names).
//
// What these files hold does not outlive a reboot (containers do not), so
// nothing here asks for durability (no fsync).
//
// See man 2 rename (RENAME_EXCHANGE), man 5 ext4 (auto_da_alloc).
package atomicfile
