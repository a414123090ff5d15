package main

import (
	"os"

	"github.com/minirun/minirun/ocicmd"
)

// ANSI colours, used sparingly (the "minirun:" of errors, warnings).
const (
	red    = ocicmd.Red
	yellow = "33"
)

// colour wraps s in an ANSI colour where colours are wanted
// (ocicmd.Colour: a terminal, NO_COLOR empty, TERM not "dumb").
func colour(f *os.File, code, s string) string { return ocicmd.Colour(f, code, s) }

// useColour: f is a terminal, NO_COLOR is empty and TERM is not "dumb".
func useColour(f *os.File) bool { return ocicmd.UseColour(f) }
