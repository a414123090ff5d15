package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/minirun/minirun/container"
	"github.com/minirun/minirun/image"
	"github.com/minirun/minirun/network"
	"github.com/minirun/minirun/oci"
	"github.com/minirun/minirun/rootfs"
)

// RunOptions are `minirun run`'s flags, already parsed.
type RunOptions struct {
	Image       string
	Rootfs      string // --rootfs: a plain directory instead of an image
	Args        []string
	Entrypoint  *string
	Env         []string // KEY=VALUE or KEY (taken from our environment)
	Workdir     string
	User        string
	Hostname    string
	Name        string
	TTY         bool
	Interactive bool
	Remove      bool
	ReadOnly    bool
	Init        bool
	NoPivot     bool
	DryRun      bool
	Limits      oci.Limits // cgroup limits, Docker's flags
	Ulimits     []string   // --ulimit nofile=1024:2048
	Pull        string     // always, missing (default) or never
	// Network is a bridge network's name ("" is the default network,
	// "bridge"), none (a network namespace with only lo), host, or
	// container:NAME|ID.
	Network        string
	NetworkAliases []string // --network-alias: more names for the container on its network
	IP             string   // --ip: a fixed address on the network
	Publish        []string // -p [[HOST_IP:][HOST_PORT]:]CONTAINER_PORT[/PROTO]
	PublishAll     bool     // -P: publish every exposed port on a free host port
	Expose         []string // --expose: ports to add to the image's EXPOSE
	DNS            DNSOptions
	AddHosts       []string // --add-host NAME:IP
	Platform       string   // --platform for a pull
	// CgroupParent is where the container's cgroup goes: absolute from
	// the hierarchy's root, or relative to minirun's own cgroup.
	CgroupParent string

	Detach      bool     // -d: a monitor process runs the container; run prints the ID and returns
	Restart     string   // --restart no|on-failure[:N]|always|unless-stopped
	StopSignal  string   // --stop-signal (default: the image's STOPSIGNAL, else SIGTERM)
	StopTimeout int      // --stop-timeout seconds before SIGKILL (default 10)
	LogOpts     []string // --log-opt max-size=10m, max-file=3
	Volumes     []string // -v [SRC:]DST[:ro|rw]: a host path, a volume name, or (DST only) an anonymous volume
	MountSpecs  []string // --mount type=bind|volume|tmpfs,src=..,dst=..[,ro]
	Tmpfs       []string // --tmpfs DST[:OPTIONS]

	CapAdd, CapDrop []string // --cap-add, --cap-drop (ALL, NET_ADMIN, CAP_NET_ADMIN)
	SecurityOpts    []string // --security-opt seccomp=..., no-new-privileges
	// Privileged is --privileged, Docker's: all capabilities the host can
	// grant, no seccomp filter, no masked or read-only paths, /sys and the
	// cgroups read-write, the host's devices (see oci.Security.Privileged).
	Privileged bool
	// UserNS is --userns: host (or "": no user namespace) or
	// auto[:size=N] (a block of the subordinate IDs of SubIDUser).
	UserNS string

	Stdin          *os.File
	Stdout, Stderr *os.File

	resources   *specs.LinuxResources // from Limits, by check
	ports       []PortSpec            // from Publish, by check
	logMaxSize  int64                 // from LogOpts, by check
	logMaxFiles int
	security    oci.Security // from CapAdd, CapDrop, SecurityOpts, by check
	userns      usernsRequest
}

// UsageError is bad input: the caller prints it and exits 125 having
// created nothing.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// DefaultCgroupParent is the parent of every container's cgroup unless
// --cgroup-parent or MINIRUN_CGROUP_PARENT says otherwise.
const DefaultCgroupParent = "/minirun"

