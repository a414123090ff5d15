package container

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/atomicfile"
)

// Parent cgroups that minirun made (e.g. /minirun, or the tests'
// minirun-it-<pid>) are shared by every container below them, and the
// container that happened to create one is not necessarily the last to
// leave it. So the runtime root keeps a list of the parents minirun
// created (.cgroup-parents.json, under flock on the root directory): the
// last container to leave removes them, and nothing minirun did not
// create is ever removed (rmdir(2) of a cgroup that still has children or
// processes fails anyway).

const parentsFile = ".cgroup-parents.json"

// withParents runs fn holding the runtime root's lock, with the list of
// registered parents; fn returns the new list.
func (c *Container) withParents(fn func([]string) []string) {
	root := filepath.Dir(c.dir)
	unlock, err := lockDir(root)
	if err != nil {
		fn(nil)
		return
	}
	defer unlock()
	path := filepath.Join(root, parentsFile)
	var list []string
	b, rerr := os.ReadFile(path)
	if rerr == nil {
		_ = json.Unmarshal(b, &list)
	}
	out := fn(list)
	if len(out) == 0 {
		if rerr == nil { // there is a list to remove
			_ = unix.Unlink(path)
		}
		return
	}
	b, _ = json.Marshal(out)
	_ = atomicfile.WriteFile(path, b, 0o600)
}

// parentsOf picks, from the directories Create made, those that are not a
// container's own cgroup: the ones another created directory lies below.
func parentsOf(created []string) []string {
	var out []string
	for _, d := range created {
		for _, e := range created {
			if strings.HasPrefix(e, d+"/") {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

// sweepParents removes every registered parent that is now empty,
// deepest first, and forgets those that are gone.
func sweepParents(list []string) []string {
	sort.Slice(list, func(i, j int) bool { return len(list[i]) > len(list[j]) })
	var keep []string
	for _, d := range list {
		err := unix.Rmdir(d)
		if err == nil || err == unix.ENOENT {
			continue
		}
		keep = append(keep, d)
	}
	return keep
}
