package quickjson

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrUnsupported is wrapped by every error about a document or a Go type
// outside quickjson's subset; encoding/json may still decode it.
var ErrUnsupported = errors.New("outside quickjson's subset: decode it with encoding/json")

// maxDepth bounds the nesting of arrays and objects quickjson follows;
// deeper documents are encoding/json's (which allows 10000).
const maxDepth = 1000

// Unmarshal decodes the JSON document data into the value v points to, as
// encoding/json.Unmarshal would, or fails. On failure *v may be partly
// written: decode again into a fresh value.
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("quickjson: decode into %T: %w", v, ErrUnsupported)
	}
	d := decoder{data: data}
	d.space()
	if err := d.value(rv.Elem()); err != nil {
		return err
	}
	d.space()
	if d.pos != len(d.data) {
		return d.syntax("data after the top-level value")
	}
	return nil
}

type decoder struct {
	data  []byte
	pos   int
	depth int
	buf   []byte // an unescaped string
	// What infoOf said of the types met so far (a document meets a few
	// dozen at most): cheaper to search than the shared cache.
	types []reflect.Type
	infos []*typeInfo
}

func (d *decoder) info(t reflect.Type) (*typeInfo, error) {
	for i, k := range d.types {
		if k == t {
			return d.infos[i], nil
		}
	}
	info, err := infoOf(t)
	if err == nil {
		d.types, d.infos = append(d.types, t), append(d.infos, info)
	}
	return info, err
}

func (d *decoder) syntax(what string) error {
	return fmt.Errorf("quickjson: offset %d: %s", d.pos, what)
}

func (d *decoder) unsupported(what string) error {
	return fmt.Errorf("quickjson: offset %d: %s: %w", d.pos, what, ErrUnsupported)
}

