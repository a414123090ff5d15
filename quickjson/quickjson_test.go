package quickjson

import (
	"encoding/json"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// same decodes doc with quickjson and with encoding/json into new values
// of v's type. quickjson may fail where encoding/json succeeds (it hands
// those documents over), never succeed where encoding/json fails, and
// never decode differently. ok: quickjson decoded it.
func same(t *testing.T, doc []byte, v any) (ok bool) {
	t.Helper()
	typ := reflect.TypeOf(v).Elem()
	q, j := reflect.New(typ), reflect.New(typ)
	qerr := Unmarshal(doc, q.Interface())
	jerr := json.Unmarshal(doc, j.Interface())
	if qerr != nil {
		return false
	}
	if jerr != nil {
		t.Fatalf("quickjson decoded what encoding/json rejects (%v):\n%s", jerr, doc)
	}
	if !reflect.DeepEqual(q.Interface(), j.Interface()) {
		t.Fatalf("quickjson and encoding/json decode differently:\n%s\nquickjson: %+v\nencoding/json: %+v", doc, q.Elem(), j.Elem())
	}
	return true
}

func corpus(t *testing.T) map[string][]byte {
	t.Helper()
	docs := map[string][]byte{}
	names, _ := filepath.Glob("testdata/*.json")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		docs[filepath.Base(n)] = b
	}
	if len(docs) < 2 {
		t.Fatal("testdata/*.json: the configs of runc spec and minirun run are missing")
	}
	return docs
}

// The configs runtimes are given decode on the fast path, exactly as
// encoding/json decodes them: runc spec's, and minirun run's (Docker's
// seccomp profile, mounts, resources, sysctls, capabilities).
func TestConfigs(t *testing.T) {
	for name, doc := range corpus(t) {
		if !same(t, doc, &specs.Spec{}) {
			var s specs.Spec
			t.Errorf("%s: quickjson did not decode it: %v", name, Unmarshal(doc, &s))
		}
	}
}

// Every case where encoding/json has a rule of its own: quickjson follows
// it or hands the document over, and says which it did.
func TestCases(t *testing.T) {
	type inner struct {
		A string            `json:"a"`
		N *int              `json:"n,omitempty"`
		M map[string]string `json:"m"`
		S []string          `json:"s"`
	}
	type T struct {
		Name   string `json:"name"`
		Plain  int
		Skip   string `json:"-"`
		hidden string
		U8     uint8    `json:"u8"`
		I64    int64    `json:"i64"`
		B      bool     `json:"b"`
		P      *inner   `json:"p"`
		In     inner    `json:"in"`
		L      []inner  `json:"l"`
		PP     **string `json:"pp"`
		Any    any      `json:"any"`
		F      float64  `json:"f"`
		Bytes  []byte   `json:"bytes"`
	}
	fast := []string{
		`{}`, ` {"name":"x"} `, `{"Plain":3}`, `{"name":"a\"b\\c\/d\b\f\n\r\t"}`,
		`{"name":"\u00e9\u4e2d\ud83d\ude00"}`, `{"name":"é中😀"}`, `{"u8":255,"i64":-9223372036854775808}`,
		`{"b":true}`, `{"b":false}`, `{"p":null}`, `{"p":{"a":"x","n":0}}`, `{"in":{"s":[]}}`,
		`{"in":{"s":null,"m":{}}}`, `{"in":{"m":{"k":"v","":"e"}}}`, `{"l":[{},{"a":"1"}]}`, `{"l":[]}`,
		`{"name":null,"u8":null,"b":null,"in":null}`, `{"unknown":{"deep":[1,2.5e3,-0.1,{"x":null}],"t":true}}`,
		`{"pp":"x"}`, `{"pp":null}`, `{"skip":"not the Skip field","hidden":"x","-":1}`,
		"{\"name\"\t:\r\n\"x\" }",
	}
	slow := []string{
		`{"Name":"x"}`, `{"NAME":"x"}`, `{"plain":1}`, `{"name":"x","name":"y"}`, `{"in":{"m":{"k":"1","k":"2"}}}`,
		`{"u8":1.0}`, `{"i64":1e3}`, `{"any":null}`, `{"any":{}}`, `{"any":1}`, `{"f":1}`, `{"bytes":"AAA="}`,
		`{"name":"\ud800"}`, `{"name":"\udc00x"}`, "{\"name\":\"\xff\"}",
		`{"name":1}`, `{"u8":256}`, `{"u8":-1}`, `{"i64":"1"}`, `{"b":"true"}`, `{"l":{}}`, `{"in":[]}`,
		`{"name":"x"`, `{"name":"x",}`, `{"name" "x"}`, `[]`, `{"u8":01}`, `{"u8":-}`, `{"name":"a` + "\n" + `"}`,
		`{"name":"x"} x`, `{"name":"\x"}`, `{"name":"\u12"}`, `nul`, ``, `{"b":tru}`, `{"unknown":[1,}`,
		strings.Repeat(`{"x":`, 2000) + `1` + strings.Repeat(`}`, 2000),
	}
	for _, doc := range fast {
		if !same(t, []byte(doc), &T{}) {
			var v T
			t.Errorf("%s: not decoded by quickjson: %v", doc, Unmarshal([]byte(doc), &v))
		}
	}
	for _, doc := range slow {
		if same(t, []byte(doc), &T{}) {
			t.Errorf("%s: quickjson decoded it; it is encoding/json's to decide", doc)
		}
	}
	var v T
	if err := Unmarshal([]byte(`{"any":{}}`), &v); !errors.Is(err, ErrUnsupported) {
		t.Errorf("an interface field: %v, want ErrUnsupported", err)
	}
	if err := Unmarshal([]byte(`{"name":`), &v); err == nil || errors.Is(err, ErrUnsupported) {
		t.Errorf("a truncated document: %v, want a syntax error", err)
	}
	if err := Unmarshal([]byte(`{}`), v); !errors.Is(err, ErrUnsupported) {
		t.Errorf("not a pointer: %v", err)
	}
}

