package atomicfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// WriteFile gives path the content data (a new file gets perm): written to
// path+".tmp", then put in place by Replace.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	return Replace(tmp, path)
}

// Replace puts the file tmp in place of path in one atomic step, and tmp
// is gone afterwards: the two names are exchanged and tmp (the old
// content now) removed, or, where path does not exist yet or the
// filesystem cannot exchange, tmp is renamed.
func Replace(tmp, path string) error {
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE)
	if err == nil {
		return os.Remove(tmp)
	}
	// ENOENT: no path yet; EINVAL: a filesystem without exchange.
	return os.Rename(tmp, path)
}
