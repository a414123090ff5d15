package engine

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseVolumeFlag(t *testing.T) {
	wd, _ := os.Getwd()
	for _, tc := range []struct {
		in   string
		want mountRequest
	}{
		{"/data", mountRequest{Type: "volume", Destination: "/data"}},
		{"/data/", mountRequest{Type: "volume", Destination: "/data"}},
		{"/host:/ctr", mountRequest{Type: "bind", Source: "/host", Destination: "/ctr", CreateSource: true}},
		{"/host/../h2/:/ctr/x/..:ro", mountRequest{Type: "bind", Source: "/h2", Destination: "/ctr", ReadOnly: true, CreateSource: true, Mode: "ro"}},
		{"/host:/ctr:rw,rprivate", mountRequest{Type: "bind", Source: "/host", Destination: "/ctr", CreateSource: true, Mode: "rw,rprivate"}},
		{"./sub:/ctr:z", mountRequest{Type: "bind", Source: filepath.Join(wd, "sub"), Destination: "/ctr", CreateSource: true, Mode: "z"}},
		{"data:/data", mountRequest{Type: "volume", Source: "data", Destination: "/data"}},
		{"my_vol.1-x:/data:ro", mountRequest{Type: "volume", Source: "my_vol.1-x", Destination: "/data", ReadOnly: true, Mode: "ro"}},
		{"data:/data:nocopy,ro", mountRequest{Type: "volume", Source: "data", Destination: "/data", ReadOnly: true, NoCopy: true, Mode: "nocopy,ro"}},
	} {
		got, err := parseVolumeFlag(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseVolumeFlag(%q) = %+v, %v\nwant %+v", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, msg string }{
		{"", "invalid volume specification"},
		{":/data", "invalid volume specification"},
		{"/data:ro", "anonymous volume takes no mode"},
		{"a:b:c:d", "at most two colons"},
		{"/h:/c:ro:x", "at most two colons"},
		{"data:rel", "mount path must be absolute"},
		{"data:/", "destination can't be '/'"},
		{"/host:/", "destination can't be '/'"},
		{"data:/data:rx", "invalid mode: rx"},
		{"data:/data:ro,rw", "more than one access"},
		{"data:/data:ro,ro", "more than one access"},
		{"/h:/data:shared", "not supported"},
		{"/h:/data:rslave", "not supported"},
		{"data:/data:rprivate", "propagation is for bind mounts"},
		{"/h:/data:nocopy", "nocopy is for volumes"},
		{"x:/data", "too short"},
		{"bad/name:/data", "invalid characters"},
		{"-vol:/data", "invalid characters"},
		{"my vol:/data", "invalid characters"},
	} {
		got, err := parseVolumeFlag(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("parseVolumeFlag(%q) = %+v, %v; want an error with %q", tc.in, got, err, tc.msg)
		}
	}
}

func TestParseMountFlag(t *testing.T) {
	host := t.TempDir()
	for _, tc := range []struct {
		in   string
		want mountRequest
	}{
		{"type=bind,source=" + host + ",target=/ctr", mountRequest{Type: "bind", Source: host, Destination: "/ctr"}},
		{"type=bind,src=" + host + ",dst=/ctr,readonly", mountRequest{Type: "bind", Source: host, Destination: "/ctr", ReadOnly: true}},
		{"type=bind,src=" + host + ",destination=/ctr,ro=true,bind-propagation=rprivate", mountRequest{Type: "bind", Source: host, Destination: "/ctr", ReadOnly: true}},
		{"type=BIND,src=" + host + ",dst=/ctr,ro=0", mountRequest{Type: "bind", Source: host, Destination: "/ctr"}},
		{"src=data,dst=/data", mountRequest{Type: "volume", Source: "data", Destination: "/data"}}, // type defaults to volume
		{"type=volume,source=data,target=/data,ro,volume-nocopy", mountRequest{Type: "volume", Source: "data", Destination: "/data", ReadOnly: true, NoCopy: true}},
		{"type=volume,src=data,dst=/data,volume-label=a=b,volume-label=c,volume-driver=local",
			mountRequest{Type: "volume", Source: "data", Destination: "/data", Labels: map[string]string{"a": "b", "c": ""}}},
		{"type=volume,dst=/anon", mountRequest{Type: "volume", Destination: "/anon"}},
		{"type=tmpfs,dst=/run", mountRequest{Type: "tmpfs", Destination: "/run", TmpfsOptions: []string{"noexec", "nosuid", "nodev"}}},
		{"type=tmpfs,dst=/run,tmpfs-size=64m,tmpfs-mode=1777,readonly", mountRequest{Type: "tmpfs", Destination: "/run", ReadOnly: true,
			TmpfsOptions: []string{"noexec", "nosuid", "nodev", "ro", "size=67108864", "mode=1777"}, Mode: "size=67108864,mode=1777"}},
		{`"type=bind","src=` + host + `","dst=/a,b"`, mountRequest{Type: "bind", Source: host, Destination: "/a,b"}}, // CSV quoting
	} {
		got, err := parseMountFlag(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseMountFlag(%q) = %+v, %v\nwant %+v", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, msg string }{
		{"type=bind,src=/does/not/exist,dst=/x", "bind source path does not exist: /does/not/exist"},
		{"type=bind,dst=/x", "field Source must not be empty"},
		{"type=bind,src=relative,dst=/x", "mount path must be absolute"},
		{"type=bind,src=" + host, "target is required"},
		{"type=bind,src=" + host + ",dst=rel", "mount path must be absolute"},
		{"type=bind,src=" + host + ",dst=/", "destination can't be '/'"},
		{"type=bind,src=" + host + ",dst=/x,bogus=1", "unexpected key 'bogus'"},
		{"type=bind,src=" + host + ",dst=/x,bogus", "must be a key=value pair"},
		{"type=bind,src=" + host + ",dst=/x,readonly=maybe", "invalid value for readonly"},
		{"type=bind,src=" + host + ",dst=/x,bind-propagation=rshared", "not supported"},
		{"type=bind,src=" + host + ",dst=/x,bind-propagation=sideways", "invalid value for bind-propagation"},
		{"type=bind,src=" + host + ",dst=/x,volume-nocopy", "cannot mix 'volume-*'"},
		{"type=volume,src=data,dst=/x,tmpfs-size=1m", "cannot mix 'tmpfs-*'"},
		{"type=tmpfs,dst=/x,bind-propagation=private", "cannot mix 'bind-*'"},
		{"type=volume,src=/abs,dst=/x", "invalid characters"},
		{"type=volume,src=a,dst=/x", "too short"},
		{"type=volume,src=data,dst=/x,volume-driver=nfs", "local driver only"},
		{"type=volume,src=data,dst=/x,volume-opt=o=bind", "not supported"},
		{"type=volume,dst=/x,volume-label=a=b", "named volume"},
		{"type=tmpfs,src=foo,dst=/x", "field Source must not be specified"},
		{"type=tmpfs,dst=/x,tmpfs-size=lots", "invalid value for tmpfs-size"},
		{"type=tmpfs,dst=/x,tmpfs-mode=999", "invalid value for tmpfs-mode"},
		{"type=image,src=busybox,dst=/x", "invalid mount type"},
		{`type=bind,"src=` + host, "extraneous or missing"}, // bad CSV
	} {
		got, err := parseMountFlag(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("parseMountFlag(%q) = %+v, %v; want an error with %q", tc.in, got, err, tc.msg)
		}
	}
}

func TestParseTmpfsFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want mountRequest
	}{
		{"/run", mountRequest{Type: "tmpfs", Destination: "/run", TmpfsOptions: []string{"noexec", "nosuid", "nodev"}}},
		{"/run:size=64m,mode=1777", mountRequest{Type: "tmpfs", Destination: "/run", Mode: "size=64m,mode=1777",
			TmpfsOptions: []string{"noexec", "nosuid", "nodev", "size=64m", "mode=1777"}}},
		{"/x/:ro,exec,uid=1000,gid=1000,nr_inodes=1k,size=10%", mountRequest{Type: "tmpfs", Destination: "/x", ReadOnly: true, Mode: "ro,exec,uid=1000,gid=1000,nr_inodes=1k,size=10%",
			TmpfsOptions: []string{"noexec", "nosuid", "nodev", "ro", "exec", "uid=1000", "gid=1000", "nr_inodes=1k", "size=10%"}}},
	} {
		got, err := parseTmpfsFlag(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseTmpfsFlag(%q) = %+v, %v\nwant %+v", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, msg string }{
		{"", "target is required"},
		{"run", "mount path must be absolute"},
		{"/", "destination can't be '/'"},
		{"/run:bogus", `invalid tmpfs option "bogus"`},
		{"/run:size=big", `invalid tmpfs option "size=big"`},
		{"/run:mode=9", `invalid tmpfs option "mode=9"`},
		{"/run:uid=root", `invalid tmpfs option "uid=root"`},
		{"/run:shared", "not supported"},
		{"/run:size=1m,", `invalid tmpfs option ""`},
	} {
		got, err := parseTmpfsFlag(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("parseTmpfsFlag(%q) = %+v, %v; want an error with %q", tc.in, got, err, tc.msg)
		}
	}
}

func TestParseMountsDuplicates(t *testing.T) {
	host := t.TempDir()
	if _, err := parseMounts([]string{"a1:/data", host + ":/etc/x"}, []string{"type=tmpfs,dst=/run"}, []string{"/tmp"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		v, m, tmpfs []string
	}{
		{v: []string{"a1:/data", "b1:/data/"}},
		{v: []string{"a1:/data"}, m: []string{"type=bind,src=" + host + ",dst=/data"}},
		{v: []string{"/data"}, tmpfs: []string{"/data"}},
		{m: []string{"type=tmpfs,dst=/run"}, tmpfs: []string{"/run:size=1m"}},
	} {
		_, err := parseMounts(tc.v, tc.m, tc.tmpfs)
		if err == nil || !strings.Contains(err.Error(), "Duplicate mount point: /data") && !strings.Contains(err.Error(), "Duplicate mount point: /run") {
			t.Errorf("parseMounts(%v, %v, %v) = %v, want a duplicate mount point", tc.v, tc.m, tc.tmpfs, err)
		}
	}
	// The flag and the value are named.
	_, err := parseMounts(nil, []string{"type=bind,src=/nope,dst=/x"}, nil)
	if err == nil || !strings.Contains(err.Error(), `"--mount"`) || !strings.Contains(err.Error(), "/nope") {
		t.Errorf("error %v does not name the flag and the path", err)
	}
}

// RunOptions.check refuses bad mounts before anything exists.
func TestCheckMounts(t *testing.T) {
	o := RunOptions{Image: "busybox", Volumes: []string{"data:relative"}}
	if err := o.check(); err == nil || !strings.Contains(err.Error(), "must be absolute") {
		t.Errorf("check: %v", err)
	}
	o = RunOptions{Image: "busybox", Tmpfs: []string{"/run:size=64m"}, Volumes: []string{"data:/data:ro"}}
	if err := o.check(); err != nil {
		t.Errorf("check: %v", err)
	}
}

func TestValidVolumeName(t *testing.T) {
	for _, ok := range []string{"ab", "data", "my-vol_1.2", "0123456789abcdef"} {
		if err := validVolumeName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a", ".", "..", "../x", "a/b", "-ab", "_ab", ".ab", "a b", strings.Repeat("a", 256)} {
		if validVolumeName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The volume store: create, list, inspect, in use, rm, prune — on a
// temporary data root, without containers running.
func TestVolumeStore(t *testing.T) {
	e := New(t.TempDir(), t.TempDir())
	if vs, err := e.Volumes(); err != nil || len(vs) != 0 {
		t.Fatalf("empty store: %v %v", vs, err)
	}
	v, err := e.CreateVolume("data", map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "data" || v.Driver != "local" || v.Scope != "local" || v.Mountpoint != filepath.Join(e.DataRoot, "volumes", "data", "_data") || v.Labels["k"] != "v" {
		t.Fatalf("created: %+v", v)
	}
	if fi, err := os.Stat(v.Mountpoint); err != nil || !fi.IsDir() {
		t.Fatalf("mount point: %v", err)
	}
	again, err := e.CreateVolume("data", nil) // exists: no error, the same volume
	if err != nil || again.CreatedAt != v.CreatedAt {
		t.Fatalf("create again: %+v %v", again, err)
	}
	random, err := e.CreateVolume("", nil)
	if err != nil || len(random.Name) != 64 {
		t.Fatalf("random name: %+v %v", random, err)
	}
	if _, err := e.CreateVolume("a/b", nil); err == nil {
		t.Fatal("a/b accepted")
	}
	vs, _ := e.Volumes()
	if len(vs) != 2 || vs[0].Name > vs[1].Name {
		t.Fatalf("ls: %+v", vs)
	}
	if _, err := e.InspectVolume("nope"); err == nil || !strings.Contains(err.Error(), "no such volume: nope") {
		t.Fatalf("inspect nope: %v", err)
	}
	if _, err := e.InspectVolume("../volumes"); err == nil {
		t.Fatal("inspect ../volumes: no error")
	}
	// A container (only its meta.json) uses "data".
	cdir := filepath.Join(e.DataRoot, "containers", "c1")
	os.MkdirAll(cdir, 0o700)
	os.WriteFile(filepath.Join(cdir, "meta.json"), []byte(`{"id":"c1","mounts":[{"Type":"volume","Name":"data","Source":"x","Destination":"/data","RW":true}]}`), 0o600)
	if err := e.RemoveVolume("data", true); err == nil || err.Error() != "remove data: volume is in use - [c1]" {
		t.Fatalf("rm in use: %v", err)
	}
	if err := e.RemoveVolume("nope", false); err == nil {
		t.Fatal("rm nope: no error")
	}
	if err := e.RemoveVolume("nope", true); err != nil {
		t.Fatalf("rm -f nope: %v", err)
	}
	os.WriteFile(filepath.Join(random.Mountpoint, "f"), make([]byte, 1500), 0o644)
	removed, size, err := e.PruneVolumes()
	if err != nil || !reflect.DeepEqual(removed, []string{random.Name}) || size != 1500 {
		t.Fatalf("prune: %v %d %v", removed, size, err)
	}
	os.RemoveAll(cdir)
	if err := e.RemoveVolume("data", false); err != nil {
		t.Fatalf("rm: %v", err)
	}
	if ents, _ := os.ReadDir(e.volumesDir()); len(ents) != 1 || ents[0].Name() != ".lock" {
		t.Fatalf("left in the store: %v", ents)
	}
}

// Seeding copies the image's directory into an empty volume only, through
// the root (a symlink in the image cannot point it at the host).
func TestSeedVolume(t *testing.T) {
	root, host := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o750)
	os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0\n"), 0o644)
	os.Symlink("passwd", filepath.Join(root, "etc", "link"))
	os.WriteFile(filepath.Join(host, "secret"), []byte("host"), 0o600)
	os.Symlink(host, filepath.Join(root, "escape")) // absolute: the host's dir, if followed outside the root
	vol := filepath.Join(t.TempDir(), "_data")
	os.Mkdir(vol, 0o755)
	if err := seedVolume(root, "/etc", vol); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(vol, "passwd")); string(b) != "root:x:0:0\n" {
		t.Fatalf("passwd: %q", b)
	}
	if l, _ := os.Readlink(filepath.Join(vol, "link")); l != "passwd" {
		t.Fatalf("symlink: %q", l)
	}
	if fi, _ := os.Stat(vol); fi.Mode().Perm() != 0o750 {
		t.Fatalf("volume root mode %v, want the image's 0750", fi.Mode())
	}
	if ents, _ := os.ReadDir(filepath.Dir(vol)); len(ents) != 1 {
		t.Fatalf("temporary directory left: %v", ents)
	}
	// Not empty any more: nothing is copied again.
	os.Remove(filepath.Join(vol, "passwd"))
	if err := seedVolume(root, "/etc", vol); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(vol, "passwd")); err == nil {
		t.Fatal("a volume that is not empty was seeded again")
	}
	vol2 := t.TempDir()
	if err := seedVolume(root, "/escape", vol2); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(vol2); len(ents) != 0 {
		t.Fatalf("seeding followed the image's symlink to the host: %v", ents)
	}
}

// volumeMounts: a user mount replaces the image VOLUME at its path and
// minirun's /etc/hosts; parents come before children; a destination that
// resolves to the root is refused.
func TestVolumeMountsMerge(t *testing.T) {
	root, data := t.TempDir(), t.TempDir()
	e := New(t.TempDir(), t.TempDir())
	base, err := anonymousVolumes(root, data, map[string]struct{}{"/srv/data": {}, "/keep": {}})
	if err != nil {
		t.Fatal(err)
	}
	base = append([]specs.Mount{
		{Destination: "/etc/hosts", Type: "bind", Source: "/b/hosts", Options: []string{"rbind", "rprivate"}},
		{Destination: "/etc/resolv.conf", Type: "bind", Source: "/b/resolv.conf", Options: []string{"rbind", "rprivate"}},
	}, base...)
	host := t.TempDir()
	o := RunOptions{Volumes: []string{"vol1:/etc:ro", "/srv/data", host + ":/etc/resolv.conf"}, Tmpfs: []string{"/run:size=1m"}}
	mounts, points, unlock, err := e.volumeMounts(o, root, data, base)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	var dsts []string
	for _, m := range mounts {
		dsts = append(dsts, m.Destination)
	}
	// Parents first; at the same depth, minirun's mounts, then the user's in order.
	if want := []string{"/keep", "/etc", "/run", "/etc/hosts", "/srv/data", "/etc/resolv.conf"}; !reflect.DeepEqual(dsts, want) {
		t.Fatalf("mounts %v, want %v", dsts, want)
	}
	if mounts[1].Source != e.volumeDataDir("vol1") || !reflect.DeepEqual(mounts[1].Options, []string{"rbind", "rprivate", "ro"}) {
		t.Fatalf("volume mount: %+v", mounts[1])
	}
	if mounts[4].Source != base[3].Source { // base: hosts, resolv.conf, /keep, /srv/data
		t.Fatalf("-v /srv/data is not the image VOLUME's directory: %+v", mounts[4])
	}
	if mounts[2].Type != "tmpfs" || !reflect.DeepEqual(mounts[2].Options, []string{"noexec", "nosuid", "nodev", "size=1m", "rprivate"}) {
		t.Fatalf("tmpfs: %+v", mounts[2])
	}
	if mounts[5].Source != host {
		t.Fatalf("-v over /etc/resolv.conf did not replace minirun's: %+v", mounts[5])
	}
	if len(points) != 5 || points[0].Destination != "/etc" || points[0].Name != "vol1" || points[0].RW || points[0].Mode != "ro" {
		t.Fatalf("mount points: %+v", points)
	}
	if _, err := e.InspectVolume("vol1"); err != nil {
		t.Fatalf("vol1 not created: %v", err)
	}
	os.Symlink("/", filepath.Join(root, "loop"))
	o = RunOptions{Volumes: []string{"vol2:/loop"}}
	if _, _, _, err := e.volumeMounts(o, root, data, nil); err == nil || !strings.Contains(err.Error(), "resolves to the container's root") {
		t.Fatalf("/loop -> /: %v", err)
	}
	if _, err := e.InspectVolume("vol2"); err == nil {
		t.Fatal("vol2 was created by a refused run")
	}
}
