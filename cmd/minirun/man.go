package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The man pages are written here, in roff with the man(7) macros, rather
// than by github.com/spf13/cobra/doc: that package (and the Markdown
// engine and YAML library it links) would be initialised by every minirun
// process, the container's init included, for the sake of this one hidden
// command (issue 10).

// manDate is the date in the man pages' headers: fixed, so that the
// pages are the same wherever and whenever they are generated (the golden
// files, `make install`).
var manDate = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// writeManPages writes one man page per command (minirun.1,
// minirun-run.1, minirun-network-create.1...) into dir, from the same
// command definitions as --help and the completion scripts.
func writeManPages(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var write func(c *cobra.Command) error
	write = func(c *cobra.Command) error {
		for _, s := range manSubcommands(c) {
			if err := write(s); err != nil {
				return err
			}
		}
		return os.WriteFile(filepath.Join(dir, manName(c)+".1"), manPage(c), 0o644)
	}
	return write(root)
}

// newManCommand is the hidden `minirun __man DIR` that `make man` and
// `make install` run.
func newManCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "__man DIR",
		Short:  "Write the man pages into DIR (make man, make install)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeManPages(cmd.Root(), args[0])
		},
	}
}

// manName is a command's page name: "minirun network create" is
// minirun-network-create.
func manName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "-")
}

// manSubcommands are the subcommands that get a page: not the hidden
// ones, not help.
func manSubcommands(c *cobra.Command) []*cobra.Command {
	var subs []*cobra.Command
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() && !s.IsAdditionalHelpTopicCommand() {
			subs = append(subs, s)
		}
	}
	return subs
}

// manPage is c's man page: NAME, SYNOPSIS, DESCRIPTION, OPTIONS, OPTIONS
// INHERITED FROM PARENT COMMANDS, EXAMPLE, SEE ALSO.
func manPage(c *cobra.Command) []byte {
	c.InitDefaultHelpFlag() // -h, --help is listed as --help lists it
	var b bytes.Buffer
	name := manName(c)
	// .nh (no hyphenation) after .TH, which turns hyphenation back on.
	b.WriteString(".TH \"" + roffCode(strings.ToUpper(name)) + "\" \"1\" \"" + manDate.Format("Jan 2006") + "\" \"minirun\" \"minirun manual\"\n.nh\n")
	b.WriteString(".SH NAME\n" + roffCode(name) + ` \- ` + roffLine(c.Short) + "\n")
	b.WriteString(".SH SYNOPSIS\n" + `\fB` + roffCode(c.UseLine()) + `\fR` + "\n")
	b.WriteString(".SH DESCRIPTION\n")
	if c.Long != "" {
		manText(&b, c.Long)
	} else {
		manText(&b, c.Short)
	}
	if flags := c.NonInheritedFlags(); flags.HasAvailableFlags() {
		b.WriteString(".SH OPTIONS\n")
		manFlags(&b, flags)
	}
	if flags := c.InheritedFlags(); flags.HasAvailableFlags() {
		b.WriteString(".SH OPTIONS INHERITED FROM PARENT COMMANDS\n")
		manFlags(&b, flags)
	}
	if c.Example != "" {
		b.WriteString(".SH EXAMPLE\n")
		manLiteral(&b, strings.Split(strings.TrimRight(c.Example, "\n"), "\n"))
	}
	var also []string
	if c.HasParent() {
		also = append(also, manName(c.Parent()))
	}
	for _, s := range manSubcommands(c) {
		also = append(also, manName(s))
	}
	if len(also) > 0 {
		b.WriteString(".SH SEE ALSO\n")
		for i, a := range also {
			b.WriteString(`\fB` + roffCode(a) + `\fR(1)`)
			if i < len(also)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
	}
	return b.Bytes()
}

// manFlags lists flags as --help does (sorted, hidden and deprecated
// ones left out), one tagged paragraph each:
// "-b, --bundle=""" then its description.
func manFlags(b *bytes.Buffer, flags *pflag.FlagSet) {
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Deprecated != "" {
			return
		}
		b.WriteString(".TP\n")
		if f.Shorthand != "" && f.ShorthandDeprecated == "" {
			b.WriteString(`\fB\-` + roffCode(f.Shorthand) + `\fR, `)
		}
		b.WriteString(`\fB\-\-` + roffCode(f.Name) + `\fR`)
		def := f.DefValue
		if f.Value.Type() == "string" {
			def = strconv.Quote(def)
		}
		if f.NoOptDefVal != "" {
			b.WriteString("[=" + roffCode(def) + "]\n")
		} else {
			b.WriteString("=" + roffCode(def) + "\n")
		}
		for _, l := range strings.Split(strings.TrimSpace(f.Usage), "\n") {
			b.WriteString(roffLine(strings.TrimSpace(l)) + "\n")
		}
	})
}