func (d *decoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// literal consumes word (null, true, false) if it comes next.
func (d *decoder) literal(word string) bool {
	if len(d.data)-d.pos >= len(word) && string(d.data[d.pos:d.pos+len(word)]) == word {
		d.pos += len(word)
		return true
	}
	return false
}

// value decodes the next JSON value into v.
func (d *decoder) value(v reflect.Value) error {
	if d.pos >= len(d.data) {
		return d.syntax("unexpected end of the document")
	}
	info, err := d.info(v.Type())
	if err != nil {
		return d.unsupported(err.Error())
	}
	if d.data[d.pos] == 'n' {
		if !d.literal("null") {
			return d.syntax("invalid literal")
		}
		// As encoding/json: null empties a pointer, slice or map, and
		// leaves anything else as it is.
		switch v.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			v.SetZero()
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return d.value(v.Elem())
	case reflect.Struct:
		return d.object(v, info)
	case reflect.Map:
		return d.mapObject(v)
	case reflect.Slice:
		return d.array(v)
	case reflect.String:
		if d.data[d.pos] != '"' {
			return d.syntax("expected a string for " + v.Type().String())
		}
		s, err := d.str()
		if err != nil {
			return err
		}
		v.SetString(string(s))
		return nil
	case reflect.Bool:
		switch {
		case d.literal("true"):
			v.SetBool(true)
		case d.literal("false"):
			v.SetBool(false)
		default:
			return d.syntax("expected true or false")
		}
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		lit, err := d.integer()
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(lit, 10, v.Type().Bits())
		if err != nil {
			return d.syntax("number " + lit + " does not fit " + v.Type().String())
		}
		v.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		lit, err := d.integer()
		if err != nil {
			return err
		}
		n, err := strconv.ParseUint(lit, 10, v.Type().Bits())
		if err != nil {
			return d.syntax("number " + lit + " does not fit " + v.Type().String())
		}
		v.SetUint(n)
		return nil
	}
	return d.unsupported("Go type " + v.Type().String())
}

// integer scans a JSON number that is an integer: no fraction, no
// exponent (encoding/json refuses those for integer types, in its words).
func (d *decoder) integer() (string, error) {
	start := d.pos
	if err := d.number(); err != nil {
		return "", err
	}
	lit := string(d.data[start:d.pos])
	if strings.ContainsAny(lit, ".eE") {
		return "", d.unsupported("number " + lit + " for an integer")
	}
	return lit, nil
}

// number scans a JSON number: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?
func (d *decoder) number() error {
	p, b := d.pos, d.data
	if p < len(b) && b[p] == '-' {
		p++
	}
	digits := func() int {
		n := 0
		for p < len(b) && '0' <= b[p] && b[p] <= '9' {
			p++
			n++
		}
		return n
	}
	switch {
	case p < len(b) && b[p] == '0':
		p++
	case p < len(b) && '1' <= b[p] && b[p] <= '9':
		digits()
	default:
		d.pos = p
		return d.syntax("invalid number")
	}
	if p < len(b) && b[p] == '.' {
		p++
		if digits() == 0 {
			d.pos = p
			return d.syntax("invalid number")
		}
	}
	if p < len(b) && (b[p] == 'e' || b[p] == 'E') {
		p++
		if p < len(b) && (b[p] == '+' || b[p] == '-') {
			p++
		}
		if digits() == 0 {
			d.pos = p
			return d.syntax("invalid number")
		}
	}
	d.pos = p
	return nil
}

// str scans a JSON string and returns its content, which is valid until
// the next call.
func (d *decoder) str() ([]byte, error) {
	d.pos++ // the opening quote
	start := d.pos
	b := d.data
	// The common case: no escapes, ASCII.
	for d.pos < len(b) {
		c := b[d.pos]
		if c == '"' {
			d.pos++
			return b[start : d.pos-1], nil
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			break
		}
		d.pos++
	}
	d.buf = append(d.buf[:0], b[start:d.pos]...)
	for d.pos < len(b) {
		c := b[d.pos]
		switch {
		case c == '"':
			d.pos++
			return d.buf, nil
		case c < 0x20:
			return nil, d.syntax("control character in a string")
		case c >= 0x80:
			r, n := utf8.DecodeRune(b[d.pos:])
			if r == utf8.RuneError && n <= 1 {
				return nil, d.unsupported("invalid UTF-8 in a string")
			}
			d.buf = append(d.buf, b[d.pos:d.pos+n]...)
			d.pos += n
		case c != '\\':
			d.buf = append(d.buf, c)
			d.pos++
		default:
			if d.pos+1 >= len(b) {
				return nil, d.syntax("unexpected end of the document in a string")
			}
			e := b[d.pos+1]
			d.pos += 2
			switch e {
			case '"', '\\', '/':
				d.buf = append(d.buf, e)
			case 'b':
				d.buf = append(d.buf, '\b')
			case 'f':
				d.buf = append(d.buf, '\f')
			case 'n':
				d.buf = append(d.buf, '\n')
			case 'r':
				d.buf = append(d.buf, '\r')
			case 't':
				d.buf = append(d.buf, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return nil, d.syntax("invalid \\u escape")
				}
				if utf16.IsSurrogate(r) {
					// Only a high surrogate followed by a low one.
					var r2 rune = -1
					if d.pos+1 < len(b) && b[d.pos] == '\\' && b[d.pos+1] == 'u' {
						d.pos += 2
						if r2, ok = d.hex4(); !ok {
							return nil, d.syntax("invalid \\u escape")
						}
					}
					if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
						return nil, d.unsupported("a lone UTF-16 surrogate")
					}
				}
				d.buf = utf8.AppendRune(d.buf, r)
			default:
				return nil, d.syntax("invalid escape in a string")
			}
		}
	}
	return nil, d.syntax("unexpected end of the document in a string")
}

func (d *decoder) hex4() (rune, bool) {
	if len(d.data)-d.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.pos += 4
	return r, true
}

// members walks the members of an object, calling fn with each name with
// the position at its value; fn consumes the value.
func (d *decoder) members(fn func(name []byte) error) error {
	return d.sequence('{', '}', "an object", func() error {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return d.syntax("expected a member name")
		}
		name, err := d.str()
		if err != nil {
			return err
		}
		d.space()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return d.syntax("expected ':' after a member name")
		}
		d.pos++
		d.space()
		return fn(name)
	})
}

// elements walks the elements of an array, calling fn at each one; fn
// consumes it.
func (d *decoder) elements(fn func() error) error {
	return d.sequence('[', ']', "an array", fn)
}