// check validates what can be validated before anything is created.
func (o *RunOptions) check() error {
	if o.Image == "" && o.Rootfs == "" {
		return errors.New("give an image, or --rootfs DIR")
	}
	var err error
	if o.Env, err = checkEnvWorkdir(o.Env, o.Workdir); err != nil {
		return err
	}
	if o.Hostname != "" {
		if err := oci.ValidateHostname(o.Hostname); err != nil {
			return err
		}
	}
	if o.Name != "" && !validName(o.Name) {
		return fmt.Errorf("invalid container name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", o.Name)
	}
	if err := o.checkNetwork(); err != nil {
		return err
	}
	if err := o.checkLifecycle(); err != nil {
		return err
	}
	if err := o.checkSecurity(); err != nil {
		return err
	}
	if err := o.checkUserNS(); err != nil {
		return err
	}
	if _, err := parseMounts(o.Volumes, o.MountSpecs, o.Tmpfs); err != nil {
		return err
	}
	switch o.Pull {
	case "", "missing", "always", "never":
	default:
		return fmt.Errorf("invalid --pull %q: want always, missing or never", o.Pull)
	}
	for _, u := range o.Ulimits {
		if _, err := oci.ParseUlimit(u); err != nil {
			return err
		}
	}
	res, err := o.Limits.Resources()
	if err != nil {
		return err
	}
	o.resources = res
	if strings.Contains(o.CgroupParent, "..") {
		return fmt.Errorf("--cgroup-parent %q must not contain ..", o.CgroupParent)
	}
	if o.User != "" {
		u, g, hasG := strings.Cut(o.User, ":")
		if u == "" || (hasG && g == "") {
			return fmt.Errorf("invalid user %q: want user[:group] with names or numeric IDs", o.User)
		}
	}
	return nil
}

func dropUnset(env []string) []string {
	out := env[:0]
	for _, kv := range env {
		if strings.Contains(kv, "=") {
			out = append(out, kv)
		}
	}
	return out
}

func validName(n string) bool {
	if err := container.ValidateID(n); err != nil {
		return false
	}
	return len(n) < 128
}

// prepared is a container whose bundle is ready to create.
type prepared struct {
	id, bundle, dataDir string
	rootfsMounted       string
	overlay             *container.Overlay // rootless: the overlay init mounts
	slirp               bool               // rootless: slirp4netns connects the network namespace
	userns              *UserNS            // --userns=auto's block of host IDs (nil: none)
	spec                *specs.Spec
	meta                Meta
	net                 *netPlan // bridge networks to join once the namespace exists
}

// Run is `minirun run`: it returns the container's exit code, or an error
// (then nothing of the container is left).
func (e *Engine) Run(o RunOptions) (int, error) {
	if Rootless() && o.UserNS != "" && o.UserNS != "host" {
		return 0, &UsageError{fmt.Errorf("--userns=%s is not available in rootless mode: the container always gets a user namespace of yours (0 -> you, and your /etc/subuid range with newuidmap); --userns is root's", o.UserNS)}
	}
	if err := o.check(); err != nil {
		return 0, &UsageError{err}
	}
	if Rootless() {
		if err := e.prepareRootless(); err != nil {
			return 0, err
		}
	}
	p, err := e.prepare(o)
	if err != nil {
		return 0, err
	}
	if o.DryRun {
		out, _ := json.MarshalIndent(p.spec, "", "  ")
		fmt.Fprintln(o.Stdout, string(out))
		return 0, e.cleanup(p, true)
	}
	if o.Detach {
		// The monitor runs it from here on, and cleans up if it fails.
		if err := e.startDetached(p); err != nil {
			return 0, err
		}
		fmt.Fprintln(o.Stdout, p.id)
		return 0, nil
	}
	code, oom, runErr := e.execute(p, o)
	if oom {
		fmt.Fprintf(o.Stderr, "minirun: container %s: OOMKilled: the kernel's OOM killer killed a process that reached the memory limit\n", ShortID(p.id))
	}
	// A container that never ran (bad command, setup error) leaves nothing,
	// with or without --rm.
	cleanErr := e.cleanup(p, o.Remove || runErr != nil)
	if runErr != nil {
		return code, runErr
	}
	return code, cleanErr
}

