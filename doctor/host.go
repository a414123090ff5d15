package doctor

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/namespaces"
	"github.com/minirun/minirun/namespaces/nsenter"
	"github.com/minirun/minirun/rootfs"
)

// Host is the seam between the checks and the machine: every fact a check
// uses is read through one of these functions, so that a test can hand the
// checks another machine (a WSL2 kernel, an initramfs root, a DROP
// firewall) made of strings. RealHost fills them in with the real
// syscalls.
type Host struct {
	// UID is the caller's real user ID: 0 means the checks are for minirun
	// as root, anything else for rootless mode.
	UID int
	// User and UserUID are the user rootless mode would run as: the caller
	// itself, or the user behind sudo (SUDO_USER) when run as root. Empty
	// when root was not reached through sudo.
	User    string
	UserUID int

	ReadFile func(path string) ([]byte, error)
	// Statfs returns the filesystem's magic number (statfs(2) f_type).
	Statfs func(path string) (int64, error)
	// StatOwner returns a file's mode and owner (stat(2)).
	StatOwner func(path string) (mode os.FileMode, uid int, err error)
	// Getxattr reads an extended attribute (getxattr(2)).
	Getxattr func(path, name string) ([]byte, error)
	LookPath func(name string) (string, error)
	// Command runs a program and returns its standard output.
	Command func(name string, args ...string) (string, error)
	// Uname returns the kernel release (uname -r).
	Uname func() (string, error)

	// Unshare creates the namespaces of flags (CLONE_NEW*) in a throwaway
	// child process, or thread for CLONE_NEWTIME, and returns the errno of
	// clone(2)/unshare(2), nil when the kernel agreed.
	Unshare func(flags uintptr) error
	// NetProbe creates a bridge and a veth pair on it in a throwaway
	// network namespace.
	NetProbe func() error
	// NftProbe adds an nftables table in a throwaway network namespace.
	NftProbe func() error
	// ForwardChains lists the nftables base chains on the forward hook in
	// the host's network namespace (iptables-nft's FORWARD included).
	ForwardChains func() ([]FwChain, error)
	// OverlayProbe mounts an overlay whose upper and work directories are
	// in dir, in a throwaway mount namespace, writes a file and removes a
	// lower one (a whiteout) through it.
	OverlayProbe func(dir string) error
	// IDMapProbe mounts an overlay whose lower layer in dir is seen through
	// an idmapped mount (0 -> 100000), as --userns=auto mounts image
	// layers, in a throwaway mount namespace, and checks the owner the
	// layer's file shows.
	IDMapProbe func(dir string) error
	// SeccompMode is prctl(PR_GET_SECCOMP): the caller's own mode.
	SeccompMode func() (int, error)
	// SeccompActionAvail is seccomp(SECCOMP_GET_ACTION_AVAIL, action).
	SeccompActionAvail func(action uint32) error
	// Cgo tells whether this binary carries nsenter's C constructor.
	Cgo bool
}

// FwChain is one nftables base chain.
type FwChain struct {
	Family string // "ip", "ip6", "inet", ...
	Table  string
	Name   string
	Hook   string // "forward"
	Policy string // "accept" or "drop"
}

// RealHost is this machine.
func RealHost() *Host {
	h := &Host{
		UID:      os.Getuid(),
		ReadFile: os.ReadFile,
		Statfs: func(path string) (int64, error) {
			var st unix.Statfs_t
			err := unix.Statfs(path, &st)
			return int64(st.Type), err
		},
		StatOwner: func(path string) (os.FileMode, int, error) {
			fi, err := os.Stat(path)
			if err != nil {
				return 0, 0, err
			}
			uid := -1
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				uid = int(st.Uid)
			}
			return fi.Mode(), uid, nil
		},
		Getxattr: func(path, name string) ([]byte, error) {
			buf := make([]byte, 256)
			n, err := unix.Getxattr(path, name, buf)
			if err != nil {
				return nil, err
			}
			return buf[:n], nil
		},
		LookPath: exec.LookPath,
		Command: func(name string, args ...string) (string, error) {
			out, err := exec.Command(name, args...).Output()
			return string(out), err
		},
		Uname: func() (string, error) {
			var u unix.Utsname
			if err := unix.Uname(&u); err != nil {
				return "", err
			}
			return unix.ByteSliceToString(u.Release[:]), nil
		},
		Unshare:       probeUnshare,
		NetProbe:      probeNet,
		NftProbe:      probeNft,
		ForwardChains: forwardChains,
		OverlayProbe:  probeOverlay,
		IDMapProbe:    probeIDMappedOverlay,
		SeccompMode: func() (int, error) {
			return unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
		},
		SeccompActionAvail: func(action uint32) error {
			_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&action)))
			if e != 0 {
				return e
			}
			return nil
		},
		Cgo: nsenter.Enabled,
	}
	h.User, h.UserUID = rootlessUser(h.UID)
	return h
}