// sequence walks what lies between open and close, separated by commas,
// calling item at each.
func (d *decoder) sequence(open, close byte, what string, item func() error) error {
	if d.data[d.pos] != open {
		return d.syntax("expected " + what)
	}
	if d.depth++; d.depth > maxDepth {
		return d.unsupported("nesting deeper than " + strconv.Itoa(maxDepth))
	}
	d.pos++
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == close {
		d.pos++
		d.depth--
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		d.space()
		if d.pos >= len(d.data) {
			return d.syntax("unexpected end of the document in " + what)
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			d.space()
		case close:
			d.pos++
			d.depth--
			return nil
		default:
			return d.syntax("expected ',' or '" + string(close) + "' in " + what)
		}
	}
}

func (d *decoder) object(v reflect.Value, info *typeInfo) error {
	var seen []bool
	return d.members(func(b []byte) error {
		i := info.field(b)
		if i < 0 {
			if name := string(b); info.foldMatch(name) {
				return d.unsupported("member " + strconv.Quote(name) + " matches a field only ignoring case")
			}
			return d.skip()
		}
		if seen == nil {
			seen = make([]bool, len(info.fields))
		}
		if seen[i] {
			return d.unsupported("member " + strconv.Quote(string(b)) + " given twice")
		}
		seen[i] = true
		return d.value(v.Field(info.fields[i].index))
	})
}

func (d *decoder) mapObject(v reflect.Value) error {
	t := v.Type()
	if d.pos < len(d.data) && d.data[d.pos] != '{' {
		return d.syntax("expected an object for " + t.String())
	}
	m := reflect.MakeMap(t)
	v.Set(m)
	elem := reflect.New(t.Elem()).Elem()
	return d.members(func(b []byte) error {
		name := string(b)
		key := reflect.ValueOf(name).Convert(t.Key())
		if m.MapIndex(key).IsValid() {
			return d.unsupported("key " + strconv.Quote(name) + " given twice")
		}
		elem.SetZero()
		if err := d.value(elem); err != nil {
			return err
		}
		m.SetMapIndex(key, elem)
		return nil
	})
}

func (d *decoder) array(v reflect.Value) error {
	t := v.Type()
	if d.pos < len(d.data) && d.data[d.pos] != '[' {
		return d.syntax("expected an array for " + t.String())
	}
	s := reflect.New(t).Elem()
	s.Set(reflect.MakeSlice(t, 0, 0)) // [] is an empty slice, not nil
	err := d.elements(func() error {
		n := s.Len()
		s.Grow(1)
		s.SetLen(n + 1)
		return d.value(s.Index(n))
	})
	if err == nil {
		v.Set(s)
	}
	return err
}

// skip consumes a value of a member no field takes, checking its syntax.
func (d *decoder) skip() error {
	if d.pos >= len(d.data) {
		return d.syntax("unexpected end of the document")
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.members(func([]byte) error { return d.skip() })
	case c == '[':
		return d.elements(d.skip)
	case c == '"':
		_, err := d.str()
		return err
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	case d.literal("true"), d.literal("false"), d.literal("null"):
		return nil
	}
	return d.syntax("invalid value")
}

// typeInfo is what quickjson knows of a Go type: for a struct, the
// fields members can name.
type typeInfo struct {
	fields []field
}

type field struct {
	name  string
	index int
}

