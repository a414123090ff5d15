package rootfs

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseOptions(t *testing.T) {
	o := ParseOptions([]string{"nosuid", "strictatime", "mode=755", "size=65536k"})
	if o.Flags != unix.MS_NOSUID|unix.MS_STRICTATIME || o.Data != "mode=755,size=65536k" || o.Bind {
		t.Fatalf("got %+v", o)
	}
	o = ParseOptions([]string{"rbind", "ro", "rprivate"})
	if o.Flags != unix.MS_BIND|unix.MS_REC|unix.MS_RDONLY || o.Propagation != unix.MS_PRIVATE|unix.MS_REC || !o.Bind {
		t.Fatalf("got %+v", o)
	}
	o = ParseOptions([]string{"ro", "rw"})
	if o.Flags != 0 {
		t.Fatalf("rw after ro should clear MS_RDONLY: %+v", o)
	}
}
