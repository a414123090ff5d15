package container

// OCI hooks (runtime-spec config.md, "POSIX-platform Hooks"): programs the
// engine asks the runtime to run at fixed points of the lifecycle, each
// given the container's state JSON on its stdin. dockerd, for one, plugs
// its bridge networking in with a prestart hook.
//
//	prestart, createRuntime  during create, in the runtime's namespaces,
//	                         once the container's namespaces exist and
//	                         before pivot_root (Create asks the runtime
//	                         side over the sync socket)
//	createContainer          during create, in the container's namespaces,
//	                         before pivot_root (run by init)
//	startContainer           during start, in the container, after the
//	                         barrier and before the user's program (init)
//	poststart                after start, in the runtime's namespaces
//	poststop                 after delete, in the runtime's namespaces
//
// A failing prestart, createRuntime, createContainer or startContainer
// hook fails the operation; a failing poststart or poststop hook is
// reported as a warning and the rest go on, as the spec says.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minirun/minirun/trace"
)

// SupportedHooks lists the OCI hooks the runtime runs.
func SupportedHooks() []string {
	return []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}
}

// runHooks runs hooks in order, each with the state on stdin and its
// timeout; it stops at the first failure.
func runHooks(kind string, hooks []specs.Hook, st specs.State) error {
	if len(hooks) == 0 {
		return nil
	}
	state, err := json.Marshal(st)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		end := trace.StepWith("container", "runtime-spec config.md#posix-platform-hooks", func() string { return "run a " + kind + " hook" }, func() string {
			return fmt.Sprintf("fork + execve(%q, %q) with the state on stdin", h.Path, h.Args)
		})
		err := runHook(kind, h, state)
		end(err)
		if err != nil {
			return err
		}
	}
	return nil
}

func runHook(kind string, h specs.Hook, state []byte) error {
	ctx := context.Background()
	if h.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	args := h.Args
	if len(args) == 0 {
		args = []string{h.Path}
	}
	cmd := exec.CommandContext(ctx, h.Path)
	cmd.Args = args
	cmd.Env = h.Env
	cmd.Stdin = bytes.NewReader(state)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// The hook's children must not keep our pipes open past the kill.
	cmd.WaitDelay = time.Second
	// A hook is the user's program: neither pinned nor given the slack of
	// the runtime.
	err := Released(cmd.Start)
	if err == nil {
		err = cmd.Wait()
	}
	if err == nil {
		return nil
	}
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	msg := strings.TrimSpace(out.String())
	if msg != "" {
		msg = ": " + msg
	}
	return fmt.Errorf("%s hook %s: %w%s", kind, h.Path, err, msg)
}

// warnHooks runs poststart/poststop hooks: failures are warnings, and
// every hook runs.
func warnHooks(kind string, hooks []specs.Hook, st specs.State, w io.Writer) {
	state, _ := json.Marshal(st)
	for _, h := range hooks {
		if err := runHook(kind, h, state); err != nil {
			fmt.Fprintf(w, "minirun: warning: %v\n", err)
		}
	}
}

// hooksOf is spec.Hooks or an empty set.
func hooksOf(s *specs.Spec) *specs.Hooks {
	if s == nil || s.Hooks == nil {
		return &specs.Hooks{}
	}
	return s.Hooks
}

// validateHooks checks what the spec requires of every hook.
func validateHooks(h *specs.Hooks) error {
	if h == nil {
		return nil
	}
	for kind, list := range map[string][]specs.Hook{
		"prestart": h.Prestart, "createRuntime": h.CreateRuntime, "createContainer": h.CreateContainer,
		"startContainer": h.StartContainer, "poststart": h.Poststart, "poststop": h.Poststop,
	} {
		for _, hk := range list {
			if !strings.HasPrefix(hk.Path, "/") {
				return fmt.Errorf("config.json: %s hook path %q is not absolute", kind, hk.Path)
			}
			if hk.Timeout != nil && *hk.Timeout <= 0 {
				return fmt.Errorf("config.json: %s hook %s: timeout must be positive", kind, hk.Path)
			}
		}
	}
	return nil
}

// ociState is the state a hook gets.
func (c *Container) ociState(status specs.ContainerState) specs.State {
	st := c.state.State
	st.Status = status
	if status == Stopped {
		st.Pid = 0
	}
	return st
}
