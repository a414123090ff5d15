package atomicfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// WriteFile gives path the content data (a new file gets perm): written to
// path+".tmp", then put in place by Replace.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := writeNew(tmp, data, perm, 0); err != nil {
		return err
	}
	return Replace(tmp, path)
}

// Create makes path with the content data, failing (os.ErrExist) if it
// exists: the first version of a file whose creation claims a name (a
// container's state.json), which no one reads or writes before it is.
func Create(path string, data []byte, perm os.FileMode) error {
	return writeNew(path, data, perm, unix.O_EXCL)
}

// writeNew is os.WriteFile with plain system calls: os.File would first
// try the file with the Go runtime's network poller and switch it to
// non-blocking mode and back, five system calls a regular file never needs.
func writeNew(path string, data []byte, perm os.FileMode, excl int) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC|excl, uint32(perm.Perm()))
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	for len(data) > 0 && err == nil {
		var n int
		if n, err = unix.Write(fd, data); err == nil {
			data = data[n:]
		} else if err == unix.EINTR {
			err = nil
		}
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return &os.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

// Replace puts the file tmp in place of path in one atomic step, and tmp
// is gone afterwards: the two names are exchanged and tmp (the old
// content now) removed, or, where path does not exist yet or the
// filesystem cannot exchange, tmp is renamed.
func Replace(tmp, path string) error {
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE)
	if err == nil {
		if err := unix.Unlink(tmp); err != nil {
			return &os.PathError{Op: "remove", Path: tmp, Err: err}
		}
		return nil
	}
	// ENOENT: no path yet; EINVAL: a filesystem without exchange.
	return os.Rename(tmp, path)
}
