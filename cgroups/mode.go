package cgroups

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Mode is how a host has mounted its cgroups.
type Mode int

// The three ways a host can mount cgroups, and none.
const (
	Unavailable Mode = iota
	Legacy           // cgroup v1 only
	Hybrid           // v1 controllers, plus an (empty) v2 tree at /sys/fs/cgroup/unified
	Unified          // cgroup v2 only
)

func (m Mode) String() string {
	switch m {
	case Legacy:
		return "cgroup v1 (legacy)"
	case Hybrid:
		return "cgroup v1 (hybrid host: v2 mounted at /sys/fs/cgroup/unified carries no controllers)"
	case Unified:
		return "cgroup v2 (unified)"
	}
	return "no cgroup filesystem"
}

// Root is where the cgroup filesystems are mounted.
const Root = "/sys/fs/cgroup"

// DetectMode looks at what is mounted at /sys/fs/cgroup (statfs(2)).
func DetectMode() Mode {
	return DetectModeWith(func(path string) (int64, error) {
		var st unix.Statfs_t
		err := unix.Statfs(path, &st)
		return int64(st.Type), err
	})
}

// DetectModeWith is DetectMode with statfs(2) given as a function that
// returns the filesystem's magic number (f_type), so that a caller (minirun
// doctor, a test) can feed it another host's answers.
func DetectModeWith(statfs func(path string) (int64, error)) Mode {
	t, err := statfs(Root)
	if err != nil {
		return Unavailable
	}
	if t == unix.CGROUP2_SUPER_MAGIC {
		return Unified
	}
	if t != unix.TMPFS_MAGIC {
		return Unavailable
	}
	if t, err := statfs(filepath.Join(Root, "unified")); err == nil && t == unix.CGROUP2_SUPER_MAGIC {
		return Hybrid
	}
	return Legacy
}

// ownPaths reads /proc/self/cgroup: for v1, controller name -> path of the
// calling process's cgroup in that hierarchy ("memory" -> "/x/y"); for v2
// the key is "". Comounted controllers ("cpu,cpuacct") appear under each
// of their names and under the joint name.
func ownPaths() (map[string]string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		out[parts[1]] = parts[2]
		for _, c := range strings.Split(parts[1], ",") {
			out[strings.TrimPrefix(c, "name=")] = parts[2]
		}
	}
	return out, s.Err()
}

// ResolvePath turns an OCI cgroupsPath into an absolute cgroup path for one
// hierarchy: an absolute path stays; a relative one is placed below the
// calling process's own cgroup in that hierarchy (own), so a runtime run
// from inside a cgroup never leaves its subtree.
func ResolvePath(p, own string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty cgroup path")
	}
	if strings.Contains(p, "..") {
		return "", fmt.Errorf("cgroup path %q must not contain ..", p)
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	return filepath.Join("/", own, p), nil
}
