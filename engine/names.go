package engine

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
)

// Docker gives every container without --name a name like
// "focused_turing"; so does minirun (adjectives and scientists, a shorter
// list than Docker's).
var (
	nameLeft  = []string{"brave", "calm", "clever", "eager", "gentle", "happy", "keen", "lucid", "merry", "nifty", "proud", "quiet", "sharp", "swift", "tender", "vivid", "wise", "zen", "bold", "cool"}
	nameRight = []string{"curie", "darwin", "euler", "fermi", "galois", "hopper", "kepler", "lamport", "liskov", "lovelace", "noether", "pike", "ritchie", "shannon", "thompson", "torvalds", "turing", "wozniak", "knuth", "dijkstra"}
)

func pick(list []string) string {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
	if err != nil {
		return list[0]
	}
	return list[n.Int64()]
}

// randomName makes a name like Docker's; after a few collisions (the
// caller's try count) a number goes at the end. reserveName decides
// whether it is free.
func randomName(try int) string {
	name := pick(nameLeft) + "_" + pick(nameRight)
	if try > 3 {
		n, _ := rand.Int(rand.Reader, big.NewInt(10000))
		name += "_" + n.String()
	}
	return name
}

func (e *Engine) randomName(try int) string { return randomName(try) }

func (e *Engine) namePath(name string) string {
	return filepath.Join(e.DataRoot, "names", name)
}

// reserveName claims name for id by creating <data>/names/<name> with
// O_EXCL. A name whose holder no longer exists (a crash between reserving
// and writing meta.json) is taken over. It returns the holder's ID when
// the name is taken.
func (e *Engine) reserveName(name, id string) (string, error) {
	if err := os.MkdirAll(filepath.Join(e.DataRoot, "names"), 0o700); err != nil {
		return "", err
	}
	for try := 0; try < 2; try++ {
		f, err := os.OpenFile(e.namePath(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, err = f.WriteString(id)
			f.Close()
			return "", err
		}
		if !os.IsExist(err) {
			return "", err
		}
		holder, _ := os.ReadFile(e.namePath(name))
		h := string(holder)
		if h != "" && fileExists(e.containerDataDir(h)) {
			return h, fmt.Errorf("name %q is taken", name)
		}
		// Stale: its container is gone.
		_ = os.Remove(e.namePath(name))
	}
	return "", fmt.Errorf("could not reserve the name %q", name)
}

// releaseName frees name if id holds it.
func (e *Engine) releaseName(name, id string) {
	if name == "" {
		return
	}
	if b, err := os.ReadFile(e.namePath(name)); err == nil && string(b) == id {
		_ = os.Remove(e.namePath(name))
	}
}
