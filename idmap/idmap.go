package idmap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Range is a block of host IDs: Start, Start+1, ..., Start+Size-1.
type Range struct {
	Start uint32 `json:"start"`
	Size  uint32 `json:"size"`
}

// End is one past the range's last ID (as a uint64: no overflow at 2^32).
func (r Range) End() uint64 { return uint64(r.Start) + uint64(r.Size) }

// Overlaps says whether r and o share an ID.
func (r Range) Overlaps(o Range) bool {
	return r.Size > 0 && o.Size > 0 && uint64(r.Start) < o.End() && uint64(o.Start) < r.End()
}

func (r Range) String() string {
	if r.Size == 0 {
		return fmt.Sprintf("%d (empty)", r.Start)
	}
	return fmt.Sprintf("%d-%d", r.Start, r.End()-1)
}

// Parse reads a subordinate ID file (subuid(5), subgid(5): lines
// "owner:start:count", # comments and blank lines ignored) and returns
// the ranges delegated to owner, matched by name or, when uid is not "",
// by that numeric user ID, in file order. A malformed line is an error
// naming its line number: a security boundary is not guessed at.
func Parse(r io.Reader, owner, uid string) ([]Range, error) {
	var out []Range
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 3 || f[0] == "" {
			return nil, fmt.Errorf("line %d %q: want owner:start:count", n, line)
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil || start+count > 1<<32 {
			return nil, fmt.Errorf("line %d %q: start and count must be numbers with start+count at most 4294967296", n, line)
		}
		if f[0] != owner && (uid == "" || f[0] != uid) {
			continue
		}
		if count > 0 {
			out = append(out, Range{Start: uint32(start), Size: uint32(count)})
		}
	}
	return out, sc.Err()
}

// ReadFile is Parse of the file at path. A missing file is no ranges
// (and no error): the caller says what to add.
func ReadFile(path, owner, uid string) ([]Range, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rs, err := Parse(f, owner, uid)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rs, nil
}

// Largest is the size of the biggest of ranges (0 for none).
func Largest(ranges []Range) uint32 {
	var m uint32
	for _, r := range ranges {
		m = max(m, r.Size)
	}
	return m
}

// Allocate finds size IDs in a row inside one of the delegated ranges
// that overlap none of used, and returns the lowest such block. It never
// returns a block that starts at host ID 0 or spans two delegated
// ranges (two adjacent lines are still two delegations). ok is false
// when no such block exists.
func Allocate(delegated, used []Range, size uint32) (Range, bool) {
	if size == 0 {
		return Range{}, false
	}
	busy := append([]Range(nil), used...)
	sort.Slice(busy, func(i, j int) bool { return busy[i].Start < busy[j].Start })
	best, found := Range{}, false
	for _, d := range delegated {
		start := uint64(d.Start)
		if start == 0 {
			start = 1 // host root is never handed out
		}
		for _, b := range busy {
			if start+uint64(size) > d.End() {
				break
			}
			cand := Range{Start: uint32(start), Size: size}
			if cand.Overlaps(b) {
				start = b.End()
			}
		}
		if start+uint64(size) <= d.End() && (!found || start < uint64(best.Start)) {
			best, found = Range{Start: uint32(start), Size: size}, true
		}
	}
	return best, found
}