// manText renders a command's Long text, which is written for a terminal
// with a little Markdown: paragraphs separated by blank lines (filled by
// man), indented lines (kept as they are, as a literal block), "# "
// headings, "- " or "1. " list items and `code`.
func manText(b *bytes.Buffer, text string) {
	const (
		none = iota
		para
		item
		literal
	)
	state, first := none, true
	var lit []string
	// start begins a new block: a paragraph break unless it is the
	// section's first.
	start := func() {
		if !first {
			b.WriteString(".PP\n")
		}
		first = false
	}
	flush := func() {
		if len(lit) > 0 {
			start()
			manLiteral(b, lit)
			lit = nil
		}
	}
	for _, l := range strings.Split(strings.Trim(text, "\n"), "\n") {
		l = strings.TrimRight(l, " \t")
		trimmed := strings.TrimLeft(l, " \t")
		indented := trimmed != l
		switch {
		case l == "":
			flush()
			state = none
		case !indented && strings.HasPrefix(strings.TrimLeft(l, "#"), " ") && l[0] == '#':
			flush()
			b.WriteString(".SS " + roffLine(strings.TrimSpace(strings.TrimLeft(l, "#"))) + "\n")
			first, state = true, none
		case !indented && listItem(l) != "":
			flush()
			mark := listItem(l)
			if mark == "-" || mark == "*" {
				b.WriteString(`.IP \(bu 2` + "\n")
			} else {
				b.WriteString(".IP " + mark + " 4\n")
			}
			b.WriteString(roffLine(strings.TrimSpace(l[len(mark):])) + "\n")
			first, state = false, item
		case indented && state != item:
			lit = append(lit, l)
			state = literal
		default: // a line of a paragraph or of a list item
			if state == literal {
				flush()
			}
			if state == none || state == literal {
				start()
				state = para
			}
			b.WriteString(roffLine(trimmed) + "\n")
		}
	}
	flush()
}

// listItem is the mark of a list item line ("-", "*", "1.", "2)"), or "".
func listItem(l string) string {
	if strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* ") {
		return l[:1]
	}
	i := 0
	for i < len(l) && i < 3 && l[i] >= '0' && l[i] <= '9' {
		i++
	}
	if i > 0 && i+1 < len(l) && (l[i] == '.' || l[i] == ')') && l[i+1] == ' ' {
		return l[:i+1]
	}
	return ""
}

// manLiteral writes lines as an indented literal block (an example, a
// command line), without their common indentation.
func manLiteral(b *bytes.Buffer, lines []string) {
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	b.WriteString(".RS 4\n.EX\n")
	for _, l := range lines {
		if len(l) >= indent && indent > 0 {
			l = l[indent:]
		}
		b.WriteString(roffCode(strings.TrimRight(l, " \t")) + "\n")
	}
	b.WriteString(".EE\n.RE\n.nh\n") // .EE turns hyphenation back on
}

// roffCode escapes literal text (a command line, an option): every "-" is
// a minus sign (\-), which man keeps an ASCII "-" that can be copied and
// pasted, not a typographic hyphen.
func roffCode(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	return roffLineStart(s)
}

// roffLine escapes one line of prose: `code` is in bold, a "-" that starts
// a word (-i, --rootfs, "-") is a minus sign, one inside a word
// (runc-compatible) a hyphen.
func roffLine(s string) string {
	parts := strings.Split(s, "`")
	var out strings.Builder
	for i, p := range parts {
		switch {
		case i%2 == 1 && i < len(parts)-1:
			out.WriteString(`\fB` + roffCode(p) + `\fR`)
		case i%2 == 1: // an unpaired backquote
			out.WriteString("`" + roffWords(p))
		default:
			out.WriteString(roffWords(p))
		}
	}
	return roffLineStart(out.String())
}

// roffWords escapes backslashes and hyphens of prose, word by word.
func roffWords(s string) string {
	var out strings.Builder
	word := 0 // where the current word starts
	for i, r := range s {
		switch {
		case unicode.IsSpace(r):
			word = i + 1
			out.WriteRune(r)
		case r == '\\':
			out.WriteString(`\e`)
		case r == '-':
			option := strings.HasPrefix(strings.TrimLeft(s[word:], `("'[{`), "-")
			between := i > 0 && i+1 < len(s) && isWordByte(s[i-1]) && isWordByte(s[i+1])
			if option || !between {
				out.WriteString(`\-`)
			} else {
				out.WriteRune(r)
			}
		default:
			out.WriteRune(r)
		}
	}
	return out.String()
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// roffLineStart keeps a line that starts with "." or "'" (".State.Pid")
// from being read as a roff request.
func roffLineStart(s string) string {
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		return `\&` + s
	}
	return s
}
