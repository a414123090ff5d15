package quickjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// sameBytes encodes v with quickjson and encoding/json: where quickjson
// encodes it, the bytes are the same. ok: quickjson encoded it.
func sameBytes(t *testing.T, v any) (ok bool) {
	t.Helper()
	q, qerr := Marshal(v)
	j, jerr := json.Marshal(v)
	if qerr != nil {
		return false
	}
	if jerr != nil {
		t.Fatalf("quickjson encoded what encoding/json refuses (%v): %s", jerr, q)
	}
	if !bytes.Equal(q, j) {
		t.Fatalf("quickjson and encoding/json encode %T differently:\nquickjson:     %s\nencoding/json: %s", v, q, j)
	}
	return true
}

type Base struct {
	Version string            `json:"ociVersion"`
	Labels  map[string]string `json:"labels,omitempty"`
}

type stateLike struct {
	Base
	ID      string     `json:"id"`
	Pid     int        `json:"pid"`
	Created time.Time  `json:"created"`
	Ended   *time.Time `json:"ended,omitempty"`
	Count   uint64     `json:"count"`
	Small   int8       `json:"small,omitempty"`
	Flag    *bool      `json:"flag,omitempty"`
	On      bool       `json:"on,omitempty"`
	Dirs    map[string]string
	List    []string `json:"list,omitempty"`
	Nil     []string `json:"nil"`
	Empty   []string `json:"empty"`
	Inner   *Base    `json:"inner"`
	Skip    int      `json:"-"`
	hidden  int
}

func TestMarshal(t *testing.T) {
	yes := true
	end := time.Date(2026, 12, 5, 1, 2, 3, 456789, time.FixedZone("X", 3600))
	for _, v := range []any{
		stateLike{},
		&stateLike{Base: Base{Version: "1.3.0", Labels: map[string]string{"b": "2", "a": "1", "": "e"}}, ID: "c1", Pid: -5,
			Created: time.Now(), Ended: &end, Count: 1 << 63, Small: -128, Flag: &yes, On: true,
			Dirs: map[string]string{"memory": "/sys/fs/cgroup/memory/x"}, List: []string{"x"}, Empty: []string{}, Inner: &Base{}, Skip: 3, hidden: 4},
		"quote \" backslash \\ slash / \b \f \n \r \t \x00 \x1f <a href=\"x\">&amp; \u2028 \u2029 é 中 😀 \x7f",
		map[string]int{"z": 1, "a": 2, "m": 3}, []int{}, []int(nil), (*int)(nil), true, uint8(255), int64(-1 << 63),
		specs.State{Version: "1", ID: "x", Status: "running", Pid: 1, Bundle: "/b", Annotations: map[string]string{"k": "v"}},
		json.RawMessage(`{"a":[1,"x"]}`),
	} {
		if !sameBytes(t, v) {
			_, err := Marshal(v)
			t.Errorf("%T: not encoded by quickjson: %v", v, err)
		}
	}
	// A whole runtime config, decoded from the testdata.
	for name, doc := range corpus(t) {
		var s specs.Spec
		if err := json.Unmarshal(doc, &s); err != nil {
			t.Fatal(err)
		}
		if !sameBytes(t, &s) {
			_, err := Marshal(&s)
			t.Errorf("%s: not encoded by quickjson: %v", name, err)
		}
	}
}

func TestMarshalUnsupported(t *testing.T) {
	type withPtrEmbed struct {
		*Base
	}
	type withFloat struct{ F float64 }
	type withAny struct{ A any }
	type twoNames struct {
		A string `json:"x"`
		B string `json:"X"`
	}
	type withOption struct {
		N int `json:"n,string"`
	}
	for _, v := range []any{
		withPtrEmbed{}, withFloat{}, withAny{}, twoNames{}, withOption{}, []byte("x"), map[int]string{1: "a"},
		json.RawMessage(`{ }`), "\xff", [2]int{},
	} {
		if _, err := Marshal(v); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%T: %v, want ErrUnsupported", v, err)
		}
	}
}

func FuzzMarshalString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "<>&", "\u2028", "\x00\x1f", "é😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sameBytes(t, s)
		sameBytes(t, map[string]string{s: s})
	})
}
