package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Env and FormatEnv switch tracing on for a command (what --trace and
// --trace-format do); FdEnv names the pipe a child writes its records to.
const (
	Env       = "MINIRUN_TRACE"
	FormatEnv = "MINIRUN_TRACE_FORMAT"
	FdEnv     = "_MINIRUN_TRACE_FD"
)

// Record is one step. On the wire between processes T is absolute (Unix
// nanoseconds of the step's start); in the output it is relative.
type Record struct {
	TMs   float64 `json:"t_ms"`
	DurMs float64 `json:"dur_ms"`
	Side  string  `json:"side"`
	Area  string  `json:"area"`
	What  string  `json:"what"`
	Call  string  `json:"call"`
	Man   string  `json:"man,omitempty"`
	Err   string  `json:"err,omitempty"`
	T     int64   `json:"t_ns,omitempty"` // only between processes
}

// End finishes a step: it records the elapsed time and err (nil: success).
type End func(err error)

var (
	on    atomic.Bool
	nop   End = func(error) {}
	state struct {
		sync.Mutex
		out     io.Writer // the runtime's output; nil in a child
		childFd int       // a child's pipe; -1 in the runtime
		json    bool
		color   bool
		crlf    bool // a terminal, maybe in raw mode (run -t): "\r\n"
		side    string
		t0      time.Time
		sources []*source
	}
)

// On tells whether tracing is on in this process: one atomic load.
func On() bool { return on.Load() }

// Step starts a step; call End when it is done. When tracing is off it
// costs one atomic load and allocates nothing.
func Step(area, what, call, man string) End {
	if !on.Load() {
		return nop
	}
	return begin(area, what, call, man)
}

// StepFn is Step for a call that must be formatted: call() only runs when
// tracing is on (it does not escape, so the closure costs nothing when off).
func StepFn(area, what, man string, call func() string) End {
	if !on.Load() {
		return nop
	}
	return begin(area, what, call(), man)
}

// StepWith is StepFn for a step whose plain words must be built too.
func StepWith(area, man string, what, call func() string) End {
	if !on.Load() {
		return nop
	}
	return begin(area, what(), call(), man)
}

// NoteFn is Note with a call built only when tracing is on.
func NoteFn(area, what, man string, call func() string) {
	if on.Load() {
		begin(area, what, call(), man)(nil)
	}
}

// Note records a step that has no duration of its own (or whose end is
// never seen, like a successful execve).
func Note(area, what, call, man string) {
	if on.Load() {
		begin(area, what, call, man)(nil)
	}
}

func begin(area, what, call, man string) End {
	start := time.Now()
	return func(err error) {
		r := Record{Area: area, What: what, Call: call, Man: man, DurMs: ms(time.Since(start))}
		if err != nil {
			r.Err = err.Error()
		}
		emit(r, start)
	}
}

func ms(d time.Duration) float64 { return float64(d.Round(time.Microsecond)) / 1e6 }

// Enable switches tracing on in the runtime: records go to w (stderr),
// as text (colour when color) or one JSON object per line.
func Enable(w io.Writer, jsonFormat, color bool) {
	state.Lock()
	state.out, state.childFd, state.json, state.color, state.side = w, -1, jsonFormat, color, "runtime"
	f, ok := w.(*os.File)
	state.crlf = ok && isTerminal(f)
	state.t0 = time.Now()
	state.Unlock()
	// `minirun run --trace … 2>&1 | head` must not kill minirun halfway
	// through a container's setup (SIGPIPE on a write to fd 2), leaving
	// it behind: with SIGPIPE caught, the write fails and the trace stops.
	// A caught signal is reset at execve: the container's processes get
	// the default action, as without tracing.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	on.Store(true)
}

// FromEnv reads MINIRUN_TRACE and MINIRUN_TRACE_FORMAT: whether tracing
// is asked for, and in JSON.
func FromEnv() (enabled, jsonFormat bool) {
	v := os.Getenv(Env)
	enabled = v != "" && v != "0" && v != "false"
	return enabled, os.Getenv(FormatEnv) == "json"
}

// ColorFor tells whether text output to f should be coloured: only on a
// terminal, and never with NO_COLOR set (https://no-color.org).
func ColorFor(f *os.File) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	return isTerminal(f)
}

func isTerminal(f *os.File) bool {
	var t syscall.Termios
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return e == 0
}

// StartChild is called by a child (init, exec-init) first thing: when
// the runtime handed it a trace pipe (FdEnv), tracing is on and each step
// is written there, named by side. The descriptor is made close-on-exec.
func StartChild(side string) {
	fd, err := strconv.Atoi(os.Getenv(FdEnv))
	os.Unsetenv(FdEnv)
	if err != nil || fd < 3 {
		return
	}
	syscall.CloseOnExec(fd)
	state.Lock()
	state.out, state.childFd, state.side = nil, fd, side
	state.Unlock()
	on.Store(true)
}

// ChildPipe makes a pipe for a child about to start: the child gets w (as
// an extra file, its number in FdEnv); the runtime reads the other end and
// prints the child's steps among its own. Close w once the child started.
// In a child that starts a child (the monitor of `run -d` starting init),
// w is a copy of its own pipe: both write to the runtime. Without tracing
// it returns nil.
func ChildPipe() (*os.File, error) {
	if !on.Load() {
		return nil, nil
	}
	state.Lock()
	fd := state.childFd
	state.Unlock()
	if fd >= 0 {
		nfd, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 3)
		if e != 0 {
			return nil, fmt.Errorf("trace: dup the trace pipe: %w", e)
		}
		return os.NewFile(nfd, "trace-pipe"), nil
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("trace: pipe2: %w", err)
	}
	if err := syscall.SetNonblock(p[0], true); err != nil {
		syscall.Close(p[0])
		syscall.Close(p[1])
		return nil, fmt.Errorf("trace: pipe2: %w", err)
	}
	s := &source{fd: p[0]}
	state.Lock()
	state.sources = append(state.sources, s)
	state.Unlock()
	go s.watch()
	return os.NewFile(uintptr(p[1]), "trace-pipe"), nil
}

