//go:build cgo

package cgjoin

// #include <stdlib.h>
// extern char cgjoin_error[256];
// extern int cgjoin_count;
import "C"

import (
	"errors"
	"fmt"
)

// Enabled tells whether this binary has the constructor: it has, it was
// built with cgo.
const Enabled = true

// Err is the constructor's first failure to move this process, nil if it
// moved it into every one of the want cgroups it was given (want 0: none
// given, nothing to check).
func Err(want int) error {
	if s := C.GoString(&C.cgjoin_error[0]); s != "" {
		return errors.New(s)
	}
	if n := int(C.cgjoin_count); n != want {
		return fmt.Errorf("moved into %d of %d cgroup hierarchies before Go started", n, want)
	}
	return nil
}
