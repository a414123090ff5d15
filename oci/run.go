package oci

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minirun/minirun/security"
)

// RunConfig is what `minirun run` was asked for, in Docker's terms.
type RunConfig struct {
	Image      ocispec.ImageConfig // the image's config (zero for --rootfs)
	Args       []string            // the command after the image name
	Entrypoint *string             // --entrypoint; "" clears the image's
	Env        []string            // -e values, already resolved to KEY=VALUE
	Workdir    string              // -w
	User       specs.User          // -u, already resolved (see ResolveUser)
	Hostname   string
	TTY        bool
	ReadOnly   bool
	Rootfs     string        // root.path
	Mounts     []specs.Mount // added after the default mounts (/etc/hosts, ...)
	// Resources are the cgroup limits (see Limits.Resources); the device
	// allowlist is always added.
	Resources *specs.LinuxResources
	// CgroupsPath places the container's cgroup (linux.cgroupsPath).
	CgroupsPath string
	// Ulimits are Docker's --ulimit values: "nofile=1024:2048", "nproc=512".
	Ulimits []string
	// InitBinary, when set, is bind-mounted as /sbin/minirun-init and runs
	// as PID 1 in front of the command (docker run --init).
	InitBinary  string
	Annotations map[string]string
	// Security is --cap-add, --cap-drop, --security-opt and --privileged.
	Security Security
	// UIDMappings and GIDMappings, when set, put the container in a new
	// user namespace with these maps (--userns=auto).
	UIDMappings, GIDMappings []specs.LinuxIDMapping
}

// InitPath is where --init's reaper appears inside the container.
const InitPath = "/sbin/minirun-init"

// Command combines entrypoint and command the way Docker does: an explicit
// --entrypoint replaces the image's and drops the image's Cmd; arguments
// given on the command line replace the image's Cmd.
func Command(img ocispec.ImageConfig, entrypoint *string, args []string) ([]string, error) {
	ep := img.Entrypoint
	cmd := img.Cmd
	if entrypoint != nil {
		ep = nil
		if *entrypoint != "" {
			ep = []string{*entrypoint}
		}
		cmd = nil
	}
	if len(args) > 0 {
		cmd = args
	}
	all := append(append([]string{}, ep...), cmd...)
	if len(all) == 0 {
		return nil, errors.New("no command specified: give one after the image name, or use an image with a CMD or ENTRYPOINT")
	}
	return all, nil
}

// ValidateEnv checks -e values: KEY=VALUE, or KEY alone (taken from the
// caller's environment by the caller).
func ValidateEnv(kv string) error {
	k, _, _ := strings.Cut(kv, "=")
	if k == "" || strings.ContainsAny(k, " \t\n") {
		return fmt.Errorf("invalid environment variable %q: want KEY=VALUE with a non-empty KEY without spaces", kv)
	}
	return nil
}

