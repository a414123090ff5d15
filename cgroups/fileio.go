package cgroups

import (
	"os"

	"golang.org/x/sys/unix"
)

// Cgroup files are read and written with plain open(2), read(2), write(2)
// and close(2). os.File would first try to register each one with the Go
// runtime's network poller (the kernel's cgroup files can be polled, so it
// succeeds) and switch it to non-blocking mode and back: five more system
// calls per file, and a start touches some forty of them.

// openFile opens a cgroup file for flags; the error is an *os.PathError,
// so errors.Is(err, os.ErrNotExist) and the like work.
func openFile(path string, flags int) (int, error) {
	for {
		fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

// writeFD writes value in one write(2), which is how the kernel takes a
// cgroup file's value (one rule, one limit).
func writeFD(fd int, path, value string) error {
	for {
		_, err := unix.Write(fd, []byte(value))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "write", Path: path, Err: err}
		}
		return nil
	}
}

// writeValue opens path, writes value, closes it.
func writeValue(path, value string) error {
	fd, err := openFile(path, unix.O_WRONLY)
	if err != nil {
		return err
	}
	err = writeFD(fd, path, value)
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		err = &os.PathError{Op: "close", Path: path, Err: cerr}
	}
	return err
}

// readValue reads a whole cgroup file.
func readValue(path string) ([]byte, error) {
	fd, err := openFile(path, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	b := make([]byte, 0, 512)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := unix.Read(fd, b[len(b):cap(b)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
	}
}