// rootlessUser is the user rootless mode is about: the caller, or sudo's
// caller.
func rootlessUser(uid int) (string, int) {
	if uid == 0 {
		name := os.Getenv("SUDO_USER")
		if name == "" || name == "root" {
			return "", 0
		}
		u, err := user.Lookup(name)
		if err != nil {
			return "", 0
		}
		id, _ := strconv.Atoi(u.Uid)
		return name, id
	}
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username, uid
	}
	return strconv.Itoa(uid), uid
}

// probePath is what the probe child executes: it can never exist (/dev/null
// is not a directory), so execve fails with ENOTDIR at once, after clone(2)
// has already created the namespaces. That failure is the success of the
// probe; an error from clone itself comes back as its own errno.
const probePath = "/dev/null/minirun-doctor-probe"

// probeUnshare asks the kernel for new namespaces in a child process. A
// child, not the calling thread: unshare(CLONE_NEWUSER) refuses a process
// with several threads (every Go program), and the child takes its
// namespaces with it when it exits. CLONE_NEWTIME cannot be given to
// clone(2) (its bit is the exit-signal field there), so it is unshared in
// a thread that is then thrown away.
func probeUnshare(flags uintptr) error {
	if flags&unix.CLONE_NEWTIME != 0 {
		return inThrowawayThread(func() error { return unix.Unshare(int(flags)) })
	}
	_, err := syscall.ForkExec(probePath, []string{"minirun-doctor-probe"}, &syscall.ProcAttr{
		Sys: &syscall.SysProcAttr{Cloneflags: flags},
	})
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ENOENT) {
		return nil
	}
	if err == nil {
		return fmt.Errorf("%s unexpectedly exists", probePath)
	}
	return err
}

// inThrowawayThread runs f on an OS thread of its own and lets that thread
// die afterwards: the goroutine locks itself to the thread and never
// unlocks, so Go terminates the thread when the goroutine ends, and with it
// whatever namespaces f moved it into. No other goroutine ever runs there.
func inThrowawayThread(f func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		ch <- f()
	}()
	return <-ch
}

// probeNet makes a bridge and a veth pair on it in a new network namespace
// of a throwaway thread: the host's interfaces are never touched.
func probeNet() error {
	return inThrowawayThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
		}
		// NETLINK_ROUTE only: by default a handle also opens XFRM and
		// netfilter sockets, whose modules a kernel may not have (qemu VM).
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE) // its socket lives in the new namespace
		if err != nil {
			return fmt.Errorf("netlink socket: %w", err)
		}
		defer h.Close()
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "doctor-br0"}}
		if err := h.LinkAdd(br); err != nil {
			return fmt.Errorf("ip link add doctor-br0 type bridge: %w", err)
		}
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "doctor-v0"}, PeerName: "doctor-v1"}
		if err := h.LinkAdd(veth); err != nil {
			return fmt.Errorf("ip link add doctor-v0 type veth peer name doctor-v1: %w", err)
		}
		if err := h.LinkSetMaster(veth, br); err != nil {
			return fmt.Errorf("ip link set doctor-v0 master doctor-br0: %w", err)
		}
		for _, l := range []netlink.Link{br, veth} {
			if err := h.LinkSetUp(l); err != nil {
				return fmt.Errorf("ip link set %s up: %w", l.Attrs().Name, err)
			}
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(10, 199, 0, 1), Mask: net.CIDRMask(24, 32)}}
		if err := h.AddrAdd(br, addr); err != nil {
			return fmt.Errorf("ip addr add 10.199.0.1/24 dev doctor-br0: %w", err)
		}
		return nil
	})
}

// probeNft adds and lists a table in a new network namespace of a
// throwaway thread, over netlink as minirun does (no nft binary).
func probeNft() error {
	return inThrowawayThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
		}
		c, err := nftables.New()
		if err != nil {
			return fmt.Errorf("nftables netlink: %w", err)
		}
		c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: "doctor"})
		if err := c.Flush(); err != nil {
			return fmt.Errorf("nft add table ip doctor: %w", err)
		}
		ts, err := c.ListTables()
		if err != nil {
			return fmt.Errorf("nft list tables: %w", err)
		}
		for _, t := range ts {
			if t.Name == "doctor" {
				return nil
			}
		}
		return errors.New("nft add table ip doctor: accepted, but the table is not listed")
	})
}

