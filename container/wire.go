package container

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"

	"golang.org/x/sys/unix"
)

// The configuration a runtime process sends to init (initConfig) and to
// exec's helper (execConfig) travels in this encoding, not in JSON. Both
// ends are the same build (the helper's stamp must match, see initbin.go),
// so they share the Go types, and a value can go field by field in
// declaration order, without names: a frame is a 4-byte length, then the
// value, walked by reflection. Why not JSON, as everything else in minirun
// uses: encoding/json spends ~0.3 ms of CPU on the first value of a type as
// big as the runtime-spec's (it builds a decoder for every struct type in
// it), and init is a fresh process every time, so it paid that on every
// container start; this walk costs a few microseconds.
//
// Encoding, by kind: bool one byte; integers as varints; floats as their
// IEEE bits; strings and slices as a length then the contents; maps as a
// length then key, value pairs; pointers as one byte (0 nil, 1 set) then
// the value; structs as their exported fields in order; interfaces must
// be nil (no type of the configuration has one set); a seccomp program
// as 8 bytes per BPF instruction.

// bpfProgType, a seccomp filter's program (thousands of instructions for
// Docker's profile), goes as 8 bytes per instruction, as the kernel has it.
var bpfProgType = reflect.TypeOf([]unix.SockFilter(nil))

// maxFrame bounds a frame (the configuration of a container is some KiB).
const maxFrame = 64 << 20

// writeFrame encodes v (a pointer) as one frame on w.
func writeFrame(w io.Writer, v any) error {
	e := encoder{buf: make([]byte, 4, 4096)}
	if err := e.value(reflect.ValueOf(v).Elem()); err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(e.buf, uint32(len(e.buf)-4))
	_, err := w.Write(e.buf)
	return err
}

// readFrame reads one frame from r into v (a pointer to the type
// writeFrame had), reading exactly the frame and nothing after it.
func readFrame(r io.Reader, v any) error {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return err
	}
	size := binary.LittleEndian.Uint32(n[:])
	if size > maxFrame {
		return fmt.Errorf("frame of %d bytes: more than %d", size, maxFrame)
	}
	d := decoder{buf: make([]byte, size)}
	if _, err := io.ReadFull(r, d.buf); err != nil {
		return err
	}
	if err := d.value(reflect.ValueOf(v).Elem()); err != nil {
		return err
	}
	if len(d.buf) != 0 {
		return fmt.Errorf("frame: %d bytes left over", len(d.buf))
	}
	return nil
}

type encoder struct{ buf []byte }

func (e *encoder) uvarint(u uint64) { e.buf = binary.AppendUvarint(e.buf, u) }

