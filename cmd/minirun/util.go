package main

import (
	"encoding/json"
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

// inspectEach is every `inspect`: it looks up each ref, prints those found
// as one indented JSON array, as Docker does, and returns the first error
// (later ones go to stderr).
func inspectEach[T any](refs []string, get func(string) (T, error)) error {
	out := []T{}
	var first error
	for _, ref := range refs {
		v, err := get(ref)
		if err != nil {
			if first == nil {
				first = err
			} else {
				fmt.Fprintln(os.Stderr, "minirun:", err)
			}
			continue
		}
		out = append(out, v)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "    ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return err
	}
	return first
}