// Types quickjson leaves to encoding/json.
func TestTypes(t *testing.T) {
	type embedded struct{ A string }
	type withEmbed struct {
		embedded
		B string
	}
	type withOption struct {
		N int `json:"n,string"`
	}
	type twoNames struct {
		A string `json:"x"`
		B string `json:"X"`
	}
	type withTime struct {
		T json.Number `json:"t"` // a string kind, but decoded from numbers
	}
	type withMarshaler struct {
		R json.RawMessage `json:"r"`
	}
	for _, c := range []struct {
		v   any
		doc string
	}{
		{&withEmbed{}, `{"A":"a","B":"b"}`},
		{&withOption{}, `{"n":"1"}`},
		{&twoNames{}, `{"x":"a"}`},
		{&withMarshaler{}, `{"r":[1]}`},
		{&map[int]string{}, `{"1":"a"}`},
		{&[2]int{}, `[1,2]`},
	} {
		if err := Unmarshal([]byte(c.doc), c.v); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%T: %v, want ErrUnsupported", c.v, err)
		}
	}
	// json.Number is a string type with a meaning: number literals. It is
	// decoded from a string by both, and quickjson refuses numbers for it.
	same(t, []byte(`{"t":"12"}`), &withTime{})
	if same(t, []byte(`{"t":12}`), &withTime{}) {
		t.Errorf("json.Number from a number literal: decoded by quickjson")
	}
}

// Thousands of mutations of the configs: whatever quickjson decodes,
// encoding/json decodes the same way.
func TestMutations(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	pieces := []string{`"`, `\`, `{`, `}`, `[`, `]`, `,`, `:`, `null`, `1`, `-0`, `1.5`, `1e2`, `"x"`, `\u00e9`, `\ud83d`, "\xff", ` `, `"Linux"`, `"LINUX"`, `"process"`}
	fast, total := 0, 0
	for name, doc := range corpus(t) {
		for i := 0; i < 1500; i++ {
			m := []byte(string(doc))
			switch k := rng.Intn(4); {
			case k == 0: // flip a byte
				p := rng.Intn(len(m))
				m[p] = byte(rng.Intn(128))
			case k == 1: // delete a run
				p := rng.Intn(len(m))
				e := min(len(m), p+1+rng.Intn(8))
				m = append(m[:p], m[e:]...)
			case k == 2: // insert a piece
				p := rng.Intn(len(m))
				s := pieces[rng.Intn(len(pieces))]
				m = append(m[:p], append([]byte(s), m[p:]...)...)
			default: // change the case of a member name, or give a member twice
				keys := strings.Split(string(m), `":`)
				if len(keys) < 2 {
					continue
				}
				j := rng.Intn(len(keys) - 1)
				q := strings.LastIndexByte(keys[j], '"')
				if rng.Intn(2) == 0 {
					keys[j] = keys[j][:q+1] + strings.ToUpper(keys[j][q+1:])
				} else {
					keys[j] = keys[j][:q+1] + keys[j][q+1:] + `": 1, "` + keys[j][q+1:]
				}
				m = []byte(strings.Join(keys, `":`))
			}
			total++
			if same(t, m, &specs.Spec{}) {
				fast++
			}
		}
		_ = name
	}
	t.Logf("%d mutated documents, %d decoded by quickjson, the same as by encoding/json", total, fast)
	if fast == 0 {
		t.Error("no mutated document took the fast path: the test checks nothing")
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{`{}`, `{"process":{"args":["sh"]}}`, `{"linux":{"resources":{"memory":{"limit":1}}}}`, `{"hostname":"\u00e9"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		same(t, doc, &specs.Spec{})
	})
}

func BenchmarkConfig(b *testing.B) {
	doc, err := os.ReadFile("testdata/minirun-run.json")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var s specs.Spec
		if err := Unmarshal(doc, &s); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFoldEqual(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"cgroupsPath", "cgroupspath", true}, {"cgroupsPath", "CGROUPS_PATH", true}, {"a-b", "A_B", true},
		{"ab", "a_b_", true}, {"ab", "abc", false}, {"", "-", true}, {"k", "\u212a", true}, {"ſ", "S", true}, {"é", "É", true}, {"x", "y", false},
	} {
		if got := foldEqual(c.a, c.b); got != c.want {
			t.Errorf("foldEqual(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
