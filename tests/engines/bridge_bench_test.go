package engines

// Benchmarks of the comparisons on bridge networks, each engine in a
// network namespace of its own (see netns_helpers_test.go):
//
//   - BenchmarkMinirunRun: `minirun run --rm busybox true`, on minirun's
//     default bridge and with --network none, to set against
//     BenchmarkDockerRunBridge and BenchmarkPodmanRunBridge (and the
//     --network none BenchmarkDockerRun and BenchmarkPodmanRun);
//   - BenchmarkFleet: N detached containers on one network made for the run,
//     one after another, until the last one reaches the first by name; then
//     all removed. minirun against podman (netavark, aardvark-dns, runc).

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mrEnv is minirun's Docker-style engine with a state and data root of its
// own below the world's directory, container cgroups below the world's
// parent, and every command in a private network namespace (pdNewNetns),
// where its default bridge minirun0, its nftables table and ip_forward are.
// Its mounts (overlay root filesystems) are in the host's mount namespace,
// below the world's directory, as minirun makes them.
type mrEnv struct {
	*pdWorld
	netns *pdNetns
	env   []string
}

func newMinirun(tb testing.TB) *mrEnv {
	pdNeedRoot(tb, "util-linux", "nsenter")
	pdHostNetUnchanged(tb)
	w := pdNewWorld(tb, "mr")
	m := &mrEnv{pdWorld: w, netns: pdNewNetns(tb, false)}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MINIRUN_") {
			m.env = append(m.env, kv)
		}
	}
	m.env = append(m.env, "MINIRUN_ROOT="+w.dir+"/run", "MINIRUN_DATA_ROOT="+w.dir+"/data", "MINIRUN_CGROUP_PARENT="+w.cgParent)
	tb.Cleanup(func() {
		if r := pdRun(tb, 60*time.Second, "", m.cmd("ps", "-aq")); r.code == 0 && strings.TrimSpace(r.stdout) != "" {
			pdRun(tb, 120*time.Second, "", m.cmd(append([]string{"rm", "-f"}, strings.Fields(r.stdout)...)...))
		}
		if k := pdKillByArg(w.dir); len(k) > 0 {
			tb.Errorf("processes left behind (killed): %v", k)
		}
	})
	pdMust(tb, 60*time.Second, m.cmd("import", "-c", `CMD ["sh"]`, w.busybox, "busybox:latest"))
	return m
}

func (m *mrEnv) cmd(args ...string) *exec.Cmd {
	c := exec.Command("nsenter", append(append(m.netns.enter(), m.minirun), args...)...)
	c.Env = m.env
	return c
}

// BenchmarkMinirunRun times `minirun run --rm busybox true` on minirun's
// default bridge network and with --network none, in a private network
// namespace as the engines' bridge benchmarks are:
//
//	go test -run '^$' -bench MinirunRun -benchtime 20x ./tests/engines/
func BenchmarkMinirunRun(b *testing.B) {
	m := newMinirun(b)
	for _, c := range []struct{ name, network string }{{"bridge", "bridge"}, {"none", "none"}} {
		b.Run(c.name, func(b *testing.B) {
			if c.network == "bridge" {
				pdMustBeBridged(b, m.cmd(append([]string{"run", "--rm", "busybox"}, pdEth0Args...)...))
				b.ResetTimer()
			}
			for i := 0; i < b.N; i++ {
				if r := pdRun(b, 60*time.Second, "", m.cmd("run", "--rm", "--network", c.network, "busybox", "true")); r.code != 0 {
					b.Fatal(r)
				}
			}
		})
	}
}

// fleetSize is MINIRUN_BENCH_FLEET (default 100): BenchmarkFleet's N.
func fleetSize(tb testing.TB) int {
	s := os.Getenv("MINIRUN_BENCH_FLEET")
	if s == "" {
		return 100
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 2 {
		tb.Fatalf("MINIRUN_BENCH_FLEET=%q: want a number of containers, at least 2", s)
	}
	return n
}

// fleetEngine is what BenchmarkFleet needs of an engine.
type fleetEngine struct {
	cmd     func(args ...string) *exec.Cmd
	runArgs []string // after `run -d`, before --name
	image   string
	rmArgs  []string // `rm -f` and flags, before the names
}

// BenchmarkFleet: MINIRUN_BENCH_FLEET (default 100) detached containers
// `run -d --network <net> --name <name> busybox sleep 600`, one after
// another, on a network made for the run (with name resolution: minirun's
// hosts files, podman's aardvark-dns), then `exec <last> ping -c1 -W2
// <first>` until it answers: the time from the first `run -d` to that
// answer is the op (ns/op and s/up). Then all are removed with one `rm -f`
// (s/rm) and the network too. ms/run-d is the mean of one `run -d`. podman
// runs them with runc (its default, crun, does not run on a hybrid cgroup
// host), netavark and aardvark-dns.
//
//	MINIRUN_BENCH_FLEET=10 go test -run '^$' -bench Fleet -benchtime 1x ./tests/engines/
func BenchmarkFleet(b *testing.B) {
	n := fleetSize(b)
	b.Run("minirun", func(b *testing.B) {
		m := newMinirun(b)
		fleet(b, n, fleetEngine{cmd: m.cmd, image: "busybox", rmArgs: []string{"rm", "-f"}})
	})
	b.Run("podman", func(b *testing.B) {
		runc, err := exec.LookPath("runc")
		if err != nil {
			b.Skip("runc not found (Debian package runc): podman's default runtime crun does not run on this host")
		}
		p := newPodmanOn(b, true)
		p.runtime = runc
		fleet(b, n, fleetEngine{cmd: p.cmd, runArgs: []string{"--cgroup-parent", p.cgParent}, image: "localhost/busybox", rmArgs: []string{"rm", "-f", "-t", "0"}})
	})
}

// fleet runs BenchmarkFleet's op b.N times on engine e.
func fleet(b *testing.B, n int, e fleetEngine) {
	const net = "mr-fleet"
	var up, rm, runs time.Duration
	pings := 0
	b.ResetTimer()
	for op := 0; op < b.N; op++ {
		b.StopTimer()
		pdMust(b, 60*time.Second, e.cmd("network", "create", net))
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("fl%d-%d", op, i+1)
		}
		b.StartTimer()
		start := time.Now()
		for _, name := range names {
			t0 := time.Now()
			args := append(append(append([]string{"run", "-d", "--network", net}, e.runArgs...), "--name", name, e.image), "sleep", "600")
			if r := pdRun(b, 60*time.Second, "", e.cmd(args...)); r.code != 0 {
				b.Fatalf("%s: %v", name, r)
			}
			runs += time.Since(t0)
		}
		var last pdResult
		reached := pdWaitFor(60*time.Second, func() bool {
			pings++
			last = pdRun(b, 30*time.Second, "", e.cmd("exec", names[n-1], "ping", "-c1", "-W2", names[0]))
			return last.code == 0
		})
		if !reached {
			b.Fatalf("%s never reached %s by name within 60s: %v", names[n-1], names[0], last)
		}
		up += time.Since(start)
		b.StopTimer()
		t0 := time.Now()
		pdMust(b, 300*time.Second, e.cmd(append(e.rmArgs, names...)...))
		rm += time.Since(t0)
		pdMust(b, 60*time.Second, e.cmd("network", "rm", net))
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(up.Seconds()/float64(b.N), "s/up")
	b.ReportMetric(rm.Seconds()/float64(b.N), "s/rm")
	b.ReportMetric(float64(runs.Milliseconds())/float64(b.N*n), "ms/run-d")
	b.ReportMetric(float64(pings)/float64(b.N), "pings/op")
}
