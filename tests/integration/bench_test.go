package integration

import (
	"os/exec"
	"testing"
)

// BenchmarkRun times `minirun run --rm busybox true` end to end, with no
// resource limit (the cgroup still gets the device allowlist) and with
// Docker-like limits, so the cost of the limits shows as a ratio:
//
//	sudo go test -run '^$' -bench Run -benchtime 30x ./tests/integration/
func BenchmarkRun(b *testing.B) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"no-limits", nil},
		{"memory+cpus+pids", []string{"-m", "64m", "--cpus", "0.5", "--pids-limit", "100"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			args := append(append([]string{"run", "--rm"}, c.args...), "busybox", "true")
			for i := 0; i < b.N; i++ {
				cmd := exec.Command(bin, args...)
				cmd.Env = minirunEnv()
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v: %v\n%s", args, err, out)
				}
			}
		})
	}
}
