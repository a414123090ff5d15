package engines

// Private network namespaces for the bridge benchmarks, and the check that
// the host's own network is left as it was. An engine on its default
// bridge creates a bridge, veths, firewall rules and turns on ip_forward:
// here all of that happens in a network namespace of the benchmark's own
// (dockerd starts in one, see newDocker; podman and minirun enter a holder
// process's), never in the host's.

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pdNetns is a holder process (`sleep infinity`) in a new network
// namespace, and with mount a new mount namespace with tmpfs on /run and
// /var/lib, whose namespaces commands enter with nsenter (enter()).
type pdNetns struct {
	pid   int
	mount bool
}

// pdNewNetns starts the holder, with lo up; its cleanup kills, by PID,
// whatever else still runs in the namespace (an engine's leftovers: a
// leak, reported), then the holder: the namespaces, and all in them
// (bridges, veths, nftables/iptables rules, ip_forward, mounts), go.
func pdNewNetns(tb testing.TB, mount bool) *pdNetns {
	tb.Helper()
	for _, p := range []string{"unshare", "nsenter", "ip"} {
		if _, err := exec.LookPath(p); err != nil {
			tb.Fatalf("%s not found: install util-linux and iproute2", p)
		}
	}
	args := []string{"--net"}
	script := "set -e\n"
	if mount {
		// /run: podman's and the runtimes' state, /run/netns (podman
		// bind-mounts the containers' network namespaces there);
		// /var/lib: containers/image's blob cache, /var/lib/cni.
		args = append(args, "--mount", "--propagation", "private")
		script += "mount -t tmpfs -o mode=0755 tmpfs /run\nmount -t tmpfs -o mode=0755 tmpfs /var/lib\n"
	}
	script += "ip link set lo up\nexec sleep infinity\n"
	holder := exec.Command("unshare", append(args, "sh", "-c", script)...)
	var errb strings.Builder
	holder.Stderr = &errb
	if err := holder.Start(); err != nil {
		tb.Fatalf("unshare: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = holder.Wait(); close(exited) }()
	n := &pdNetns{pid: holder.Process.Pid, mount: mount}
	var netIno uint64 // known once the holder is in its namespace
	tb.Cleanup(func() {
		if netIno != 0 {
			if k := pdKillNS("net", netIno, n.pid); len(k) > 0 {
				tb.Errorf("processes left in the benchmark's network namespace (killed): %v", k)
			}
		}
		_ = holder.Process.Kill()
		<-exited
	})
	// The holder has unshared (and mounted) once it runs sleep.
	ready := pdWaitFor(10*time.Second, func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(n.pid) + "/comm")
		return err == nil && strings.TrimSpace(string(b)) == "sleep"
	})
	select {
	case <-exited:
		tb.Fatalf("the network namespace holder exited: %s", errb.String())
	default:
	}
	if !ready {
		tb.Fatal("the network namespace holder did not start within 10s")
	}
	ino, err := pdNSIno(n.pid, "net")
	if own, _ := pdNSIno(os.Getpid(), "net"); err != nil || ino == own {
		tb.Fatalf("the holder %d is not in a network namespace of its own (%v)", n.pid, err)
	}
	netIno = ino
	return n
}

// enter is nsenter's arguments to enter the holder's namespaces.
func (n *pdNetns) enter() []string {
	p := "/proc/" + strconv.Itoa(n.pid) + "/ns/"
	args := []string{"--net=" + p + "net"}
	if n.mount {
		args = append(args, "--mount="+p+"mnt")
	}
	return args
}

