package cgroups

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// BenchmarkSetupTeardown is the cgroup work of one container start and
// stop: create the directories, write Docker-like limits and the device
// allowlist, move a process in, then kill it and remove everything.
//
//	sudo go test -run '^$' -bench SetupTeardown ./cgroups/
//
// The process is started, and killed before Destroy as a container's init
// has exited by then, with the timer stopped: only cgroup work counts.
func BenchmarkSetupTeardown(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: creates cgroups below its own")
	}
	b.Logf("host: %s", DetectMode())
	for _, withLimits := range []bool{false, true} {
		name := "devices-only"
		if withLimits {
			name = "memory+cpu+pids+devices"
		}
		b.Run(name, func(b *testing.B) {
			limit, pids, quota, period := int64(64<<20), int64(100), int64(50000), uint64(100000)
			r := &specs.LinuxResources{Devices: DefaultDeviceRules()}
			if withLimits {
				r.Memory = &specs.LinuxMemory{Limit: &limit}
				r.Pids = &specs.LinuxPids{Limit: &pids}
				r.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
			}
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				child := exec.Command("sleep", "60")
				if err := child.Start(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				m, err := New(fmt.Sprintf("minirun-bench-%d/c%d", os.Getpid(), i))
				if err == nil {
					err = m.Create()
				}
				if err == nil {
					err = m.Set(r)
				}
				if err == nil {
					err = m.Apply(child.Process.Pid)
				}
				b.StopTimer()
				child.Process.Kill()
				child.Wait()
				b.StartTimer()
				if derr := m.Destroy(); err == nil {
					err = derr
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
