package ocicmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// runtimeLog is the file of the global --log flag, opened before any
// command runs (as runc does), nil without --log.
var runtimeLog struct {
	f    *os.File
	json bool
}

// OpenLog opens --log for appending and creates it if needed, even when
// nothing goes wrong: containerd's shim opens it after every failed runtime
// command to read the error, and reports "unable to retrieve OCI runtime
// error (open …/log.json: no such file or directory)" if it is missing.
// format is --log-format: text or json.
func OpenLog(path, format string) error {
	switch format {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format %q: use text or json", format)
	}
	if path == "" || runtimeLog.f != nil {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open the --log file: %w", err)
	}
	runtimeLog.f, runtimeLog.json = f, format == "json"
	return nil
}

// LogError appends err to the --log file in runc's (logrus's) formats:
// {"level":"error","msg":"…","time":"…"} per line with --log-format json,
// time="…" level=error msg="…" otherwise. The caller still prints err on
// stderr, where podman (through conmon) reads it.
func LogError(err error) {
	if runtimeLog.f == nil || err == nil {
		return
	}
	now := time.Now().Format(time.RFC3339Nano)
	msg := strings.TrimSpace(err.Error())
	var line []byte
	if runtimeLog.json {
		line, _ = json.Marshal(struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Time  string `json:"time"`
		}{"error", msg, now})
	} else {
		line = fmt.Appendf(nil, "time=%q level=error msg=%q", now, msg)
	}
	_, _ = runtimeLog.f.Write(append(line, '\n'))
}

// Red is the colour of the "minirun:" before an error.
const Red = "31"

// Colour wraps s in an ANSI colour when f is a terminal, NO_COLOR is empty
// (https://no-color.org) and TERM is not "dumb": pipes, files and labs
// diffing output get plain text.
func Colour(f *os.File, code, s string) string {
	if !UseColour(f) {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// UseColour: f is a terminal, NO_COLOR is empty and TERM is not "dumb".
func UseColour(f *os.File) bool {
	return os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb" && term.IsTerminal(int(f.Fd()))
}

// Exit is the exit code of a command that ended with err: 0 without one,
// the container's own code for an ExitError, and otherwise codeOf(err)
// once err is reported (Fail).
func Exit(err error, codeOf func(error) int) int {
	var ee ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return int(ee)
	}
	return Fail(err, codeOf(err))
}

// Fail reports err the way every minirun command does (on stderr after a
// red "minirun:", and in the --log file) and returns the exit code.
func Fail(err error, code int) int {
	LogError(err)
	fmt.Fprintf(os.Stderr, "%s %v\n", Colour(os.Stderr, Red, "minirun:"), err)
	return code
}
