package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/template"

	"github.com/spf13/cobra"
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
// as one indented JSON array, as Docker does (or, with a --format
// template, the template once per object, on its JSON fields), and returns
// the first error (later ones go to stderr).
func inspectEach[T any](format string, refs []string, get func(string) (T, error)) error {
	var tmpl *template.Template
	if format != "" && format != "json" {
		t, err := parseTemplate(format)
		if err != nil {
			return err
		}
		tmpl = t
	}
	out := []T{}
	var first error
	note := func(err error) {
		if first == nil {
			first = err
		} else {
			fmt.Fprintln(os.Stderr, "minirun:", err)
		}
	}
	for _, ref := range refs {
		v, err := get(ref)
		if err != nil {
			note(err)
			continue
		}
		if tmpl == nil {
			out = append(out, v)
			continue
		}
		jv, err := asJSONValue(v)
		if err == nil {
			var b bytes.Buffer
			if err = execTemplate(&b, tmpl, jv); err == nil {
				b.WriteByte('\n')
				_, err = os.Stdout.Write(b.Bytes())
			}
		}
		if err != nil {
			note(err)
		}
	}
	if tmpl != nil {
		return first
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "    ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return err
	}
	return first
}

// inspectCommand completes c as an inspect command: -f/--format, one or
// more references, get on each of them (inspectEach).
func inspectCommand[T any](c *cobra.Command, get func(ref string) (T, error)) *cobra.Command {
	var format string
	c.Args = cobra.MinimumNArgs(1)
	addFormatFlag(c, &format, true)
	c.RunE = func(cmd *cobra.Command, args []string) error { return inspectEach(format, args, get) }
	return c
}
