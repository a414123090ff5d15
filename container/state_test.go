package container

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minirun/minirun/cgroups"
	"github.com/minirun/minirun/quickjson"
)

// state.json takes quickjson's fast path, and its bytes are those
// encoding/json writes.
func TestStateMarshal(t *testing.T) {
	later := false
	for _, st := range []State{
		{},
		{
			State:   specs.State{Version: specs.Version, ID: "c1", Status: Running, Pid: 42, Bundle: "/b", Annotations: map[string]string{"a": "<&>"}},
			Rootfs:  "/b/rootfs",
			Created: time.Now().UTC(), InitStartTime: 12345,
			Cgroup: &cgroups.Config{Mode: cgroups.Hybrid, Path: "/minirun/c1", Dirs: map[string]string{"memory": "/sys/fs/cgroup/memory/minirun/c1"},
				Created: []string{"/sys/fs/cgroup/memory/minirun", "/sys/fs/cgroup/memory/minirun/c1"}},
			LaterHooks: &later,
		},
	} {
		if _, err := quickjson.Marshal(&st); err != nil {
			t.Errorf("state.json leaves the fast path: %v", err)
		}
		q, err := marshal(&st)
		j, jerr := json.Marshal(&st)
		if err != nil || jerr != nil || !bytes.Equal(q, j) {
			t.Errorf("state %+v:\nmarshal:      %s (%v)\njson.Marshal: %s (%v)", st, q, err, j, jerr)
		}
	}
}