// prepare mounts the root filesystem and writes the bundle.
func (e *Engine) prepare(o RunOptions) (p *prepared, err error) {
	var img *image.Image
	var imgCfg ocispec.ImageConfig
	if o.Rootfs == "" {
		store, err := e.Images()
		if err != nil {
			return nil, err
		}
		img, err = e.findImage(store, o)
		if err != nil {
			return nil, err
		}
		imgCfg = img.Config.Config
	} else {
		o.Rootfs, err = filepath.Abs(o.Rootfs)
		if err != nil {
			return nil, err
		}
		if fi, err := os.Stat(o.Rootfs); err != nil || !fi.IsDir() {
			return nil, &UsageError{fmt.Errorf("--rootfs %s: not a directory", o.Rootfs)}
		}
	}
	if _, err := oci.Command(imgCfg, o.Entrypoint, o.Args); err != nil {
		return nil, &UsageError{err}
	}
	id := newID()
	generated := o.Name == ""
	p = &prepared{id: id, bundle: e.bundleDir(id), dataDir: e.containerDataDir(id)}
	defer func() {
		if err != nil && p != nil {
			_ = e.cleanup(p, true)
			p = nil
		}
	}()
	if err := os.MkdirAll(p.dataDir, 0o700); err != nil {
		return p, err
	}
	// The name is reserved atomically (O_EXCL): two runs with one --name
	// at the same moment cannot both get it. (The data directory exists
	// first: a reservation whose container directory is missing is stale.)
	if generated {
		// A generated name that another run takes at the same moment:
		// just pick another one.
		for try := 0; ; try++ {
			o.Name = e.randomName(try)
			holder, err := e.reserveName(o.Name, id)
			if err == nil {
				break
			}
			if holder == "" || try > 20 {
				return p, err
			}
		}
	} else if holder, err := e.reserveName(o.Name, id); err != nil {
		if holder != "" {
			return p, &UsageError{fmt.Errorf("the container name %q is already in use by container %s: remove it (minirun rm %s) or choose another name", o.Name, ShortID(holder), o.Name)}
		}
		return p, err
	}
	p.meta.Name = o.Name
	net, err := e.networkMode(&o)
	if err != nil {
		var ue *UsageError
		if errors.As(err, &ue) || errors.Is(err, errNoSuchNetwork) || errors.Is(err, ErrNoSuchContainer) ||
			strings.HasPrefix(o.Network, "container:") {
			return p, &UsageError{err}
		}
		return p, err
	}
	if o.Hostname == "" {
		o.Hostname = firstNonEmpty(net.hostname, ShortID(id))
	}
	if err := os.MkdirAll(p.bundle, 0o711); err != nil {
		return p, err
	}
	if err := os.MkdirAll(p.dataDir, 0o700); err != nil {
		return p, err
	}
	if o.userns.auto {
		if p.userns, err = e.allocateUserNS(p.dataDir, o.userns); err != nil {
			if errors.Is(err, errNoFreeBlock) {
				return p, &UsageError{err}
			}
			return p, err
		}
	}
	root := o.Rootfs
	if img != nil && Rootless() {
		// An ordinary user cannot mount on the host: init mounts the
		// overlay inside the container's namespaces.
		if err := rootlessOverlay(img, p); err != nil {
			return p, err
		}
		root = imageView(img)
	} else if err := e.mountRoot(img, o.Rootfs, p); err != nil {
		return p, err
	}
	if p.rootfsMounted != "" {
		root = p.rootfsMounted
	}
	user, err := oci.ResolveUser(root, firstNonEmpty(o.User, imgCfg.User))
	if err != nil {
		return p, &UsageError{err}
	}
	if err := p.userns.checkUser(user); err != nil {
		return p, &UsageError{err}
	}
	extraHosts, err := o.extraHosts(net)
	if err != nil {
		return p, &UsageError{err}
	}
	if net.slirp && len(o.DNS.Servers) == 0 {
		o.DNS.Servers = []string{network.SlirpDNS} // slirp4netns forwards it to the host's resolver
	}
	mounts, err := writeEtcFiles(p.bundle, o.Hostname, net, o.DNS, extraHosts)
	if err != nil {
		return p, err
	}
	p.slirp = net.slirp
	var slirpPorts []PortSpec
	if net.bridge != nil {
		plan := net.bridge
		plan.name, plan.hostname, plan.hostsPath, plan.extraHosts = o.Name, o.Hostname, filepath.Join(p.bundle, "hosts"), extraHosts
		if plan.ports, err = o.publishedPorts(imgCfg); err != nil {
			return p, &UsageError{err}
		}
		p.net = plan
	} else if (len(o.ports) > 0 || o.PublishAll) && net.slirp {
		// Rootless: slirp4netns forwards them (startSlirp).
		if slirpPorts, err = o.publishedPorts(imgCfg); err != nil {
			return p, &UsageError{err}
		}
	} else if (len(o.ports) > 0 || o.PublishAll) && Rootless() {
		return p, &UsageError{errors.New("-p/-P are not available in rootless mode without slirp4netns: publishing a port needs a bridge network and nftables rules in the host's network namespace (root), or slirp4netns's forwards")}
	} else if len(o.ports) > 0 || o.PublishAll {
		return p, &UsageError{fmt.Errorf("-p/-P need a bridge network; --network %s has none (with --network host the container's ports are the host's already)", o.Network)}
	}
	vols, err := anonymousVolumes(root, p.dataDir, imgCfg.Volumes)
	if err != nil {
		return p, err
	}
	mounts = append(mounts, vols...)
	mounts, mountPoints, unlockVolumes, err := e.volumeMounts(o, root, p.dataDir, mounts)
	if err != nil {
		return p, err
	}
	defer unlockVolumes() // until meta.json names the volumes (see volumeMounts)
	if err := p.userns.chownVolumes(mounts, e.volumesDir(), p.dataDir); err != nil {
		return p, err
	}
	if err := o.gatherPrivileged(); err != nil {
		return p, err
	}
	rc := oci.RunConfig{
		Image: imgCfg, Args: o.Args, Entrypoint: o.Entrypoint, Env: o.Env, Workdir: o.Workdir,
		User: user, Hostname: o.Hostname, TTY: o.TTY, ReadOnly: o.ReadOnly, Rootfs: root, Mounts: mounts,
		Resources: o.resources, CgroupsPath: cgroupPath(o.CgroupParent, id), Ulimits: o.Ulimits, Security: o.security,
	}
	if p.userns != nil {
		rc.UIDMappings, rc.GIDMappings = p.userns.uidMappings(), p.userns.gidMappings()
	}
	if o.Init {
		if rc.InitBinary, err = container.InitBinary(); err != nil {
			return p, fmt.Errorf("--init: find the minirun binary: %w", err)
		}
	}
	imageName, imageID := o.Rootfs, ""
	if img != nil {
		imageName, imageID = image.FamiliarRef(img.Ref), img.ID.String()
		if img.Ref == "" { // an untagged image, run by ID
			imageName = img.ID.Encoded()[:12]
		}
		rc.Annotations = map[string]string{"org.opencontainers.image.ref.name": img.Ref}
	}
	p.spec, err = oci.BuildSpec(rc)
	if err != nil {
		return p, &UsageError{err}
	}
	net.apply(p.spec)
	if p.overlay != nil {
		p.spec.Root.Path = filepath.Join(p.bundle, "rootfs") // init mounts the overlay there
	}
	if Rootless() {
		if err := e.applyRootless(p, o.Stderr); err != nil {
			return p, err
		}
	}
	// Compact: with Docker's seccomp profile indenting makes the file
	// about twice as big, for the runtime to write and read back.
	b, _ := json.Marshal(p.spec)
	if err := os.WriteFile(filepath.Join(p.bundle, "config.json"), b, 0o600); err != nil {
		return p, err
	}
	p.meta = Meta{ID: id, Name: o.Name, Image: imageName, ImageID: imageID, StopSignal: imgCfg.StopSignal, Command: p.spec.Process.Args, Created: time.Now().UTC(), Remove: o.Remove,
		Network: firstNonEmpty(o.Network, DefaultNetwork), Hostname: o.Hostname, Aliases: o.NetworkAliases, IP: o.IP,
		ExtraHosts: extraHosts, Restart: o.Restart, StopTimeout: o.StopTimeout, TTY: o.TTY, Detached: o.Detach,
		OpenStdin: o.Interactive, LogMaxSize: o.logMaxSize, LogMaxFiles: o.logMaxFiles, Rootfs: o.Rootfs, UserNS: p.userns}
	if o.StopSignal != "" {
		p.meta.StopSignal = o.StopSignal
	}
	p.meta.Mounts = mountPoints
	if p.net != nil {
		p.meta.Ports = p.net.ports
	} else if p.slirp {
		p.meta.Ports = slirpPorts
	}
	mb, _ := json.Marshal(&p.meta)
	if err := os.WriteFile(filepath.Join(p.dataDir, "meta.json"), mb, 0o600); err != nil {
		return p, err
	}
	return p, nil
}