var familyNames = map[nftables.TableFamily]string{
	nftables.TableFamilyINet: "inet", nftables.TableFamilyIPv4: "ip", nftables.TableFamilyIPv6: "ip6",
	nftables.TableFamilyARP: "arp", nftables.TableFamilyNetdev: "netdev", nftables.TableFamilyBridge: "bridge",
}

// forwardChains lists the base chains on the forward hook of the host.
func forwardChains() ([]FwChain, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, err
	}
	chains, err := c.ListChains()
	if err != nil {
		return nil, err
	}
	var out []FwChain
	for _, ch := range chains {
		if ch.Hooknum == nil || *ch.Hooknum != *nftables.ChainHookForward || ch.Table == nil {
			continue
		}
		if ch.Table.Family != nftables.TableFamilyIPv4 && ch.Table.Family != nftables.TableFamilyINet {
			continue // containers are IPv4 only
		}
		pol := "accept"
		if ch.Policy != nil && *ch.Policy == nftables.ChainPolicyDrop {
			pol = "drop"
		}
		out = append(out, FwChain{Family: familyNames[ch.Table.Family], Table: ch.Table.Name, Name: ch.Name, Hook: "forward", Policy: pol})
	}
	return out, nil
}

// probeOverlay mounts a small overlay with its upper directory in dir, the
// way minirun mounts a container's root filesystem, in a throwaway mount
// namespace, and exercises what an upper filesystem must support: a new
// file (copy-up) and a deleted lower file (a whiteout, RENAME_WHITEOUT).
func probeOverlay(dir string) error {
	return inScratchMountNS(dir, func(d func(string) string) error {
		opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", d("lower"), d("upper"), d("work"))
		if err := unix.Mount("overlay", d("merged"), "overlay", 0, opts); err != nil {
			return fmt.Errorf("mount -t overlay -o %s: %w", opts, err)
		}
		defer unix.Unmount(d("merged"), unix.MNT_DETACH)
		if err := os.WriteFile(filepath.Join(d("merged"), "new"), []byte("y"), 0o600); err != nil {
			return fmt.Errorf("write through the overlay: %w", err)
		}
		if err := os.Remove(filepath.Join(d("merged"), "old")); err != nil {
			return fmt.Errorf("delete a lower file through the overlay (whiteout): %w", err)
		}
		return nil
	})
}

// inScratchMountNS runs f on a throwaway thread in a new mount namespace
// whose mounts are all private, with a temporary directory in dir holding
// lower/old (a file), upper, work and merged; d names them. The directory
// is removed afterwards, and the namespace dies with the thread.
func inScratchMountNS(dir string, f func(d func(string) string) error) error {
	return inThrowawayThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			return fmt.Errorf("unshare(CLONE_NEWNS): %w", err)
		}
		// A new mount namespace starts as a copy: a shared "/" would still
		// propagate our mount to the host. Private first, as runc does.
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return fmt.Errorf("mount --make-rprivate /: %w", err)
		}
		tmp, err := os.MkdirTemp(dir, ".doctor-overlay-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		d := func(n string) string { return filepath.Join(tmp, n) }
		for _, n := range []string{"lower", "upper", "work", "merged"} {
			if err := os.Mkdir(d(n), 0o755); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(d("lower"), "old"), []byte("x"), 0o644); err != nil {
			return err
		}
		return f(d)
	})
}

// probeIDMappedOverlay mounts an overlay whose lower layer is idmapped
// through a user namespace mapping 0 to 100000, as --userns=auto does with
// image layers (rootfs.MountOverlayIDMapped), and checks that the layer's
// file, owned by 0 on disk, shows as owned by 100000.
func probeIDMappedOverlay(dir string) error {
	m := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	ns, err := namespaces.UserNamespace(m, m)
	if err != nil {
		return err
	}
	defer ns.Close()
	return inScratchMountNS(dir, func(d func(string) string) error {
		upper := d("upper")
		if err := rootfs.MountOverlayIDMapped([]string{d("lower")}, upper, d("work"), d("merged"), d("s"), int(ns.Fd())); err != nil {
			return err
		}
		defer unix.Unmount(d("merged"), unix.MNT_DETACH)
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(d("merged"), "old"), &st); err != nil {
			return err
		}
		if st.Uid != 100000 {
			return fmt.Errorf("a layer's file owned by 0 shows as owned by %d through the idmapped layer, not 100000", st.Uid)
		}
		return nil
	})
}
