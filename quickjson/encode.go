package quickjson

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Marshal encodes v as encoding/json.Marshal does (the same bytes), for
// the subset Unmarshal decodes plus embedded structs and types with a
// MarshalJSON method of their own (time.Time); anything else is an error
// wrapping ErrUnsupported, for encoding/json to encode instead. As with
// decoding, encoding/json's first use of a type costs a set-up a process
// that writes one file once pays in full.
func Marshal(v any) ([]byte, error) {
	return appendValue(make([]byte, 0, 512), reflect.ValueOf(v))
}

var (
	jsonM  = reflect.TypeFor[json.Marshaler]()
	textM  = reflect.TypeFor[encoding.TextMarshaler]()
	encs   sync.Map // reflect.Type -> *encInfo or error
	hexDig = "0123456789abcdef"
)

// encInfo is what Marshal knows of a type: whether it encodes itself, and
// for a struct its fields in order, embedded structs' fields in place.
type encInfo struct {
	self   bool // json.Marshaler
	fields []encField
}

type encField struct {
	name      string
	index     []int
	omitempty bool
}

func encInfoOf(t reflect.Type) (*encInfo, error) {
	return cached(&encs, t, func(t reflect.Type) (*encInfo, error) {
		info, err := makeEncInfo(t)
		if err != nil {
			return nil, fmt.Errorf("quickjson: encode %s: %w", err, ErrUnsupported)
		}
		return info, nil
	})
}

func makeEncInfo(t reflect.Type) (*encInfo, error) {
	if t.Implements(jsonM) {
		return &encInfo{self: true}, nil
	}
	if reflect.PointerTo(t).Implements(jsonM) || t.Implements(textM) || reflect.PointerTo(t).Implements(textM) {
		return nil, fmt.Errorf("%s: a marshaling method encoding/json applies by its own rules", t)
	}
	info := &encInfo{}
	if err := kindError(t, textM); err != nil {
		return nil, err
	}
	if t.Kind() == reflect.Struct {
		if err := info.addFields(t, nil); err != nil {
			return nil, err
		}
		for i, f := range info.fields {
			for _, g := range info.fields[:i] {
				if foldEqual(f.name, g.name) {
					return nil, fmt.Errorf("%s: two fields named %q", t, f.name)
				}
			}
		}
	}
	return info, nil
}

// addFields lists t's fields under index, those of an untagged embedded
// struct in its place, as encoding/json promotes them.
func (info *encInfo) addFields(t reflect.Type, index []int) error {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.Anonymous && !f.IsExported() {
			continue
		}
		name, skip, omit, omitzero, err := jsonTag(t, f)
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		if omitzero {
			return fmt.Errorf("%s.%s: json tag option omitzero", t, f.Name)
		}
		at := append(slices.Clip(index), i)
		if f.Anonymous {
			if _, tagged := f.Tag.Lookup("json"); tagged || f.Type.Kind() != reflect.Struct {
				return fmt.Errorf("%s embeds %s", t, f.Type)
			}
			if err := info.addFields(f.Type, at); err != nil {
				return err
			}
			continue
		}
		info.fields = append(info.fields, encField{name: name, index: at, omitempty: omit})
	}
	return nil
}

func appendValue(b []byte, v reflect.Value) ([]byte, error) {
	if !v.IsValid() {
		return append(b, "null"...), nil
	}
	info, err := encInfoOf(v.Type())
	if err != nil {
		return nil, err
	}
	if info.self {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return append(b, "null"...), nil
		}
		out, err := v.Interface().(json.Marshaler).MarshalJSON()
		if err != nil {
			return nil, err
		}
		// encoding/json checks and compacts what a method returns; this
		// takes it only if it is one value with no space to remove.
		d := decoder{data: out}
		if len(out) == 0 || d.skip() != nil || d.pos != len(out) || strings.ContainsAny(string(out), " \t\r\n") {
			return nil, fmt.Errorf("quickjson: %s.MarshalJSON: %q: %w", v.Type(), out, ErrUnsupported)
		}
		return append(b, out...), nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		return appendValue(b, v.Elem())
	case reflect.String:
		return appendString(b, v.String())
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case reflect.Slice:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendValue(b, v.Index(i)); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case reflect.Map:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		keys := make([]string, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			keys = append(keys, it.Key().String())
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendString(b, k); err != nil {
				return nil, err
			}
			b = append(b, ':')
			if b, err = appendValue(b, v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key()))); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case reflect.Struct:
		b = append(b, '{')
		first := true
		for _, f := range info.fields {
			fv := v.FieldByIndex(f.index)
			if f.omitempty && isEmpty(fv) {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, '"')
			b = append(b, f.name...)
			b = append(b, '"', ':')
			if b, err = appendValue(b, fv); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("quickjson: encode %s: %w", v.Type(), ErrUnsupported)
}

// isEmpty is encoding/json's omitempty test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// appendString quotes s as encoding/json does: \" \\ \b \f \n \r \t,
// other control characters and <, >, & as \u00XX, U+2028 and U+2029
// escaped.
func appendString(b []byte, s string) ([]byte, error) {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hexDig[c>>4], hexDig[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return nil, fmt.Errorf("quickjson: invalid UTF-8 in a string: %w", ErrUnsupported)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDig[r&15])
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"'), nil
}
