package main

import (
	"bytes"
	"strings"
	"testing"
)

// The roff escapes: a line must not start with a request character, a
// backslash is \e, an option's "-" a minus sign (copyable), a word's
// hyphen stays one.
func TestRoffLine(t *testing.T) {
	for in, want := range map[string]string{
		".State.Pid and 'x'":       `\&.State.Pid and 'x'`,
		"'quoted' first":           `\&'quoted' first`,
		`C:\path \n`:               `C:\epath \en`,
		"give -i=false or --rm":    `give \-i=false or \-\-rm`,
		"(--stop-timeout) runc-ok": `(\-\-stop\-timeout) runc-ok`,
		`stdin ("-")`:              `stdin ("\-")`,
		"[a-z_.-]+ 64-hex":         `[a-z_.\-]+ 64-hex`,
		"use `--net=host` here":    `use \fB\-\-net=host\fR here`,
		"an unpaired ` stays":      "an unpaired ` stays",
	} {
		if got := roffLine(in); got != want {
			t.Errorf("roffLine(%q) = %q, want %q", in, got, want)
		}
	}
	if got, want := roffCode(`.x -a 'b\t'`), `\&.x \-a 'b\et'`; got != want {
		t.Errorf("roffCode = %q, want %q", got, want)
	}
}

// manText turns a Long text's paragraphs, indented blocks, headings and
// lists into man(7) requests.
func TestManText(t *testing.T) {
	var b bytes.Buffer
	manText(&b, `First paragraph,
two lines.

  sudo minirun run busybox
    indented more

#### Linux:

	a literal
- one item
  continued
- two
1. first

.Last paragraph.
`)
	want := `First paragraph,
two lines.
.PP
.RS 4
.EX
sudo minirun run busybox
  indented more
.EE
.RE
.nh
.SS Linux:
.RS 4
.EX
a literal
.EE
.RE
.nh
.IP \(bu 2
one item
continued
.IP \(bu 2
two
.IP 1. 4
first
.PP
\&.Last paragraph.
`
	if got := b.String(); got != want {
		t.Errorf("manText:\n%s\nwant:\n%s", got, want)
	}
}

// A page has the sections a man page reader expects, in order.
func TestManPageSections(t *testing.T) {
	root := cleanRoot(t)
	run, _, err := root.Find([]string{"run"})
	if err != nil {
		t.Fatal(err)
	}
	page := string(manPage(run))
	last := -1
	for _, s := range []string{
		`.TH "MINIRUN\-RUN" "1" "Jan 2026"`, ".SH NAME\nminirun\\-run \\- ", ".SH SYNOPSIS\n\\fBminirun run ",
		".SH DESCRIPTION\n", ".SH OPTIONS\n.TP\n", `\fB\-\-rm\fR[=false]`,
		".SH OPTIONS INHERITED FROM PARENT COMMANDS\n", `\fB\-\-root\fR="/run/minirun"`,
		".SH EXAMPLE\n.RS 4\n.EX\nsudo minirun run busybox sh\n", ".SH SEE ALSO\n\\fBminirun\\fR(1)\n",
	} {
		i := strings.Index(page, s)
		if i < 0 {
			t.Fatalf("minirun-run.1 has no %q:\n%s", s, page)
		}
		if i < last {
			t.Errorf("minirun-run.1: %q is out of order", s)
		}
		last = i
	}
	if strings.Contains(page, "\n\n") {
		t.Error("minirun-run.1 has a blank line (a vertical space in roff)")
	}
}
