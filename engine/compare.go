package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minirun/minirun/probe"
)

// Bundle is a container prepared as `minirun run` would prepare it (image
// mounted, config.json written) but not started: an ordinary OCI bundle that
// any OCI runtime can run (`minirun compare` runs it under two).
type Bundle struct {
	ID     string      // the prepared container's ID
	Dir    string      // the bundle directory (config.json)
	Rootfs string      // the mounted root filesystem
	Spec   *specs.Spec // config.json as written; change it with WriteSpec
	p      *prepared
	e      *Engine
}

// PrepareBundle does what Run does before it creates the container. The
// caller must Release the bundle. A bridge network cannot be joined by
// another runtime: the caller asks for --network none (or host).
func (e *Engine) PrepareBundle(o RunOptions) (*Bundle, error) {
	if err := o.check(); err != nil {
		return nil, &UsageError{err}
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("preparing a container needs root (overlay mounts): run it with sudo")
	}
	p, err := e.prepare(o)
	if err != nil {
		return nil, err
	}
	return &Bundle{ID: p.id, Dir: p.bundle, Rootfs: p.spec.Root.Path, Spec: p.spec, p: p, e: e}, nil
}

// WriteSpec writes b.Spec back to config.json.
func (b *Bundle) WriteSpec() error {
	j, err := json.Marshal(b.Spec)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.Dir, "config.json"), j, 0o600)
}

// Release unmounts and removes everything PrepareBundle made.
func (b *Bundle) Release() error { return b.e.cleanup(b.p, true) }

// ProbePath is where the probe (the static minirun binary) is put in the
// root filesystem of a compared container.
const ProbePath = "/.minirun-probe"

// CompareOptions is `minirun compare`: the container as `run` would make
// it (Run, whose Args are the command the probe runs after its report,
// if any), the other runtime (runc, crun or docker), the probe binary.
type CompareOptions struct {
	Run     RunOptions
	Runtime string
	Probe   string
}

// Compare runs the probe in the same container under minirun (its OCI
// `run --bundle`) and under the other runtime, one after the other, and
// returns both reports, normalised: the bundle directory and the
// container IDs become <bundle> and <id>.
func (e *Engine) Compare(o CompareOptions) (mine, other probe.Report, err error) {
	switch o.Runtime {
	case "runc", "crun", "docker":
	default:
		return nil, nil, &UsageError{fmt.Errorf("--runtime %q: want runc, crun or docker", o.Runtime)}
	}
	if _, err := exec.LookPath(o.Runtime); err != nil {
		return nil, nil, fmt.Errorf("%s is not installed (%v): install it (apt-get install %s) or choose another --runtime", o.Runtime, err, o.Runtime)
	}
	if o.Runtime == "docker" {
		if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
			return nil, nil, fmt.Errorf("no Docker daemon is reachable (docker info: %v: %s): start dockerd, or compare with --runtime runc or crun",
				err, strings.TrimSpace(string(out)))
		}
	}
	if o.Run.Network == "" || o.Run.Network == DefaultNetwork {
		// Another runtime cannot join minirun's bridge networks.
		o.Run.Network = "none"
	}
	cmd := o.Run.Args
	o.Run.Args = nil // the image's command is not run: the probe is
	o.Run.Stdout, o.Run.Stderr = os.Stderr, os.Stderr
	b, err := e.PrepareBundle(o.Run)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if rerr := b.Release(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	if err := copyFile(o.Probe, filepath.Join(b.Rootfs, ProbePath), 0o755); err != nil {
		return nil, nil, fmt.Errorf("put the probe into the container: %w", err)
	}
	b.Spec.Process.Args = append([]string{ProbePath, "probe", "--"}, cmd...)
	b.Spec.Process.Terminal = false
	if err := b.WriteSpec(); err != nil {
		return nil, nil, err
	}
	// The other runtime's state directory: its own, for this run only.
	root, err := os.MkdirTemp("", "minirun-compare-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(root)
	short := ShortID(b.ID)
	mineID, otherID := "compare-"+short+"-minirun", "compare-"+short+"-"+o.Runtime
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	norm := []string{b.Dir, "<bundle>", mineID, "<runtime-id>", otherID, "<runtime-id>", short, "<id>"}
	if mine, err = runProbe("minirun", exec.Command(self, "--root", e.StateRoot, "run", "--bundle", b.Dir, mineID)); err != nil {
		return nil, nil, err
	}
	c := exec.Command(o.Runtime, "--root", root, "run", "--bundle", b.Dir, otherID)
	if o.Runtime == "docker" {
		c = exec.Command("docker", dockerArgs(o.Run, o.Probe, cmd)...)
	}
	if other, err = runProbe(o.Runtime, c); err != nil {
		if o.Runtime != "docker" {
			_ = exec.Command(o.Runtime, "--root", root, "delete", "--force", otherID).Run()
		}
		return nil, nil, err
	}
	return mine.Normalize(norm...), other.Normalize(norm...), nil
}

// runProbe runs a runtime whose container is the probe and reads its report.
func runProbe(name string, c *exec.Cmd) (probe.Report, error) {
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		return nil, fmt.Errorf("the probe under %s: %v\n%s", name, err, strings.TrimSpace(errb.String()))
	}
	var r probe.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("the probe under %s printed no report (%v):\n%s%s", name, err, out.String(), errb.String())
	}
	return r, nil
}

// dockerArgs is `docker run` for the same container, as far as Docker's
// flags go: the same image, the probe bind-mounted read-only.
func dockerArgs(o RunOptions, probePath string, cmd []string) []string {
	a := []string{"run", "--rm", "--network", o.Network, "-v", probePath + ":" + ProbePath + ":ro", "--entrypoint", ProbePath}
	if o.User != "" {
		a = append(a, "-u", o.User)
	}
	if o.Hostname != "" {
		a = append(a, "--hostname", o.Hostname)
	}
	if o.ReadOnly {
		a = append(a, "--read-only")
	}
	if o.Privileged {
		a = append(a, "--privileged")
	}
	flags := []string{"-e", "--cap-add", "--cap-drop", "--security-opt", "--ulimit"}
	for i, vals := range [][]string{o.Env, o.CapAdd, o.CapDrop, o.SecurityOpts, o.Ulimits} {
		for _, v := range vals {
			a = append(a, flags[i], v)
		}
	}
	a = append(a, o.Image, "probe", "--")
	return append(a, cmd...)
}
