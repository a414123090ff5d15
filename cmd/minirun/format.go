package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"text/tabwriter"
	"text/template"
	"unicode"

	"github.com/spf13/cobra"
)

// --format, the one implementation every listing and inspect shares, with
// Docker's meaning:
//
//	(empty) or table   the command's own table
//	json               one JSON object per line (inspect: the indented array)
//	table TEMPLATE     a header line, then TEMPLATE per row, tab-aligned
//	TEMPLATE           a Go text/template per row (or per inspected object)
//
// In a template, the two characters \t and \n stand for a tab and a newline
// (Docker's rule), and Docker's functions are there: json, join, split,
// lower, upper, title, pad, truncate, println.

// formatHelp is the --format flag's usage, shared so that the help reads
// the same everywhere.
const formatHelp = `output format: "json", a Go template such as '{{.ID}}', or "table TEMPLATE" (see docs/CLI.md)`

// addFormatFlag adds --format (and -f where short is true, as inspect has).
func addFormatFlag(c *cobra.Command, p *string, short bool) {
	if short {
		c.Flags().StringVarP(p, "format", "f", "", formatHelp)
	} else {
		c.Flags().StringVar(p, "format", "", formatHelp)
	}
	_ = c.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"json", "table"}, cobra.ShellCompDirectiveNoFileComp
	})
}

var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		return strings.TrimSuffix(b.String(), "\n"), nil
	},
	"join":  strings.Join,
	"split": strings.Split,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"title": func(s string) string {
		r := []rune(s)
		if len(r) > 0 {
			r[0] = unicode.ToUpper(r[0])
		}
		return string(r)
	},
	"pad": func(s string, left, right int) string {
		return strings.Repeat(" ", left) + s + strings.Repeat(" ", right)
	},
	"truncate": func(s string, n int) string {
		if r := []rune(s); len(r) > n {
			return string(r[:n])
		}
		return s
	},
	"println": fmt.Sprintln,
}

// parseTemplate parses a --format template (\t, \n as Docker reads them).
func parseTemplate(format string) (*template.Template, error) {
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
	t, err := template.New("format").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return nil, fmt.Errorf("--format: template parsing error: %w", err)
	}
	return t, nil
}

// execTemplate runs t on v; an unknown field is reported with the fields
// there are, so that the user does not have to guess.
func execTemplate(w io.Writer, t *template.Template, v any) error {
	if err := t.Execute(w, v); err != nil {
		if names := fieldNames(v); len(names) > 0 {
			return fmt.Errorf("--format: %w\n(fields: .%s)", err, strings.Join(names, " ."))
		}
		return fmt.Errorf("--format: %w", err)
	}
	return nil
}

// render prints rows as format asks (see the top of this file); table is
// the command's own table, for "" and "table".
func render[T any](format string, rows []T, table func(io.Writer) error) error {
	out := os.Stdout
	switch {
	case format == "" || format == "table":
		return table(out)
	case format == "json":
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	body, isTable := strings.CutPrefix(format, "table ")
	t, err := parseTemplate(strings.TrimSpace(body))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if isTable {
		var zero T
		// The header is the template run on the fields' column names;
		// a template that cannot run on them (functions on values) has none.
		var h bytes.Buffer
		if t.Execute(&h, headers(reflect.TypeOf(zero))) == nil {
			buf.Write(h.Bytes())
			buf.WriteByte('\n')
		}
	}
	for _, r := range rows {
		if err := execTemplate(&buf, t, r); err != nil {
			return err
		}
		buf.WriteByte('\n')
	}
	if !isTable {
		_, err := out.Write(buf.Bytes())
		return err
	}
	w := tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	return w.Flush()
}

// renderOne is render for a single object (version, info): its own text
// for "", the object as indented JSON for "json", else the template.
func renderOne(format string, v any, text func(io.Writer) error) error {
	switch format {
	case "":
		return text(os.Stdout)
	case "json":
		enc := json.NewEncoder(os.Stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
	t, err := parseTemplate(format)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := execTemplate(&buf, t, v); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err = os.Stdout.Write(buf.Bytes())
	return err
}

// headers maps each field of a row type to its column title: the `header`
// tag, else the name in capitals ("RunningFor" -> "RUNNING FOR").
func headers(t reflect.Type) map[string]string {
	out := map[string]string{}
	if t == nil || t.Kind() != reflect.Struct {
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		h := f.Tag.Get("header")
		if h == "" {
			var b strings.Builder
			for j, r := range f.Name {
				if j > 0 && unicode.IsUpper(r) && !unicode.IsUpper(rune(f.Name[j-1])) {
					b.WriteByte(' ')
				}
				b.WriteRune(unicode.ToUpper(r))
			}
			h = b.String()
		}
		out[f.Name] = h
	}
	return out
}

// fieldNames lists what a template can use on v: a struct's exported
// fields, a map's keys.
func fieldNames(v any) []string {
	rv := reflect.Indirect(reflect.ValueOf(v))
	var names []string
	switch rv.Kind() {
	case reflect.Struct:
		for i := 0; i < rv.NumField(); i++ {
			if f := rv.Type().Field(i); f.IsExported() {
				names = append(names, f.Name)
			}
		}
	case reflect.Map:
		for _, k := range rv.MapKeys() {
			names = append(names, fmt.Sprint(k.Interface()))
		}
		sort.Strings(names)
	}
	return names
}

// asJSONValue turns v into what its JSON says (maps, lists, json.Number):
// inspect templates then use the JSON field names, as Docker's do.
func asJSONValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	return out, dec.Decode(&out)
}