// ToChild gives cmd, about to start, a trace pipe (ChildPipe): one more
// of its ExtraFiles, its number in the child's FdEnv. Close the returned
// file once cmd has started. Without tracing it changes nothing and
// returns nil.
func ToChild(cmd *exec.Cmd) (*os.File, error) {
	w, err := ChildPipe()
	if w == nil || err != nil {
		return nil, err
	}
	cmd.Env = append(cmd.Env, FdEnv+"="+strconv.Itoa(3+len(cmd.ExtraFiles)))
	cmd.ExtraFiles = append(cmd.ExtraFiles, w)
	return w, nil
}

// Flush prints whatever the children have written and not been printed
// yet; call it before the command exits.
func Flush() {
	if !on.Load() {
		return
	}
	state.Lock()
	drainLocked()
	state.Unlock()
}

// source is the read end of a child's pipe.
type source struct {
	fd      int
	partial []byte
	done    bool
}

// watch waits (ppoll(2), no read) until the pipe has data or is closed,
// then drains it under the lock: a record is never half read outside it,
// so emit can always print a child's earlier records first.
func (s *source) watch() {
	pfd := struct {
		fd             int32
		events, revent int16
	}{fd: int32(s.fd), events: 0x1} // POLLIN
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, 0, 0, 0, 0)
		if e != 0 && e != syscall.EINTR {
			return
		}
		state.Lock()
		drainLocked()
		done := s.done
		state.Unlock()
		if done {
			return
		}
	}
}

// drainLocked reads every source until it would block and prints the
// complete records.
func drainLocked() {
	var buf [4096]byte
	for _, s := range state.sources {
		for !s.done {
			n, err := syscall.Read(s.fd, buf[:])
			if err == syscall.EINTR {
				continue
			}
			if n <= 0 {
				if err != syscall.EAGAIN {
					s.done = true
					syscall.Close(s.fd)
				}
				break
			}
			s.partial = append(s.partial, buf[:n]...)
			for {
				i := bytes.IndexByte(s.partial, '\n')
				if i < 0 {
					break
				}
				var r Record
				if json.Unmarshal(s.partial[:i], &r) == nil {
					start := time.Unix(0, r.T)
					r.T = 0
					writeLocked(r, start)
				}
				s.partial = s.partial[i+1:]
			}
		}
	}
}

// emit prints (runtime) or sends (child) one record.
func emit(r Record, start time.Time) {
	state.Lock()
	defer state.Unlock()
	r.Side = state.side
	if state.childFd >= 0 {
		r.T = start.UnixNano()
		b, _ := json.Marshal(r)
		b = append(b, '\n')
		if len(b) > 4000 { // PIPE_BUF: one write, never interleaved
			r.Call = r.Call[:min(len(r.Call), 2000)] + "…"
			b, _ = json.Marshal(r)
			b = append(b, '\n')
		}
		_, _ = syscall.Write(state.childFd, b)
		return
	}
	drainLocked()
	writeLocked(r, start)
}

func writeLocked(r Record, start time.Time) {
	if state.out == nil {
		return
	}
	r.TMs = ms(start.Sub(state.t0))
	var line string
	if state.json {
		b, _ := json.Marshal(r)
		line = string(b) + "\n"
	} else {
		line = Format(r, state.color)
	}
	if state.crlf {
		// While `run -t` holds the terminal in raw mode, "\n" only moves
		// down; "\r\n" reads the same in both modes.
		line = strings.TrimSuffix(line, "\n") + "\r\n"
	}
	_, err := io.WriteString(state.out, line)
	if err != nil {
		state.out = nil // the reader is gone (EPIPE): the trace stops, the container does not
	}
}

// ANSI colours of the text format.
const (
	dim, cyan, magenta, yellow, red, bold, reset = "\x1b[2m", "\x1b[36m", "\x1b[35m", "\x1b[33m", "\x1b[31m", "\x1b[1m", "\x1b[0m"
)

// Format is the text line of a record:
//
//	+12.3ms   0.4ms runtime [cgroups]  set the memory limit   write memory.max = 67108864   cgroups(7)
func Format(r Record, color bool) string {
	c := func(code, s string) string {
		if !color || s == "" {
			return s
		}
		return code + s + reset
	}
	side := pad(r.Side, 7)
	if r.Side != "runtime" {
		side = c(magenta, side) // the steps taken inside the container
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%10s %8s %s %s  %s  %s",
		"+"+strconv.FormatFloat(r.TMs, 'f', 1, 64)+"ms",
		strconv.FormatFloat(r.DurMs, 'f', 1, 64)+"ms",
		side, c(cyan, pad("["+r.Area+"]", 12)), pad(r.What, 42), c(bold+yellow, r.Call))
	if r.Man != "" {
		b.WriteString("   " + c(dim, r.Man))
	}
	if r.Err != "" {
		b.WriteString("   " + c(red+bold, "FAILED: "+r.Err))
	}
	b.WriteByte('\n')
	return b.String()
}

func pad(s string, n int) string {
	if l := len([]rune(s)); l < n {
		return s + strings.Repeat(" ", n-l)
	}
	return s
}
