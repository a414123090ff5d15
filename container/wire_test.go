package container

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	profiles "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minirun/minirun/oci"
	"github.com/minirun/minirun/security/seccomp"
)

// richConfig is an initConfig with every kind the frame encoding has:
// Docker's defaults, its seccomp profile compiled, maps, pointers to
// numbers, nil and empty slices apart, negative numbers, an exec config.
func richConfig(t testing.TB) *initConfig {
	s := oci.Default()
	s.Process.Args = []string{"/bin/sh", "-c", "echo 'ünïcode' \x00 bytes"}
	s.Process.Env = []string{}
	s.Annotations = map[string]string{"a": "1", "b": ""}
	s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	adj := -998
	s.Process.OOMScoreAdj = &adj
	limit := int64(-1)
	swap := int64(1 << 40)
	s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit, Swap: &swap}, Unified: map[string]string{"pids.max": "10"}}
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	prof, err := profiles.GetDefaultProfile(s)
	if err != nil {
		t.Fatal(err)
	}
	filter, err := seccomp.Compile(prof)
	if err != nil {
		t.Fatal(err)
	}
	return &initConfig{Spec: s, Seccomp: filter, Rootfs: "/run/x/rootfs", FifoFd: 7, ConsoleFd: -1, Hooks: true,
		ID: "c1", Bundle: "/b", Pid: 4242, CgroupJoin: []string{"/sys/fs/cgroup/memory/x/tasks"}}
}

func TestFrameRoundTrip(t *testing.T) {
	in := richConfig(t)
	var buf bytes.Buffer
	if err := writeFrame(&buf, in); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("after") // readFrame must stop at the frame's end
	var out initConfig
	if err := readFrame(&buf, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, &out) {
		a, _ := json.Marshal(in)
		b, _ := json.Marshal(&out)
		t.Fatalf("round trip changed the config:\n in %s\nout %s", a, b)
	}
	if out.Spec.Process.Env == nil || out.Spec.Linux.GIDMappings != nil {
		t.Fatal("an empty slice came back nil, or a nil one empty")
	}
	if rest := buf.String(); rest != "after" {
		t.Fatalf("readFrame read past its frame: %q left", rest)
	}

	ex := execConfig{Process: in.Spec.Process, ConsoleFd: 3, Seccomp: in.Seccomp, CgroupJoin: []string{"x"}}
	buf.Reset()
	if err := writeFrame(&buf, &ex); err != nil {
		t.Fatal(err)
	}
	var exOut execConfig
	if err := readFrame(&buf, &exOut); err != nil || !reflect.DeepEqual(ex, exOut) {
		t.Fatalf("exec config: %v, %+v", err, exOut)
	}
}

// TestFrameBad: a truncated or corrupt frame is an error, never a panic or
// a huge allocation.
func TestFrameBad(t *testing.T) {
	var buf bytes.Buffer
	if err := writeFrame(&buf, richConfig(t)); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	for _, n := range []int{0, 2, 4, 5, 50, len(good) / 2, len(good) - 1} {
		var out initConfig
		if err := readFrame(bytes.NewReader(good[:n]), &out); err == nil {
			t.Errorf("a frame cut at %d of %d bytes was read without an error", n, len(good))
		}
	}
	// A length field that claims more than the frame holds.
	bad := append([]byte{}, good...)
	copy(bad[4:], []byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	var out initConfig
	if err := readFrame(bytes.NewReader(bad), &out); err == nil {
		t.Error("a corrupt frame was read without an error")
	}
	huge := []byte{0xff, 0xff, 0xff, 0x7f}
	if err := readFrame(bytes.NewReader(huge), &out); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("a 2 GiB frame length: %v", err)
	}
	// Every byte flipped in turn: errors or values, no panic.
	for i := 4; i < len(good); i++ {
		b := append([]byte{}, good...)
		b[i] ^= 0xa5
		var o initConfig
		_ = readFrame(bytes.NewReader(b), &o)
	}
	type withIface struct{ V any }
	if err := writeFrame(&buf, &withIface{V: 1}); err == nil {
		t.Error("an interface value was encoded")
	}
}

func BenchmarkFrameDecode(b *testing.B) {
	var buf bytes.Buffer
	if err := writeFrame(&buf, richConfig(b)); err != nil {
		b.Fatal(err)
	}
	frame := buf.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		var out initConfig
		if err := readFrame(bytes.NewReader(frame), &out); err != nil {
			b.Fatal(err)
		}
	}
}