func (e *encoder) value(v reflect.Value) error {
	switch v.Kind() {
	case reflect.Bool:
		b := byte(0)
		if v.Bool() {
			b = 1
		}
		e.buf = append(e.buf, b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = binary.AppendVarint(e.buf, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.uvarint(v.Uint())
	case reflect.Float32, reflect.Float64:
		e.uvarint(math.Float64bits(v.Float()))
	case reflect.String:
		e.uvarint(uint64(v.Len()))
		e.buf = append(e.buf, v.String()...)
	case reflect.Slice:
		if v.IsNil() {
			e.uvarint(0)
			return nil
		}
		// Length+1, so that a nil slice and an empty one stay apart.
		e.uvarint(uint64(v.Len()) + 1)
		if v.Type().Elem().Kind() == reflect.Uint8 {
			e.buf = append(e.buf, v.Bytes()...)
			return nil
		}
		if v.Type() == bpfProgType {
			for _, f := range v.Interface().([]unix.SockFilter) {
				e.buf = binary.LittleEndian.AppendUint16(e.buf, f.Code)
				e.buf = append(e.buf, f.Jt, f.Jf)
				e.buf = binary.LittleEndian.AppendUint32(e.buf, f.K)
			}
			return nil
		}
		return elems(v, e.value)
	case reflect.Array:
		return elems(v, e.value)
	case reflect.Map:
		if v.IsNil() {
			e.uvarint(0)
			return nil
		}
		e.uvarint(uint64(v.Len()) + 1)
		it := v.MapRange()
		for it.Next() {
			if err := e.value(it.Key()); err != nil {
				return err
			}
			if err := e.value(it.Value()); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			e.buf = append(e.buf, 0)
			return nil
		}
		e.buf = append(e.buf, 1)
		return e.value(v.Elem())
	case reflect.Struct:
		return fields(v, e.value)
	case reflect.Interface:
		if !v.IsNil() {
			return fmt.Errorf("frame: cannot encode the interface value of type %s", v.Elem().Type())
		}
	default:
		return fmt.Errorf("frame: cannot encode a %s", v.Type())
	}
	return nil
}

// elems runs f on each element of an array or slice, fields on each
// exported field of a struct, in order: the walk both ends share.
func elems(v reflect.Value, f func(reflect.Value) error) error {
	for i := 0; i < v.Len(); i++ {
		if err := f(v.Index(i)); err != nil {
			return err
		}
	}
	return nil
}

func fields(v reflect.Value, f func(reflect.Value) error) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).IsExported() {
			if err := f(v.Field(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

type decoder struct{ buf []byte }

var errShortFrame = errors.New("frame: truncated")

func (d *decoder) uvarint() (uint64, error) {
	u, n := binary.Uvarint(d.buf)
	if n <= 0 {
		return 0, errShortFrame
	}
	d.buf = d.buf[n:]
	return u, nil
}

func (d *decoder) byte() (byte, error) {
	if len(d.buf) == 0 {
		return 0, errShortFrame
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b, nil
}

// length reads a count of items that each take at least one byte: more
// than the bytes left means a corrupt frame, not an allocation to make.
func (d *decoder) length(plusOne bool) (n int, isNil bool, err error) {
	u, err := d.uvarint()
	if err != nil {
		return 0, false, err
	}
	if plusOne {
		if u == 0 {
			return 0, true, nil
		}
		u--
	}
	if u > uint64(len(d.buf)) {
		return 0, false, errShortFrame
	}
	return int(u), false, nil
}

func (d *decoder) value(v reflect.Value) error {
	switch v.Kind() {
	case reflect.Bool:
		b, err := d.byte()
		v.SetBool(b != 0)
		return err
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, n := binary.Varint(d.buf)
		if n <= 0 {
			return errShortFrame
		}
		d.buf = d.buf[n:]
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u, err := d.uvarint()
		if err != nil {
			return err
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		u, err := d.uvarint()
		if err != nil {
			return err
		}
		v.SetFloat(math.Float64frombits(u))
	case reflect.String:
		n, _, err := d.length(false)
		if err != nil {
			return err
		}
		v.SetString(string(d.buf[:n]))
		d.buf = d.buf[n:]
	case reflect.Slice:
		n, isNil, err := d.length(true)
		if err != nil || isNil {
			return err
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes(append([]byte{}, d.buf[:n]...))
			d.buf = d.buf[n:]
			return nil
		}
		if v.Type() == bpfProgType {
			if n > len(d.buf)/8 {
				return errShortFrame
			}
			prog := make([]unix.SockFilter, n)
			for i := range prog {
				b := d.buf[8*i:]
				prog[i] = unix.SockFilter{Code: binary.LittleEndian.Uint16(b), Jt: b[2], Jf: b[3], K: binary.LittleEndian.Uint32(b[4:])}
			}
			d.buf = d.buf[8*n:]
			v.Set(reflect.ValueOf(prog))
			return nil
		}
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		return elems(v, d.value)
	case reflect.Array:
		return elems(v, d.value)
	case reflect.Map:
		n, isNil, err := d.length(true)
		if err != nil || isNil {
			return err
		}
		t := v.Type()
		m := reflect.MakeMapWithSize(t, n)
		for i := 0; i < n; i++ {
			k, val := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
			if err := d.value(k); err != nil {
				return err
			}
			if err := d.value(val); err != nil {
				return err
			}
			m.SetMapIndex(k, val)
		}
		v.Set(m)
	case reflect.Pointer:
		b, err := d.byte()
		if err != nil || b == 0 {
			return err
		}
		p := reflect.New(v.Type().Elem())
		if err := d.value(p.Elem()); err != nil {
			return err
		}
		v.Set(p)
	case reflect.Struct:
		return fields(v, d.value)
	case reflect.Interface:
		// Always nil (the encoder refuses anything else).
	default:
		return fmt.Errorf("frame: cannot decode a %s", v.Type())
	}
	return nil
}
