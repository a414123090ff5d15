package rootfs

import (
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Options is an OCI mount's option list turned into what mount(2) takes.
type Options struct {
	Flags       uintptr // MS_* flags for the mount itself
	Propagation uintptr // MS_SHARED/MS_PRIVATE/MS_SLAVE/MS_UNBINDABLE (+MS_REC), applied after
	Data        string  // the filesystem-specific options, comma separated
	Bind        bool    // bind or rbind
}

var flagOptions = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"nosuid":        {false, unix.MS_NOSUID},
	"suid":          {true, unix.MS_NOSUID},
	"nodev":         {false, unix.MS_NODEV},
	"dev":           {true, unix.MS_NODEV},
	"noexec":        {false, unix.MS_NOEXEC},
	"exec":          {true, unix.MS_NOEXEC},
	"sync":          {false, unix.MS_SYNCHRONOUS},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"remount":       {false, unix.MS_REMOUNT},
	"mand":          {false, unix.MS_MANDLOCK},
	"nomand":        {true, unix.MS_MANDLOCK},
	"atime":         {true, unix.MS_NOATIME},
	"noatime":       {false, unix.MS_NOATIME},
	"diratime":      {true, unix.MS_NODIRATIME},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"relatime":      {false, unix.MS_RELATIME},
	"norelatime":    {true, unix.MS_RELATIME},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"nosymfollow":   {false, unix.MS_NOSYMFOLLOW},
	"symfollow":     {true, unix.MS_NOSYMFOLLOW},
}

var propagationOptions = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// ParseOptions splits OCI mount options into flags, propagation and data,
// the way mount(8) does.
func ParseOptions(opts []string) Options {
	var o Options
	var data []string
	for _, opt := range opts {
		switch {
		case opt == "bind":
			o.Flags |= unix.MS_BIND
			o.Bind = true
		case opt == "rbind":
			o.Flags |= unix.MS_BIND | unix.MS_REC
			o.Bind = true
		case opt == "tmpcopyup":
			// containerd's hint; minirun copies nothing up.
		default:
			if f, ok := flagOptions[opt]; ok {
				if f.clear {
					o.Flags &^= f.flag
				} else {
					o.Flags |= f.flag
				}
			} else if p, ok := propagationOptions[opt]; ok {
				o.Propagation = p
			} else {
				data = append(data, opt)
			}
		}
	}
	o.Data = strings.Join(data, ",")
	return o
}

// PropagationFlag returns the MS_* flags of a propagation name
// ("rprivate", "shared", ...), or false if the name is unknown.
func PropagationFlag(name string) (uintptr, bool) {
	p, ok := propagationOptions[name]
	return p, ok
}

// KnownOptions lists every mount option ParseOptions recognises (for
// `minirun features`); anything else is passed to the filesystem as data.
func KnownOptions() []string {
	out := []string{"bind", "rbind", "tmpcopyup"}
	for k := range flagOptions {
		out = append(out, k)
	}
	for k := range propagationOptions {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
