// Package quickjson decodes plain JSON into Go values with reflection and
// nothing else, for programs that decode one document once and exit.
//
// encoding/json prepares, the first time it meets a Go type, a decoder for
// that type and for every type reachable from it, and keeps them for the
// rest of the process: cheap when a server decodes millions of documents,
// but a runtime process decodes one config.json and exits. For the
// runtime-spec's types that preparation was ~0.3 ms of every `minirun
// run --bundle` and `create` (perf; the decoding itself takes ~0.03 ms).
// quickjson walks the document and the Go value side by side instead,
// matching each member name against the struct's json tags, and keeps
// only a per-type list of fields.
//
// It decodes a strict subset, and decodes it exactly as encoding/json does:
// structs (json tags, exact names), pointers, slices, maps with string
// keys, strings, booleans and integers. Anything else is an error wrapping
// ErrUnsupported: a member name that matches a field only case-
// insensitively, a member given twice, a fraction or exponent, an escape
// that is not valid UTF-16, invalid UTF-8, a type with its own
// UnmarshalJSON or UnmarshalText, an interface, a float, an embedded
// struct. Callers use it as a first try and hand every error to
// encoding/json, which then decodes the document or reports what is wrong
// with it in its own words: quickjson never needs to be right about a
// document encoding/json rejects, only never to accept one differently
// (its tests compare the two on thousands of mutated documents).
//
// Marshal is the other direction, for the state files a runtime writes
// (state.json): the same bytes as encoding/json.Marshal, for the same
// subset plus embedded structs and types with their own MarshalJSON
// (time.Time); anything else is ErrUnsupported, for encoding/json to
// encode. Its tests compare the bytes of both.
//
// See RFC 8259 (the JSON grammar), the encoding/json documentation
// (Unmarshal, Marshal), and the reflect package.
package quickjson
