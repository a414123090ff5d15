package engine

// Container logs in Docker's json-file format: one JSON object per line,
//
//	{"log":"hello\n","stream":"stdout","time":"2026-12-04T17:00:00.123456789Z"}
//
// written by the container's monitor (monitor/monitor.c) from the pipes
// (or the pty) that are the container's stdout and stderr. When the file reaches max-size it is
// renamed to <file>.1 (the older ones shift to .2, ...), and at most
// max-file files are kept: a chatty container cannot fill the disk.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Default log rotation (--log-opt max-size / max-file).
const (
	defaultLogMaxSize  = 10 << 20
	defaultLogMaxFiles = 3
)

// logEntry is one line of the log file.
type logEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

func (e *Engine) logPath(id string) string {
	return filepath.Join(e.containerDataDir(id), id+"-json.log")
}

// parseLogOpts reads --log-opt max-size=10m and max-file=3.
func parseLogOpts(opts []string) (maxSize int64, maxFiles int, err error) {
	for _, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			return 0, 0, fmt.Errorf("invalid --log-opt %q: want KEY=VALUE", o)
		}
		switch k {
		case "max-size":
			if maxSize, err = parseSize(v); err != nil || maxSize <= 0 {
				return 0, 0, fmt.Errorf("invalid --log-opt max-size=%s: want a size such as 10m", v)
			}
		case "max-file":
			if maxFiles, err = strconv.Atoi(v); err != nil || maxFiles < 1 {
				return 0, 0, fmt.Errorf("invalid --log-opt max-file=%s: want a number of at least 1", v)
			}
		default:
			return 0, 0, fmt.Errorf("unknown --log-opt %q: minirun's json-file log knows max-size and max-file", k)
		}
	}
	return maxSize, maxFiles, nil
}

// parseSize reads 512, 10k, 10m, 1g (powers of 1024, as Docker).
func parseSize(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "kb"):
		mult = 1 << 10
	case strings.HasSuffix(s, "m"), strings.HasSuffix(s, "mb"):
		mult = 1 << 20
	case strings.HasSuffix(s, "g"), strings.HasSuffix(s, "gb"):
		mult = 1 << 30
	}
	n, err := strconv.ParseInt(strings.TrimRight(s, "kmgb"), 10, 64)
	return n * mult, err
}

// LogsOptions are `logs`' flags.
type LogsOptions struct {
	Follow     bool
	Tail       int // -1: all
	Timestamps bool
	Stdout     io.Writer
	Stderr     io.Writer
}

// Logs is `minirun logs`: the container's output from its log file, the
// oldest rotated file first; with Follow it keeps printing new lines until
// the container has stopped and its monitor has written the last of it.
func (e *Engine) Logs(ref string, o LogsOptions) error {
	m, err := e.Find(ref)
	if err != nil {
		return err
	}
	path := e.logPath(m.ID)
	if _, err := os.Stat(path); err != nil {
		if !m.Detached {
			return fmt.Errorf("container %s has no log: it ran attached, its output went to the terminal (run -d writes a log)", ref)
		}
		return err
	}
	var files []string
	for i := defaultLogMaxFiles * 10; i >= 1; i-- {
		if p := path + "." + strconv.Itoa(i); fileExists(p) {
			files = append(files, p)
		}
	}
	files = append(files, path)
	var entries []logEntry
	for _, f := range files {
		entries = append(entries, readEntries(f)...)
	}
	if o.Tail >= 0 && len(entries) > o.Tail {
		entries = entries[len(entries)-o.Tail:]
	}
	for _, en := range entries {
		printEntry(en, o)
	}
	if !o.Follow {
		return nil
	}
	return e.follow(m.ID, path, o)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func readEntries(path string) []logEntry {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []logEntry
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		var en logEntry
		if len(line) > 0 && json.Unmarshal(line, &en) == nil {
			out = append(out, en)
		}
	}
	return out
}

func printEntry(en logEntry, o LogsOptions) {
	w := o.Stdout
	if en.Stream == "stderr" {
		w = o.Stderr
	}
	if o.Timestamps {
		fmt.Fprintf(w, "%s %s", en.Time.Format(time.RFC3339Nano), en.Log)
		return
	}
	io.WriteString(w, en.Log)
}

// follow prints what is appended to the log from its current end on,
// across rotations, until the container's monitor is done.
func (e *Engine) follow(id, path string, o LogsOptions) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { f.Close() }()
	off, _ := f.Seek(0, io.SeekEnd)
	var partial []byte
	for {
		buf := make([]byte, 64<<10)
		n, _ := f.ReadAt(buf, off)
		if n > 0 {
			off += int64(n)
			data := append(partial, buf[:n]...)
			lines := bytes.Split(data, []byte{'\n'})
			partial = append([]byte(nil), lines[len(lines)-1]...)
			for _, l := range lines[:len(lines)-1] {
				var en logEntry
				if json.Unmarshal(l, &en) == nil {
					printEntry(en, o)
				}
			}
			continue
		}
		// Rotated: the name now points at a new, shorter file.
		if fi, err := os.Stat(path); err == nil {
			cur, _ := f.Stat()
			if !os.SameFile(fi, cur) {
				if nf, err := os.Open(path); err == nil {
					f.Close()
					f, off, partial = nf, 0, nil
					continue
				}
			}
		}
		if !e.monitorRunning(id) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}