// MergeEnv applies overrides on top of base, by key, keeping base's order.
func MergeEnv(base, overrides []string) []string {
	out := append([]string(nil), base...)
	idx := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		idx[k] = i
	}
	for _, kv := range overrides {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
		} else {
			idx[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}

var hostnameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$`) })

// ValidateHostname accepts what sethostname(2) and DNS both take.
func ValidateHostname(h string) error {
	if !hostnameRE().MatchString(h) || strings.HasSuffix(h, "-") || strings.HasSuffix(h, ".") {
		return fmt.Errorf("invalid hostname %q: use letters, digits, '-' and '.', at most 64 characters", h)
	}
	return nil
}

// ValidateWorkdir wants an absolute path, as Docker does.
func ValidateWorkdir(w string) error {
	if w != "" && !path.IsAbs(w) {
		return fmt.Errorf("the working directory %q is invalid: it needs to be an absolute path", w)
	}
	return nil
}

// ParseUlimit parses Docker's --ulimit NAME=SOFT[:HARD] ("nofile=1024:2048").
func ParseUlimit(u string) (specs.POSIXRlimit, error) {
	name, val, ok := strings.Cut(u, "=")
	bad := fmt.Errorf("invalid --ulimit %q: want NAME=SOFT[:HARD], e.g. nofile=1024:2048", u)
	if !ok || name == "" || val == "" {
		return specs.POSIXRlimit{}, bad
	}
	typ := "RLIMIT_" + strings.ToUpper(name)
	if _, err := security.RlimitNumber(typ); err != nil {
		return specs.POSIXRlimit{}, fmt.Errorf("invalid --ulimit %q: %w", u, err)
	}
	softS, hardS, hasHard := strings.Cut(val, ":")
	parse := func(s string) (uint64, error) {
		if s == "-1" || s == "unlimited" {
			return ^uint64(0), nil
		}
		return strconv.ParseUint(s, 10, 64)
	}
	soft, err := parse(softS)
	if err != nil {
		return specs.POSIXRlimit{}, bad
	}
	hard := soft
	if hasHard {
		if hard, err = parse(hardS); err != nil {
			return specs.POSIXRlimit{}, bad
		}
	}
	if soft > hard {
		return specs.POSIXRlimit{}, fmt.Errorf("invalid --ulimit %q: the soft limit is above the hard one", u)
	}
	return specs.POSIXRlimit{Type: typ, Soft: soft, Hard: hard}, nil
}

// BuildSpec turns a RunConfig into the spec the runtime will execute.
func BuildSpec(rc RunConfig) (*specs.Spec, error) {
	args, err := Command(rc.Image, rc.Entrypoint, rc.Args)
	if err != nil {
		return nil, err
	}
	for _, kv := range rc.Env {
		if err := ValidateEnv(kv); err != nil {
			return nil, err
		}
	}
	if err := ValidateHostname(rc.Hostname); err != nil {
		return nil, err
	}
	cwd := rc.Workdir
	if cwd == "" {
		cwd = rc.Image.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	if err := ValidateWorkdir(cwd); err != nil {
		return nil, err
	}

	s := Default()
	rc.Security.privileged(s)
	s.Root.Path = rc.Rootfs
	s.Root.Readonly = rc.ReadOnly
	s.Hostname = rc.Hostname
	s.Annotations = rc.Annotations
	p := s.Process
	p.Args = args
	p.Cwd = path.Clean(cwd)
	p.Terminal = rc.TTY
	p.User = rc.User
	env := MergeEnv(p.Env, rc.Image.Env)
	env = MergeEnv(env, []string{"HOSTNAME=" + rc.Hostname})
	if rc.TTY {
		env = MergeEnv(env, []string{"TERM=xterm"})
	}
	p.Env = MergeEnv(env, rc.Env)
	s.Mounts = append(s.Mounts, rc.Mounts...)
	s.Linux.CgroupsPath = rc.CgroupsPath
	for _, u := range rc.Ulimits {
		rl, err := ParseUlimit(u)
		if err != nil {
			return nil, err
		}
		p.Rlimits = append(p.Rlimits, rl)
	}
	if rc.Resources != nil {
		res := *rc.Resources
		res.Devices = append(s.Linux.Resources.Devices, rc.Resources.Devices...)
		s.Linux.Resources = &res
	}
	if rc.InitBinary != "" {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: InitPath, Type: "bind", Source: rc.InitBinary, Options: []string{"bind", "ro", "nosuid", "nodev"}})
		p.Args = append([]string{InitPath, "--"}, p.Args...)
	}
	if err := rc.Security.apply(s); err != nil {
		return nil, err
	}
	if len(rc.UIDMappings) > 0 || len(rc.GIDMappings) > 0 {
		if len(rc.UIDMappings) == 0 || len(rc.GIDMappings) == 0 {
			return nil, errors.New("a user namespace needs both UID and GID mappings")
		}
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings, s.Linux.GIDMappings = rc.UIDMappings, rc.GIDMappings
	}
	return s, nil
}