// findImage applies the --pull policy: never (the store only), missing
// (pull when the store lacks it, Docker's default) or always.
func (e *Engine) findImage(store *image.Store, o RunOptions) (*image.Image, error) {
	if o.Pull != "always" {
		img, err := store.Get(o.Image)
		if err == nil || !errors.Is(err, image.ErrNotFound) {
			return img, err
		}
		if o.Pull == "never" {
			return nil, fmt.Errorf("image %q not found locally and --pull never forbids pulling it: "+
				"check the name (minirun images lists what is here), pull it, or import it offline with "+
				"`minirun import ROOTFS.tar NAME` (make busybox-image builds busybox)", o.Image)
		}
		fmt.Fprintf(o.Stderr, "Unable to find image '%s' locally\n", o.Image)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
	defer stop()
	img, err := store.Pull(ctx, o.Image, image.PullOptions{
		Platform: o.Platform,
		Mirror:   os.Getenv("MINIRUN_REGISTRY_MIRROR"),
		Progress: image.NewProgress(o.Stderr, term.IsTerminal(int(o.Stderr.Fd()))),
	})
	if err != nil {
		return nil, fmt.Errorf("image %q not found locally and the pull failed: %w\n"+
			"Check the name, or import the image offline: `minirun import ROOTFS.tar NAME`, `minirun load -i ARCHIVE` "+
			"(make busybox-image builds busybox without a registry)", o.Image, err)
	}
	return img, nil
}

// cgroupPath is <parent>/<id>, the parent from --cgroup-parent, then
// MINIRUN_CGROUP_PARENT, then /minirun.
func cgroupPath(parent, id string) string {
	if parent == "" {
		parent = os.Getenv("MINIRUN_CGROUP_PARENT")
	}
	if parent == "" {
		parent = DefaultCgroupParent
	}
	return strings.TrimSuffix(parent, "/") + "/" + id
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// cleanup undoes prepare (and the runtime state). With remove it deletes
// everything; otherwise it keeps the container's directories (a stopped
// container, as `docker ps -a` shows) but never a mount.
func (e *Engine) cleanup(p *prepared, remove bool) error {
	var errs []error
	if err := e.leaveNetworks(p.id); err != nil {
		errs = append(errs, err)
	}
	if c, err := e.Runtime.Load(p.id); err == nil {
		if err := c.Delete(true); err != nil {
			errs = append(errs, err)
		}
	}
	if p.rootfsMounted != "" && !Rootless() {
		if err := rootfs.Unmount(p.rootfsMounted); err != nil {
			// Removing the bundle now would delete through the mount
			// (a --rootfs directory idmapped there is the user's own).
			return errors.Join(append(errs, err)...)
		}
	}
	if remove {
		e.releaseName(p.meta.Name, p.id)
		for _, d := range []string{p.bundle, p.dataDir} {
			if err := removeAll(d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// copyOut copies until EOF or EIO (a pty master reads EIO once the last
// slave descriptor is closed).
func copyOut(dst io.Writer, src io.Reader) {
	_, _ = io.Copy(dst, src)
}
