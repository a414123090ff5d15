package main

import "os"

// ANSI colours, used sparingly (the "minirun:" of errors, warnings).
const (
	red    = "31"
	yellow = "33"
)

// colour wraps s in an ANSI colour when f is a terminal, NO_COLOR is
// empty (https://no-color.org) and TERM is not "dumb": pipes, files and
// labs diffing output get plain text.
func colour(f *os.File, code, s string) string {
	if !useColour(f) {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// useColour: f is a terminal, NO_COLOR is empty and TERM is not "dumb".
func useColour(f *os.File) bool {
	return os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb" && isTerminal(f)
}