// pdNSIno is the inode of a process's namespace of kind (mnt, net, ...).
func pdNSIno(pid int, kind string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/"+kind, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// pdKillNS SIGKILLs, by PID, every process but this one and spare in the
// namespace of kind with inode ino (one the benchmark made: all its
// processes are ours), and lists them. It never kills in this process's
// own namespace of that kind (the host's: everyone's processes).
func pdKillNS(kind string, ino uint64, spare int) []string {
	var killed []string
	// Never the namespace this test runs in, nor the host's (PID 1's):
	// only one a test made, whose processes are all the test's.
	own, err := pdNSIno(os.Getpid(), kind)
	host, herr := pdNSIno(1, kind)
	if ino == 0 || err != nil || herr != nil || own == ino || host == ino {
		return nil
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || pid == spare {
			continue
		}
		if got, err := pdNSIno(pid, kind); err == nil && got == ino {
			comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
			if unix.Kill(pid, unix.SIGKILL) == nil {
				killed = append(killed, fmt.Sprintf("%d %s", pid, strings.TrimSpace(string(comm))))
			}
		}
	}
	return killed
}

// pdHostNetUnchanged snapshots the host's network (links, addresses,
// routes, the nftables ruleset, iptables-save and iptables-legacy-save,
// net.ipv4.ip_forward) and,
// at cleanup, compares: a change that looks like an engine's (docker0,
// podman*, cni-*, veth*, DOCKER/NETAVARK/CNI chains, docker's subnet) fails
// the test or benchmark, as does any change of ip_forward; other changes
// are logged (the machine is shared: someone else's minirun, say, whose
// bridges are "mr..." and minirun0, and whose subnets podman's share).
func pdHostNetUnchanged(tb testing.TB) {
	tb.Helper()
	before := pdHostNet()
	tb.Cleanup(func() {
		after := pdHostNet()
		ours := regexp.MustCompile(`docker|DOCKER|podman|NETAVARK|netavark|aardvark|CNI|cni-|veth|172\.17\.`)
		for _, k := range []string{"links", "addresses", "routes", "nft", "iptables", "legacy", "ip_forward"} {
			if before[k] == after[k] {
				continue
			}
			added, removed := pdLineDiff(before[k], after[k])
			msg := fmt.Sprintf("the host's %s changed during the benchmark: added %q, removed %q", k, added, removed)
			if k == "ip_forward" || ours.MatchString(strings.Join(append(added, removed...), "\n")) {
				tb.Errorf("%s", msg)
			} else {
				tb.Logf("%s (not an engine's: someone else's?)", msg)
			}
		}
	})
}

// pdHostNet is the host's network state, as text per aspect; counters are
// left out.
func pdHostNet() map[string]string {
	counters := regexp.MustCompile(`counter packets \d+ bytes \d+|\[\d+:\d+\]`)
	out := func(name string, args ...string) string {
		b, err := exec.Command(name, args...).Output()
		if err != nil {
			return "error: " + err.Error()
		}
		var keep []string
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(l, "#") && strings.TrimSpace(l) != "" {
				keep = append(keep, counters.ReplaceAllString(l, ""))
			}
		}
		return strings.Join(keep, "\n")
	}
	fwd, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	return map[string]string{
		"links":      out("sh", "-c", `ip -o link show | awk -F': ' '{print $2}'`),
		"addresses":  out("sh", "-c", `ip -o addr show | sed 's/ *valid_lft.*//'`),
		"routes":     out("ip", "route", "show", "table", "all"),
		"nft":        out("nft", "list", "ruleset"),
		"iptables":   out("iptables-save"),
		"legacy":     out("sh", "-c", "iptables-legacy-save 2>/dev/null || true"),
		"ip_forward": strings.TrimSpace(string(fwd)),
	}
}

// pdLineDiff lists the lines only in b (added) and only in a (removed).
func pdLineDiff(a, b string) (added, removed []string) {
	count := map[string]int{}
	for _, l := range strings.Split(a, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(b, "\n") {
		count[l]--
	}
	for l, c := range count {
		if c < 0 {
			added = append(added, l)
		} else if c > 0 {
			removed = append(removed, l)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed
}

// pdEth0Args is the command, after the image, that prints a container's
// IPv4 address on eth0 (pdMustBeBridged).
var pdEth0Args = []string{"ip", "-o", "-4", "addr", "show", "eth0"}

// pdMustBeBridged fails unless cmd (a container running pdEth0Args) printed
// an IPv4 address on eth0: the container was on a bridge network.
func pdMustBeBridged(tb testing.TB, cmd *exec.Cmd) {
	tb.Helper()
	if r := pdRun(tb, 60*time.Second, "", cmd); r.code != 0 || !strings.Contains(r.stdout, "inet ") {
		tb.Fatalf("%s: want an IPv4 address on eth0 (a bridge network): %v", strings.Join(cmd.Args, " "), r)
	}
}
