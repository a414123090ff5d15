package main

import (
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/minirun/minirun/engine"
)

func newRunCommand(g *globals) *cobra.Command {
	var o engine.RunOptions
	var entrypoint string
	var bundle, pidFile, consoleSocket string
	c := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Run a command in a new container",
		Long: `Run a command in a new container, from an image in the local store or (--rootfs)
a plain directory. With --bundle it is the OCI "run" of runc: create, start and
wait for the bundle's config.json.

At a terminal, with neither -i nor -t given, run behaves as -it, so that
"minirun run busybox sh" is a shell you can type into; give -i=false (or pipe
the input) for Docker's behaviour.`,
		Example: `  sudo minirun run busybox sh
  sudo minirun run --rm -e FOO=bar -w /tmp -u 1000:1000 --hostname web busybox sh -c 'id; pwd; hostname; echo $FOO'
  echo hello | sudo minirun run --rm -i busybox cat
  sudo minirun run --rm --rootfs ./some-dir /bin/sh -c 'ls /'
  sudo minirun run --dry-run busybox sh
  sudo minirun run --rm -m 64m --pids-limit 20 --cpus 0.5 busybox sh
  sudo minirun run -d --name web -p 8080:80 busybox httpd -f -p 80
  sudo minirun run --rm busybox wget -qO- http://web/
  sudo minirun run --rm --privileged busybox sh -c 'grep Cap /proc/self/status; ls -l /dev/vda'
  sudo minirun run --rm --userns=auto busybox sh -c 'cat /proc/self/uid_map; id'
  sudo minirun run --rm --read-only --tmpfs /tmp busybox sh -c 'touch /tmp/ok && touch /nope'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if bundle != "" || cmd.Flags().Changed("bundle") {
				return ociRun(g, bundle, pidFile, consoleSocket, o.NoPivot, args)
			}
			if o.Rootfs == "" {
				if len(args) == 0 {
					return usageErr(cmd, errorf(`"minirun run" requires at least 1 argument: an image, or --rootfs DIR`))
				}
				o.Image, args = args[0], args[1:]
			}
			o.Args = args
			if cmd.Flags().Changed("entrypoint") {
				o.Entrypoint = &entrypoint
			}
			if !cmd.Flags().Changed("network") {
				o.Network = "" // the engine's default: bridge, or slirp4netns in rootless mode
			}
			o.Stdin, o.Stdout, o.Stderr = os.Stdin, os.Stdout, os.Stderr
			// A person at a terminal who types `minirun run busybox sh`
			// wants the shell: with neither -i nor -t given (not even as
			// =false) and a terminal on both ends, run acts as -it.
			// Docker would start sh with no input and return at once.
			if !o.Detach && !cmd.Flags().Changed("interactive") && !cmd.Flags().Changed("tty") &&
				term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd())) {
				o.Interactive, o.TTY = true, true
			}
			code, err := g.engine().Run(o)
			if err != nil {
				return err
			}
			return exitError(code)
		},
	}
	f := c.Flags()
	f.SetInterspersed(false) // flags after the image belong to the command
	f.BoolVarP(&o.Interactive, "interactive", "i", false, "keep stdin open and connected to the container")
	f.BoolVarP(&o.TTY, "tty", "t", false, "allocate a pseudo-terminal inside the container")
	f.BoolVar(&o.Remove, "rm", false, "remove the container and its files when it exits")
	f.BoolVarP(&o.Detach, "detach", "d", false, "run in the background under a monitor; print the container ID")
	f.StringVar(&o.Restart, "restart", "no", "restart policy with -d: no, on-failure[:N], always, unless-stopped")
	f.StringVar(&o.StopSignal, "stop-signal", "", "signal that stops the container (default: the image's STOPSIGNAL, else SIGTERM)")
	f.IntVar(&o.StopTimeout, "stop-timeout", 0, "seconds stop waits before SIGKILL (default 10)")
	f.StringArrayVar(&o.LogOpts, "log-opt", nil, "log rotation for -d: max-size=10m, max-file=3")
	f.StringArrayVar(&o.CapAdd, "cap-add", nil, "add a capability (NET_ADMIN, or ALL)")
	f.StringArrayVar(&o.CapDrop, "cap-drop", nil, "drop a capability (NET_RAW, or ALL)")
	f.BoolVar(&o.Privileged, "privileged", false, "give the container the host's powers, as Docker does: every capability (those the host cannot grant, not in minirun's bounding set, are left out with a warning), no seccomp filter (unless --security-opt seccomp=PROFILE), no masked or read-only /proc paths, /sys and /sys/fs/cgroup read-write, every device allowed and the host's /dev nodes created; --cap-drop still applies")
	f.StringVar(&o.UserNS, "userns", "host", "user namespace: host (none: root inside is root outside) or auto[:size=N] (root inside is an unprivileged host ID from the subordinate IDs of user "+engine.SubIDUser+" in /etc/subuid and /etc/subgid, or the files MINIRUN_SUBUID_FILE and MINIRUN_SUBGID_FILE name; default size 65536)")
	f.StringArrayVar(&o.SecurityOpts, "security-opt", nil, "seccomp=unconfined|PROFILE.json (default: Docker's profile), no-new-privileges[=true|false]")
	f.StringArrayVarP(&o.Env, "env", "e", nil, "set an environment variable (KEY=VALUE, or KEY to copy it from here)")
	f.StringVarP(&o.Workdir, "workdir", "w", "", "working directory inside the container (absolute)")
	f.StringVarP(&o.User, "user", "u", "", "user[:group] to run as, names from the image's /etc/passwd or numeric IDs")
	f.StringVar(&o.Hostname, "hostname", "", "container hostname (default: the short container ID)")
	f.StringVar(&o.Name, "name", "", "assign a name to the container")
	f.StringVar(&entrypoint, "entrypoint", "", "override the image's ENTRYPOINT (\"\" clears it)")
	f.BoolVar(&o.Init, "init", false, "run a tiny init as PID 1 that forwards signals and reaps zombies")
	f.BoolVar(&o.ReadOnly, "read-only", false, "mount the container's root filesystem read-only")
	f.StringVar(&o.Rootfs, "rootfs", "", "use this directory as the root filesystem instead of an image")
	f.StringArrayVarP(&o.Volumes, "volume", "v", nil, "bind mount or volume: -v /host/dir:/dir[:ro] (a missing host dir is created), -v NAME:/dir[:ro] (a named volume, made on first use and filled from the image if empty), -v /dir (anonymous, goes with the container)")
	f.StringArrayVar(&o.MountSpecs, "mount", nil, "a mount, Docker's syntax: type=bind,src=/host/dir,dst=/dir[,readonly] | type=volume,src=NAME,dst=/dir[,volume-nocopy] | type=tmpfs,dst=/run[,tmpfs-size=64m,tmpfs-mode=1777]")
	f.StringArrayVar(&o.Tmpfs, "tmpfs", nil, "mount a tmpfs: --tmpfs /run[:size=64m,mode=1777,...] (noexec,nosuid,nodev unless exec, suid, dev are given)")
	f.BoolVar(&o.DryRun, "dry-run", false, "print the OCI config.json that would run, and run nothing")
	f.BoolVar(&o.NoPivot, "no-pivot", false, "chroot into a moved mount instead of pivot_root (for initramfs hosts; weaker)")
	f.StringVar(&o.Network, "network", engine.DefaultNetwork, "network: a bridge network's name (default: bridge, on minirun0), none (only lo), host, or container:NAME (share another container's)")
	f.StringArrayVar(&o.NetworkAliases, "network-alias", nil, "another name other containers on the network can use for this one")
	f.StringVar(&o.IP, "ip", "", "a fixed IPv4 address on the network")
	f.StringArrayVarP(&o.Publish, "publish", "p", nil, "publish a port: [[HOST_IP:][HOST_PORT]:]CONTAINER_PORT[/tcp|udp] (8080:80, 127.0.0.1:53:53/udp)")
	f.BoolVarP(&o.PublishAll, "publish-all", "P", false, "publish every exposed port (EXPOSE, --expose) on a free host port")
	f.StringArrayVar(&o.Expose, "expose", nil, "expose a port (PORT[/PROTO]) for -P")
	f.StringArrayVar(&o.DNS.Servers, "dns", nil, "a DNS server for the container's resolv.conf")
	f.StringArrayVar(&o.DNS.Search, "dns-search", nil, "a DNS search domain")
	f.StringArrayVar(&o.DNS.Options, "dns-option", nil, "a resolv.conf option (ndots:2)")
	f.StringArrayVar(&o.AddHosts, "add-host", nil, "add NAME:IP to /etc/hosts (IP host-gateway: the network's gateway)")
	f.StringVar(&o.Pull, "pull", "missing", "pull the image before running: always, missing or never")
	f.StringVar(&o.Platform, "platform", "", "os/arch[/variant] to pull when the image is multi-platform")
	f.StringArrayVar(&o.Ulimits, "ulimit", nil, "resource limit NAME=SOFT[:HARD] (nofile=1024:2048; see man 2 prlimit)")
	l := &o.Limits
	f.StringVarP(&l.Memory, "memory", "m", "", "memory limit (e.g. 64m); the OOM killer acts inside the container above it")
	f.StringVar(&l.MemoryReservation, "memory-reservation", "", "memory soft limit")
	f.StringVar(&l.MemorySwap, "memory-swap", "", "memory plus swap limit (-1: unlimited swap)")
	f.Int64Var(&l.MemorySwappiness, "memory-swappiness", -1, "swappiness of the container's memory, 0 to 100")
	f.BoolVar(&l.OOMKillDisable, "oom-kill-disable", false, "disable the OOM killer (cgroup v1 only)")
	f.StringVar(&l.CPUs, "cpus", "", "number of CPUs (e.g. 0.5: half a core, as a CFS quota)")
	f.Int64VarP(&l.CPUShares, "cpu-shares", "c", 0, "relative CPU weight (default 1024)")
	f.Int64Var(&l.CPUQuota, "cpu-quota", 0, "CFS quota in microseconds per period")
	f.Int64Var(&l.CPUPeriod, "cpu-period", 0, "CFS period in microseconds")
	f.StringVar(&l.CPUsetCPUs, "cpuset-cpus", "", "CPUs the container may run on (0-1,3)")
	f.StringVar(&l.CPUsetMems, "cpuset-mems", "", "memory nodes the container may use")
	f.Int64Var(&l.PidsLimit, "pids-limit", 0, "maximum number of processes (-1: unlimited)")
	f.Uint16Var(&l.BlkioWeight, "blkio-weight", 0, "relative block I/O weight, 10 to 1000")
	f.StringArrayVar(&l.DeviceReadBps, "device-read-bps", nil, "read rate limit for a device (/dev/vda:1mb)")
	f.StringArrayVar(&l.DeviceWriteBps, "device-write-bps", nil, "write rate limit for a device (/dev/vda:1mb)")
	f.StringArrayVar(&l.DeviceReadIOps, "device-read-iops", nil, "read operations per second for a device (/dev/vda:100)")
	f.StringArrayVar(&l.DeviceWriteIOps, "device-write-iops", nil, "write operations per second for a device (/dev/vda:100)")
	f.StringVar(&o.CgroupParent, "cgroup-parent", "", "parent cgroup: absolute, or relative to minirun's own cgroup (env MINIRUN_CGROUP_PARENT; default /minirun)")
	f.StringVarP(&bundle, "bundle", "b", "", "OCI mode: run the bundle in this directory (runc run)")
	f.StringVar(&pidFile, "pid-file", "", "OCI mode: write the container's PID here")
	f.StringVar(&consoleSocket, "console-socket", "", "OCI mode: send the pty master to this AF_UNIX socket")
	return c
}
