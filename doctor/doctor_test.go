package doctor

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeMountinfo is a systemd host's mount table, / private (the optional
// fields are filled in by the tests).
const fakeMountinfo = `22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
27 1 254:0 / / rw,relatime %s - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw
`

const hybridMountinfo = `27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

// fake is a healthy cgroup v2 host, seen by root; tests break one thing.
type fake struct {
	files   map[string]string
	statfs  map[string]int64
	paths   map[string]string // LookPath
	owners  map[string]os.FileMode
	xattrs  map[string]string
	cmds    map[string]string // "name args" -> stdout
	nsErr   map[uintptr]error
	chains  []FwChain
	fwErr   error
	release string
	net     error
	nft     error
	overlay error
	idmap   error
	action  map[uint32]error
	mode    error
}

func newFake() *fake {
	return &fake{
		files: map[string]string{
			"/proc/self/mountinfo":                       strings.Replace(fakeMountinfo, "%s", "", 1),
			"/proc/filesystems":                          "nodev\tsysfs\nnodev\tproc\nnodev\toverlay\n\text4\n",
			"/sys/fs/cgroup/cgroup.controllers":          "cpuset cpu io memory hugetlb pids rdma misc\n",
			"/proc/sys/net/ipv4/ip_forward":              "1\n",
			"/proc/sys/user/max_user_namespaces":         "63289\n",
			"/proc/self/status":                          "Name:\tminirun\nSeccomp:\t0\nSeccomp_filters:\t0\n",
			"/etc/subuid":                                "alice:100000:65536\ncontainers:300000:1048576\n",
			"/etc/subgid":                                "alice:100000:65536\ncontainers:300000:1048576\n",
			"/proc/sys/kernel/unprivileged_userns_clone": "1\n",
		},
		statfs:  map[string]int64{"/sys/fs/cgroup": unix.CGROUP2_SUPER_MAGIC, "/var/lib": unix.EXT4_SUPER_MAGIC, "/": unix.EXT4_SUPER_MAGIC},
		paths:   map[string]string{"newuidmap": "/usr/bin/newuidmap", "newgidmap": "/usr/bin/newgidmap"},
		owners:  map[string]os.FileMode{"/usr/bin/newuidmap": 0o755 | os.ModeSetuid, "/usr/bin/newgidmap": 0o755 | os.ModeSetuid},
		xattrs:  map[string]string{},
		cmds:    map[string]string{},
		nsErr:   map[uintptr]error{},
		release: "6.8.0-45-generic",
		action:  map[uint32]error{},
	}
}

func (f *fake) host(uid int, user string) *Host {
	return &Host{
		UID: uid, User: user, UserUID: 1000,
		ReadFile: func(p string) ([]byte, error) {
			if v, ok := f.files[p]; ok {
				return []byte(v), nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: unix.ENOENT}
		},
		Statfs: func(p string) (int64, error) {
			if v, ok := f.statfs[p]; ok {
				return v, nil
			}
			return 0, unix.ENOENT
		},
		StatOwner: func(p string) (os.FileMode, int, error) {
			if m, ok := f.owners[p]; ok {
				return m, 0, nil
			}
			return 0, 0, unix.ENOENT
		},
		Getxattr: func(p, n string) ([]byte, error) {
			if v, ok := f.xattrs[p]; ok {
				return []byte(v), nil
			}
			return nil, unix.ENODATA
		},
		LookPath: func(n string) (string, error) {
			if p, ok := f.paths[n]; ok {
				return p, nil
			}
			return "", errors.New("not found")
		},
		Command: func(n string, a ...string) (string, error) {
			if out, ok := f.cmds[n+" "+strings.Join(a, " ")]; ok {
				return out, nil
			}
			return "", errors.New("no such command")
		},
		Uname:              func() (string, error) { return f.release, nil },
		Unshare:            func(fl uintptr) error { return f.nsErr[fl] },
		NetProbe:           func() error { return f.net },
		NftProbe:           func() error { return f.nft },
		ForwardChains:      func() ([]FwChain, error) { return f.chains, f.fwErr },
		OverlayProbe:       func(string) error { return f.overlay },
		IDMapProbe:         func(string) error { return f.idmap },
		SeccompMode:        func() (int, error) { return 0, f.mode },
		SeccompActionAvail: func(a uint32) error { return f.action[a] },
		Cgo:                true,
	}
}

func run(t *testing.T, h *Host) map[string]Result {
	t.Helper()
	out := map[string]Result{}
	for _, r := range Run(h, Options{DataRoot: "/var/lib/minirun"}) {
		if r.Status != OK && r.Status != Warn && r.Status != Fail && r.Status != Skip {
			t.Errorf("%s: status %q", r.ID, r.Status)
		}
		if r.Message == "" || r.Title == "" {
			t.Errorf("%s: no message or title: %+v", r.ID, r)
		}
		if (r.Status == Warn || r.Status == Fail) && (len(r.Fix) == 0 || r.Why == "" || len(r.Evidence) == 0) {
			t.Errorf("%s is %s without evidence, why and fix: %+v", r.ID, r.Status, r)
		}
		out[r.ID] = r
	}
	return out
}

// expect checks one verdict and that its text says each of words.
func expect(t *testing.T, rs map[string]Result, id string, s Status, words ...string) Result {
	t.Helper()
	r, ok := rs[id]
	if !ok {
		t.Fatalf("no check %s", id)
	}
	if r.Status != s {
		t.Errorf("%s: status %s, want %s: %s (evidence %q)", id, r.Status, s, r.Message, r.Evidence)
	}
	all := r.Message + "\n" + strings.Join(r.Evidence, "\n") + "\n" + r.Why + "\n" + strings.Join(r.Fix, "\n")
	for _, w := range words {
		if !strings.Contains(all, w) {
			t.Errorf("%s: %q not in:\n%s", id, w, all)
		}
	}
	return r
}

func TestHealthyHost(t *testing.T) {
	rs := run(t, newFake().host(0, ""))
	for id, r := range rs {
		if r.Status != OK && r.Status != Skip {
			t.Errorf("%s: %s: %s %q", id, r.Status, r.Message, r.Evidence)
		}
	}
	if Failed(Run(newFake().host(0, ""), Options{})) {
		t.Error("a healthy host fails")
	}
	expect(t, rs, "cgroups.mode", OK, "cgroup v2", "memory.limit_in_bytes → memory.max", "cgroup.procs")
	expect(t, rs, "mounts.overlay_upper", OK, "ext4", "throwaway mount namespace")
}

func TestSharedRootExplainsPivotRoot(t *testing.T) {
	f := newFake()
	f.files["/proc/self/mountinfo"] = strings.Replace(fakeMountinfo, "%s", "shared:1", 1)
	rs := run(t, f.host(0, ""))
	expect(t, rs, "mounts.propagation", Warn, "shared", "pivot_root", "EINVAL", "MS_PRIVATE", "--make-rprivate")
	expect(t, rs, "mounts.pivot_root", OK)
	// a slave root is fine
	f.files["/proc/self/mountinfo"] = strings.Replace(fakeMountinfo, "%s", "master:1", 1)
	expect(t, run(t, f.host(0, "")), "mounts.propagation", OK, "slave")
}

func TestInitramfsRootFailsPivotRoot(t *testing.T) {
	f := newFake()
	f.files["/proc/self/mountinfo"] = "2 2 0:2 / / rw - rootfs rootfs rw\n24 2 0:22 / /proc rw,relatime - proc proc rw\n"
	rs := run(t, f.host(0, ""))
	expect(t, rs, "mounts.pivot_root", Fail, "rootfs", "EINVAL", "--no-pivot", "switch_root")
	if !Failed(Run(f.host(0, ""), Options{})) {
		t.Error("an initramfs root must make doctor fail")
	}
	// vmtest's trick: / bind-mounted onto /newroot, moved over / and
	// chrooted into: still rootfs, but a mount with a parent.
	f.files["/proc/self/mountinfo"] = "17 1 0:1 / / rw - rootfs rootfs rw\n"
	expect(t, run(t, f.host(0, "")), "mounts.pivot_root", OK, "bind-mounted over itself")
}

func TestHybridCgroups(t *testing.T) {
	f := newFake()
	f.files["/proc/self/mountinfo"] = hybridMountinfo
	f.files["/sys/fs/cgroup/unified/cgroup.controllers"] = "\n"
	f.statfs["/sys/fs/cgroup"] = unix.TMPFS_MAGIC
	f.statfs["/sys/fs/cgroup/unified"] = unix.CGROUP2_SUPER_MAGIC
	rs := run(t, f.host(0, ""))
	expect(t, rs, "cgroups.mode", Warn, "hybrid", "controllers: none", "cgroup.subtree_control", "systemd.unified_cgroup_hierarchy=1")
	r := expect(t, rs, "cgroups.controllers", OK, "cpu", "memory", "pids", "devices", "freezer")
	if strings.Contains(strings.Join(r.Evidence, ""), "rw,") {
		t.Errorf("mount flags listed as controllers: %q", r.Evidence)
	}
	expect(t, rs, "cgroups.delegation", Skip)

	// WSL2: the same layout, explained with WSL's own fix.
	f.release = "5.15.153.1-microsoft-standard-WSL2"
	expect(t, run(t, f.host(0, "")), "cgroups.mode", Warn, "WSL2", "cgroup_no_v1=all", "systemd=true", "wsl --shutdown")
}

func TestLegacyAndMissingCgroups(t *testing.T) {
	f := newFake()
	f.files["/proc/self/mountinfo"] = strings.Replace(hybridMountinfo, "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n", "", 1)
	f.statfs["/sys/fs/cgroup"] = unix.TMPFS_MAGIC
	rs := run(t, f.host(0, ""))
	expect(t, rs, "cgroups.mode", Warn, "cgroup v1 only", "memory.max")
	// no memory controller
	f.files["/proc/self/mountinfo"] = strings.Replace(f.files["/proc/self/mountinfo"], "rw,memory", "rw,hugetlb", 1)
	expect(t, run(t, f.host(0, "")), "cgroups.controllers", Warn, "memory")

	delete(f.statfs, "/sys/fs/cgroup")
	rs = run(t, f.host(0, ""))
	expect(t, rs, "cgroups.mode", Fail, "no cgroup filesystem", "mount -t cgroup2")
}

func TestDelegation(t *testing.T) {
	f := newFake()
	p := "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.subtree_control"
	f.files[p] = "memory pids\n"
	expect(t, run(t, f.host(1000, "alice")), "cgroups.delegation", Warn, p, "cpu", "Delegate=cpu cpuset io memory pids", "daemon-reload")
	f.files[p] = "cpu io memory pids\n"
	expect(t, run(t, f.host(1000, "alice")), "cgroups.delegation", OK)
	delete(f.files, p)
	expect(t, run(t, f.host(1000, "alice")), "cgroups.delegation", Warn, "enable-linger alice")
	// root (not through sudo): not applicable
	expect(t, run(t, f.host(0, "")), "cgroups.delegation", Skip)
}

func TestForwardPolicyDrop(t *testing.T) {
	f := newFake()
	f.chains = []FwChain{
		{Family: "ip", Table: "minirun", Name: "forward", Hook: "forward", Policy: "accept"},
		{Family: "ip", Table: "filter", Name: "FORWARD", Hook: "forward", Policy: "drop"},
	}
	r := expect(t, run(t, f.host(0, "")), "network.forward_policy", Warn,
		"nft table ip filter chain FORWARD", "internet", "policy accept", "does not override",
		"iptables -I FORWARD -i minirun0 -j ACCEPT", "RELATED,ESTABLISHED", "DOCKER-USER")
	if len(r.Evidence) != 2 {
		t.Errorf("evidence: %q", r.Evidence)
	}
	// iptables-legacy keeps its own tables
	f.chains = nil
	f.paths["iptables-legacy"] = "/usr/sbin/iptables-legacy"
	f.cmds["iptables-legacy -S FORWARD"] = "-P FORWARD DROP\n"
	// no legacy filter table loaded: iptables-legacy is not even run
	expect(t, run(t, f.host(0, "")), "network.forward_policy", OK)
	f.files["/proc/net/ip_tables_names"] = "nat\nfilter\n"
	f.cmds["iptables-legacy -S FORWARD"] = "-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n"
	expect(t, run(t, f.host(0, "")), "network.forward_policy", Warn, "iptables-legacy filter FORWARD", "-P FORWARD DROP")
	f.cmds["iptables-legacy -S FORWARD"] = "-P FORWARD ACCEPT\n"
	expect(t, run(t, f.host(0, "")), "network.forward_policy", OK)
	// nothing readable: no verdict
	delete(f.paths, "iptables-legacy")
	f.fwErr = unix.EPROTONOSUPPORT
	expect(t, run(t, f.host(0, "")), "network.forward_policy", Skip, "protocol not supported")
}

func TestIPForwardOff(t *testing.T) {
	f := newFake()
	f.files["/proc/sys/net/ipv4/ip_forward"] = "0\n"
	expect(t, run(t, f.host(0, "")), "network.ip_forward", Warn, "ip_forward: 0", "sysctl -w net.ipv4.ip_forward=1")
}

func TestNetworkProbesFail(t *testing.T) {
	f := newFake()
	f.net = errors.New("ip link add doctor-v0 type veth peer name doctor-v1: operation not supported")
	f.nft = errors.New("nft add table ip doctor: protocol not supported")
	rs := run(t, f.host(0, ""))
	expect(t, rs, "network.veth_bridge", Fail, "operation not supported", "modprobe veth", "--network none")
	expect(t, rs, "network.nftables", Fail, "protocol not supported", "modprobe nf_tables")
	// as a user: skipped, with what rootless networking needs instead
	rs = run(t, f.host(1000, "alice"))
	expect(t, rs, "network.veth_bridge", Skip, "slirp4netns")
	expect(t, rs, "network.forward_policy", Skip)
}

func TestNamespaceProbes(t *testing.T) {
	f := newFake()
	f.nsErr[unix.CLONE_NEWCGROUP] = unix.EINVAL
	f.nsErr[unix.CLONE_NEWTIME] = unix.EINVAL
	f.nsErr[unix.CLONE_NEWUSER] = unix.EPERM
	f.nsErr[unix.CLONE_NEWNET] = unix.EPERM
	f.files["/proc/sys/user/max_user_namespaces"] = "0\n"
	rs := run(t, f.host(0, ""))
	expect(t, rs, "namespaces.cgroup", Fail, "clone(CLONE_NEWCGROUP)", "EINVAL", "CONFIG_CGROUPS")
	expect(t, rs, "namespaces.time", Warn, "unshare(CLONE_NEWTIME)", "CONFIG_TIME_NS", "5.6")
	expect(t, rs, "namespaces.user", Warn, "max_user_namespaces: 0", "sysctl -w user.max_user_namespaces=15000")
	expect(t, rs, "namespaces.network", Fail, "although running as root", "--privileged")
	expect(t, rs, "namespaces.mount", OK)
}

func TestRootlessUserNamespaces(t *testing.T) {
	f := newFake()
	f.files["/proc/sys/kernel/unprivileged_userns_clone"] = "0\n"
	f.files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1\n"
	f.files["/proc/self/status"] = "Seccomp:\t2\n"
	for _, fl := range []uintptr{unix.CLONE_NEWUSER, unix.CLONE_NEWNS, unix.CLONE_NEWPID, unix.CLONE_NEWNET, unix.CLONE_NEWUTS, unix.CLONE_NEWIPC, unix.CLONE_NEWCGROUP} {
		f.nsErr[fl|unix.CLONE_NEWUSER] = unix.EPERM
	}
	rs := run(t, f.host(1000, "alice"))
	expect(t, rs, "namespaces.mount", Warn, "clone(CLONE_NEWNS|CLONE_NEWUSER)", "unprivileged_userns_clone: 0", "apparmor_restrict_unprivileged_userns: 1", "Seccomp: 2")
	expect(t, rs, "namespaces.time", Skip)
	expect(t, rs, "user.userns_sysctls", Warn, "Debian", "Ubuntu", "kernel.unprivileged_userns_clone=1", "userns,")
	expect(t, rs, "security.seccomp", Warn, "seccomp filter", "seccomp=unconfined")
	expect(t, rs, "mounts.overlay_upper", Skip)
}

func TestSubUID(t *testing.T) {
	f := newFake()
	expect(t, run(t, f.host(1000, "alice")), "user.subuid", OK, "/etc/subuid: alice has 100000-165535")
	// by UID counts too; a short range warns
	f.files["/etc/subuid"] = "bob:100000:65536\n1000:200000:1000\n"
	expect(t, run(t, f.host(1000, "alice")), "user.subuid", Warn, "1000 IDs", "usermod --add-subuids")
	delete(f.files, "/etc/subgid")
	expect(t, run(t, f.host(1000, "alice")), "user.subuid", Warn, "/etc/subgid")
	f.files["/etc/subuid"] = "bob:100000:65536\n"
	expect(t, run(t, f.host(1000, "alice")), "user.subuid", Warn, "no entry for alice")
	expect(t, run(t, f.host(0, "")), "user.subuid", Skip)
}

func TestSubUIDForUsernsAuto(t *testing.T) {
	f := newFake()
	expect(t, run(t, f.host(0, "")), "user.subuid_auto", OK, "containers has 300000-1348575")
	f.files["/etc/subgid"] = "alice:100000:65536\n"
	expect(t, run(t, f.host(0, "")), "user.subuid_auto", Warn, "/etc/subgid: no entry for containers",
		"--userns=auto refuses", "echo containers:100000:1048576 >> /etc/subgid")
	f.files["/etc/subgid"] = "containers:x:y\n"
	expect(t, run(t, f.host(0, "")), "user.subuid_auto", Warn, "/etc/subgid: ")
	// the engine's overrides (MINIRUN_SUBGID_FILE) are what is read
	f.files["/tmp/subgid"] = "containers:500000:65536\n"
	var byID map[string]Result
	byID = map[string]Result{}
	for _, r := range Run(f.host(0, ""), Options{SubGIDFile: "/tmp/subgid"}) {
		byID[r.ID] = r
	}
	expect(t, byID, "user.subuid_auto", OK, "/tmp/subgid: containers has 500000-565535")
	expect(t, run(t, f.host(1000, "alice")), "user.subuid_auto", Skip)
}

func TestNewUIDMap(t *testing.T) {
	f := newFake()
	expect(t, run(t, f.host(1000, "alice")), "user.newuidmap", OK, "setuid root")
	f.owners["/usr/bin/newuidmap"] = 0o755
	expect(t, run(t, f.host(1000, "alice")), "user.newuidmap", Warn, "neither setuid root nor file capabilities", "apt-get install uidmap")
	f.xattrs["/usr/bin/newuidmap"] = "\x01\x00\x00\x02\xc0"
	expect(t, run(t, f.host(1000, "alice")), "user.newuidmap", OK, "file capabilities")
	delete(f.paths, "newgidmap")
	expect(t, run(t, f.host(1000, "alice")), "user.newuidmap", Warn, "newgidmap: not found")
}

func TestSeccomp(t *testing.T) {
	f := newFake()
	f.action[unix.SECCOMP_RET_LOG] = unix.EOPNOTSUPP
	expect(t, run(t, f.host(0, "")), "security.seccomp", Warn, "SECCOMP_RET_LOG")
	f.action[unix.SECCOMP_RET_ERRNO] = unix.EINVAL
	expect(t, run(t, f.host(0, "")), "security.seccomp", Fail, "CONFIG_SECCOMP_FILTER")
	f.mode = unix.EINVAL
	expect(t, run(t, f.host(0, "")), "security.seccomp", Fail, "prctl(PR_GET_SECCOMP): invalid argument", "CONFIG_SECCOMP")
}

func TestOverlay(t *testing.T) {
	f := newFake()
	f.files["/proc/filesystems"] = "nodev\tproc\n\text4\n"
	f.owners["/lib/modules/6.8.0-45-generic/kernel/fs/overlayfs/overlay.ko.zst"] = 0o644
	expect(t, run(t, f.host(0, "")), "mounts.overlay", Warn, "modprobe overlay")
	delete(f.owners, "/lib/modules/6.8.0-45-generic/kernel/fs/overlayfs/overlay.ko.zst")
	expect(t, run(t, f.host(0, "")), "mounts.overlay", Fail, "CONFIG_OVERLAY_FS", "--rootfs")

	// the data root on overlay (minirun in a Docker container): the probe fails
	f = newFake()
	f.statfs["/var/lib"] = unix.OVERLAYFS_SUPER_MAGIC
	f.overlay = errors.New("mount -t overlay -o lowerdir=...: invalid argument")
	expect(t, run(t, f.host(0, "")), "mounts.overlay_upper", Fail, "statfs /var/lib: overlay", "invalid argument", "--data-root", "docker run -v /var/lib/minirun")
}

func TestIDMappedLayers(t *testing.T) {
	f := newFake()
	expect(t, run(t, f.host(0, "")), "mounts.idmapped_layers", OK, "ext4", "shared through idmapped mounts")
	f.idmap = errors.New("this kernel or filesystem cannot make an idmapped mount: overlayfs refused idmapped layers (it takes them since Linux 5.19): invalid argument")
	expect(t, run(t, f.host(0, "")), "mounts.idmapped_layers", Warn, "5.19", "chowned copies", "MINIRUN_USERNS_CHOWN=1")
	expect(t, run(t, f.host(1000, "alice")), "mounts.idmapped_layers", Skip)
}

func TestWithoutCgo(t *testing.T) {
	h := newFake().host(0, "")
	h.Cgo = false
	expect(t, run(t, h), "runtime.nsenter", Fail, "cgo", "setns", "CGO_ENABLED=1")
}

func TestParseMountinfo(t *testing.T) {
	ms := parseMountinfo("36 35 98:0 /mnt1 /mnt\\040two rw,noatime master:1 shared:4 - ext3 /dev/root rw,errors=continue\n" +
		"garbage\n" +
		"40 36 0:5 / /mnt\\040two/sub rw - tmpfs tmpfs rw\n")
	if len(ms) != 2 {
		t.Fatalf("%d entries: %+v", len(ms), ms)
	}
	m := ms[0]
	if m.Point != "/mnt two" || m.FSType != "ext3" || m.Source != "/dev/root" || m.propagation() != "shared+slave" && m.propagation() != "slave+shared" {
		t.Errorf("%+v %s", m, m.propagation())
	}
}
