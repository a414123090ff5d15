package image

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress prints how a pull is going, one line per layer, as `docker pull`
// does. Create it with NewProgress and pass it as PullOptions.Progress.
//
// On a terminal (tty true) every layer keeps one line that is redrawn in
// place with ANSI escape sequences (cursor up, clear line):
//
//	latest: Pulling from library/busybox
//	a3ed95caeb02: Downloading  1.2MB/2.8MB  3.1MB/s
//	9d16cba9fb96: Pull complete
//
// Elsewhere (a log file, a pipe) only finished layers are printed, one plain
// line each:
//
//	a3ed95caeb02: Pull complete (2.8MB)
//	9d16cba9fb96: Already exists
//
// The caller decides which form fits, for example with
// term.IsTerminal(int(os.Stdout.Fd())). A nil *Progress prints nothing.
// A Progress may be used by several goroutines at once.
type Progress struct {
	mu  sync.Mutex
	w   io.Writer
	tty bool
	// rows counts the lines written so far (terminal form): the cursor
	// sits at the start of line number rows, just below the last one.
	rows int
	now  func() time.Time
}

// NewProgress returns a Progress writing to w, in terminal form if tty.
func NewProgress(w io.Writer, tty bool) *Progress {
	return &Progress{w: w, tty: tty, now: time.Now}
}

// redrawInterval limits how often a downloading layer's line is redrawn.
const redrawInterval = 100 * time.Millisecond

// progressFor turns PullOptions.Progress into a *Progress: nil stays nil
// (silent), a *Progress is used as it is, any other writer gets the plain
// form.
func progressFor(w io.Writer) *Progress {
	switch w := w.(type) {
	case nil:
		return nil
	case *Progress:
		return w
	default:
		return NewProgress(w, false)
	}
}

// Write prints free text (warnings, messages) between the progress lines.
// It makes *Progress an io.Writer, so it fits PullOptions.Progress.
func (p *Progress) Write(b []byte) (int, error) {
	if p == nil {
		return len(b), nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n, err := p.w.Write(b)
	p.rows += bytes.Count(b[:n], []byte("\n"))
	return n, err
}

// printf prints one line.
func (p *Progress) printf(format string, a ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", a...)
	p.rows++
}

// layerProgress is the line of one layer.
type layerProgress struct {
	p        *Progress
	id       string // short blob digest, as docker shows it
	row      int    // terminal form: the line this layer owns
	total    int64  // size of the compressed blob, from the manifest
	current  int64  // bytes downloaded so far
	started  time.Time
	lastDraw time.Time
}

// layer adds the line for a layer of the given (compressed) size.
func (p *Progress) layer(id string, total int64) *layerProgress {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	lp := &layerProgress{p: p, id: id, total: total, row: p.rows}
	if p.tty {
		fmt.Fprintf(p.w, "%s: Pulling fs layer\n", id)
		p.rows++
	}
	return lp
}

// add records n more downloaded bytes.
func (lp *layerProgress) add(n int) {
	if lp == nil {
		return
	}
	lp.p.mu.Lock()
	defer lp.p.mu.Unlock()
	now := lp.p.now()
	if lp.started.IsZero() {
		lp.started = now
	}
	lp.current += int64(n)
	if !lp.p.tty || now.Sub(lp.lastDraw) < redrawInterval {
		return
	}
	lp.lastDraw = now
	line := "Downloading  "
	if lp.total > 0 {
		line += bar(lp.current, lp.total) + "  "
	}
	line += humanSize(lp.current)
	if lp.total > 0 {
		line += "/" + humanSize(lp.total)
	}
	if secs := now.Sub(lp.started).Seconds(); secs > 0 {
		line += "  " + humanSize(int64(float64(lp.current)/secs)) + "/s"
	}
	lp.redraw(line)
}

// bar draws docker pull's progress bar: [=========>          ]
func bar(cur, total int64) string {
	const width = 30
	n := int(cur * width / total)
	if n > width {
		n = width
	}
	s := strings.Repeat("=", n)
	if n < width {
		s += ">" + strings.Repeat(" ", width-n-1)
	}
	return "[" + s + "]"
}

// status shows a new state (terminal form only), e.g. "Extracting".
func (lp *layerProgress) status(s string) {
	if lp == nil {
		return
	}
	lp.p.mu.Lock()
	defer lp.p.mu.Unlock()
	if lp.p.tty {
		lp.redraw(s)
	}
}

// complete marks a layer downloaded and unpacked.
func (lp *layerProgress) complete() {
	lp.finish("Pull complete", " ("+humanSize(lp.totalOrCurrent())+")")
}

// exists marks a layer the store already had.
func (lp *layerProgress) exists() {
	lp.finish("Already exists", "")
}

func (lp *layerProgress) totalOrCurrent() int64 {
	if lp == nil {
		return 0
	}
	if lp.total > 0 {
		return lp.total
	}
	return lp.current
}

// finish shows the final state: redrawn on a terminal, printed (with
// detail) otherwise.
func (lp *layerProgress) finish(s, detail string) {
	if lp == nil {
		return
	}
	lp.p.mu.Lock()
	defer lp.p.mu.Unlock()
	if lp.p.tty {
		lp.redraw(s)
		return
	}
	fmt.Fprintf(lp.p.w, "%s: %s%s\n", lp.id, s, detail)
	lp.p.rows++
}

// redraw replaces the layer's line: move the cursor up to it, clear it,
// write it, and move back down. The caller holds lp.p.mu.
func (lp *layerProgress) redraw(s string) {
	up := lp.p.rows - lp.row // >= 1: the layer's line is above the cursor
	fmt.Fprintf(lp.p.w, "\x1b[%dA\r\x1b[2K%s: %s\r\x1b[%dB", up, lp.id, s, up)
}

// humanSize formats a byte count the way docker does, in decimal units:
// 512B, 1.2kB, 2.8MB, 1.1GB.
func humanSize(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%dB", n)
	}
	f := float64(n) / 1000
	units := []string{"kB", "MB", "GB", "TB"}
	i := 0
	// 999.95 would print as "1000.0": go up a unit from there.
	for f >= 999.95 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.1f%s", f, units[i])
}