// foldEqual tells whether a and b are equal when case is ignored, or when
// case, dashes and underscores are: how encoding/json's matching may see
// two names.
func foldEqual(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	i, j := 0, 0
	for {
		for i < len(a) && (a[i] == '-' || a[i] == '_') {
			i++
		}
		for j < len(b) && (b[j] == '-' || b[j] == '_') {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		ra, na := utf8.DecodeRuneInString(a[i:])
		rb, nb := utf8.DecodeRuneInString(b[j:])
		if ra != rb && !strings.EqualFold(a[i:i+na], b[j:j+nb]) {
			return false
		}
		i, j = i+na, j+nb
	}
}

func (t *typeInfo) field(name []byte) int {
	for i := range t.fields {
		if t.fields[i].name == string(name) {
			return i
		}
	}
	return -1
}

// foldMatch tells whether name would match a field if case, or dashes
// and underscores, were ignored, as encoding/json's matching may.
func (t *typeInfo) foldMatch(name string) bool {
	for _, f := range t.fields {
		if foldEqual(f.name, name) {
			return true
		}
	}
	return false
}

var (
	infos   sync.Map // reflect.Type -> *typeInfo or error
	jsonU   = reflect.TypeFor[json.Unmarshaler]()
	textU   = reflect.TypeFor[encoding.TextUnmarshaler]()
	tagChar = func(r rune) bool {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-' || r == '.'
	}
)

// infoOf checks that quickjson decodes values of t exactly as
// encoding/json does, and lists a struct's fields.
func infoOf(t reflect.Type) (*typeInfo, error) { return cached(&infos, t, makeInfo) }

// cached is what build says of t, asked once per type: a *typeInfo or an
// *encInfo, or why quickjson leaves t to encoding/json.
func cached[T any](m *sync.Map, t reflect.Type, build func(reflect.Type) (T, error)) (T, error) {
	if v, ok := m.Load(t); ok {
		if err, ok := v.(error); ok {
			var zero T
			return zero, err
		}
		return v.(T), nil
	}
	info, err := build(t)
	if err != nil {
		m.Store(t, err)
		return info, err
	}
	m.Store(t, info)
	return info, nil
}

// jsonTag reads f's json tag as encoding/json does: the member name (the
// field's own without one), whether f is left out ("-"), and its
// omitempty option. omitzero is reported too; any other option, or a name
// with characters encoding/json might treat otherwise, is an error.
func jsonTag(t reflect.Type, f reflect.StructField) (name string, skip, omitempty, omitzero bool, err error) {
	tag, tagged := f.Tag.Lookup("json")
	if tag == "-" {
		return "", true, false, false, nil
	}
	name, opts, _ := strings.Cut(tag, ",")
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		switch o {
		case "":
		case "omitempty":
			omitempty = true
		case "omitzero":
			omitzero = true
		default:
			return "", false, false, false, fmt.Errorf("%s.%s: json tag option %q", t, f.Name, o)
		}
	}
	if name == "" || !tagged {
		return f.Name, false, omitempty, omitzero, nil
	}
	if strings.IndexFunc(name, func(r rune) bool { return !tagChar(r) }) >= 0 {
		return "", false, false, false, fmt.Errorf("%s.%s: json name %q", t, f.Name, name)
	}
	return name, false, omitempty, omitzero, nil
}

func makeInfo(t reflect.Type) (*typeInfo, error) {
	if t.Implements(jsonU) || t.Implements(textU) || reflect.PointerTo(t).Implements(jsonU) || reflect.PointerTo(t).Implements(textU) {
		return nil, fmt.Errorf("%s has its own decoding method", t)
	}
	info := &typeInfo{}
	if err := kindError(t, textU); err != nil {
		return nil, err
	}
	if t.Kind() == reflect.Struct {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous {
				return nil, fmt.Errorf("%s embeds %s", t, f.Type)
			}
			if !f.IsExported() {
				continue
			}
			// Decoding ignores omitempty and omitzero.
			name, skip, _, _, err := jsonTag(t, f)
			if err != nil {
				return nil, err
			}
			if skip {
				continue
			}
			if info.foldMatch(name) {
				return nil, fmt.Errorf("%s: two fields named %q", t, name)
			}
			info.fields = append(info.fields, field{name: name, index: i})
		}
	}
	return info, nil
}

// kindError says why quickjson leaves values of t's kind to encoding/json,
// or is nil for a kind it handles. text is the method a map key must not
// have (encoding/json would use it for the key).
func kindError(t, text reflect.Type) error {
	switch t.Kind() {
	case reflect.Pointer, reflect.String, reflect.Bool, reflect.Struct,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return fmt.Errorf("%s (base64 in encoding/json)", t)
		}
		return nil
	case reflect.Map:
		if k := t.Key(); k.Kind() != reflect.String || k.Implements(text) || reflect.PointerTo(k).Implements(text) {
			return fmt.Errorf("map key type %s", k)
		}
		return nil
	}
	return fmt.Errorf("Go type %s", t)
}
