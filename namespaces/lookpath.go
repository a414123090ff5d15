package namespaces

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// LookPath finds argv0 the way execvp(3) would for a process that is about
// to run with environment env: along env's PATH (not our own environment),
// or Docker's default PATH when env has none. It reports runc's wording, so
// that engines can tell "not found" (exit 127) from "not executable" (126).
func LookPath(argv0 string, env []string) (string, error) {
	if strings.Contains(argv0, "/") {
		return argv0, checkExecutable(argv0, argv0)
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			path = kv[5:]
		}
	}
	var denied error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, argv0)
		err := checkExecutable(argv0, p)
		if err == nil {
			return p, nil
		}
		if errors.Is(err, ErrNotExecutable) && denied == nil {
			denied = err
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", &ExecError{Name: argv0, Err: ErrNotFound, Msg: "executable file not found in $PATH"}
}

// ErrNotFound and ErrNotExecutable classify an ExecError.
var (
	ErrNotFound      = errors.New("not found")
	ErrNotExecutable = errors.New("not executable")
)

// ExecError says why a command cannot be started, in runc's words.
type ExecError struct {
	Name string
	Msg  string
	Err  error // ErrNotFound or ErrNotExecutable
}

func (e *ExecError) Error() string { return "exec: \"" + e.Name + "\": " + e.Msg }
func (e *ExecError) Unwrap() error { return e.Err }

func checkExecutable(name, p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return &ExecError{Name: name, Err: ErrNotFound, Msg: "no such file or directory"}
	}
	if fi.IsDir() {
		return &ExecError{Name: name, Err: ErrNotExecutable, Msg: "is a directory"}
	}
	if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return &ExecError{Name: name, Err: ErrNotExecutable, Msg: "permission denied"}
	}
	return nil
}
