package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// runtimeLog is the file of the global --log flag, opened before any
// command runs (as runc does), nil without --log.
var runtimeLog struct {
	f    *os.File
	json bool
}

// openRuntimeLog opens --log for appending and creates it if needed, even
// when nothing goes wrong: containerd's shim opens it after every failed
// runtime command to read the error, and reports "unable to retrieve OCI
// runtime error (open …/log.json: no such file or directory)" if it is
// missing.
func openRuntimeLog(g *globals) error {
	switch g.logFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format %q: use text or json", g.logFormat)
	}
	if g.log == "" || runtimeLog.f != nil {
		return nil
	}
	f, err := os.OpenFile(g.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open the --log file: %w", err)
	}
	runtimeLog.f, runtimeLog.json = f, g.logFormat == "json"
	return nil
}

// logRuntimeError appends err to the --log file in runc's (logrus's)
// formats: {"level":"error","msg":"…","time":"…"} per line with
// --log-format json, time="…" level=error msg="…" otherwise. The caller
// still prints err on stderr, where podman (through conmon) reads it.
func logRuntimeError(err error) {
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
