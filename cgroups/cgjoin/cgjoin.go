//go:build cgo

package cgjoin

// #include <stdlib.h>
// extern char cgjoin_error[256];
import "C"

import "errors"

// Enabled tells whether this binary has the constructor: it has, it was
// built with cgo.
const Enabled = true

// Err is the constructor's first failure to move this process, nil if it
// moved it into every cgroup it was given (or was given none).
func Err() error {
	if s := C.GoString(&C.cgjoin_error[0]); s != "" {
		return errors.New(s)
	}
	return nil
}
