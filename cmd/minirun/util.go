package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }

// readAllTrim reads r to the end and drops the trailing newline.
func readAllTrim(r io.Reader) (string, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
