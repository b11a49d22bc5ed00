package rpyc

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// Go -> Python. The mapping (see also decode.go for the way back):
//
//	nil                          None
//	bool                         bool
//	int*, uint*, *big.Int        int (any size)
//	float32, float64             float, NaN and ±Inf included
//	string                       str
//	[]byte                       bytes (by value, one buffer)
//	Array                        numpy.ndarray (one buffer, no per-element traffic)
//	*Ref                         the very remote object the Ref holds
//	*Callback                    a callable that runs the Go function (see Callback)
//	slices, arrays               tuple (RPyC passes tuples by value)
//	maps                         dict (keys mapped the same way; sorted when small, in
//	                             Go's map order when pickled: see pickler.go)
//	structs, json.Marshaler      as encoding/json makes them (a dict, usually)
//	pointers, interfaces         what they point to
//
// Channels, functions and complex numbers have no mapping: an *Error with CodeArgument.
// Large maps and slices of plain data travel as one pickle (pickler.go).

// payload is a value on its way to C: tagged JSON plus the buffers its tags index, and the
// Callbacks it passes. Encoding is pure Go: nothing here calls C.
type payload struct {
	json      bytes.Buffer
	buffers   [][]byte
	callbacks []*Callback // their functions are held while the request runs (Conn.do)
	conn      *Conn       // Refs must belong to it
	inline    bool        // text for people (Value.String): long strings and lists inline
	noPickle  int         // inside a container that could not be pickled: no second try
}

func (p *payload) encode(v any) error {
	return p.value(reflect.ValueOf(v), 0)
}

const maxDepth = 1000

func (p *payload) value(v reflect.Value, depth int) error {
	if depth > maxDepth {
		return encodeError("value nested more than %d levels deep", maxDepth)
	}
	if !v.IsValid() {
		p.json.WriteString("null")
		return nil
	}
	switch x := v.Interface().(type) {
	case *Ref:
		return p.ref(x)
	case *Callback:
		return p.callback(x)
	case Array:
		return p.array(x)
	case *Array:
		if x == nil {
			p.json.WriteString("null")
			return nil
		}
		return p.array(*x)
	case *big.Int:
		if x == nil {
			p.json.WriteString("null")
		} else {
			p.json.WriteString(x.String())
		}
		return nil
	case []int64:
		if p.packable(len(x)) {
			packed(p, "int64", x, func(n int64) uint64 { return uint64(n) })
			return nil
		}
	case []int:
		if p.packable(len(x)) {
			packed(p, "int64", x, func(n int) uint64 { return uint64(n) })
			return nil
		}
	case []float64:
		if p.packable(len(x)) {
			packed(p, "float64", x, math.Float64bits)
			return nil
		}
	case []byte:
		p.buffers = append(p.buffers, x)
		fmt.Fprintf(&p.json, `{"$bytes":%d}`, len(p.buffers)-1)
		return nil
	case json.Marshaler:
		if v.Kind() == reflect.Pointer && v.IsNil() {
			p.json.WriteString("null")
			return nil
		}
		b, err := x.MarshalJSON()
		if err != nil {
			return encodeError("%T: %v", x, err)
		}
		p.json.Write(b)
		return nil
	}
	switch v.Kind() {
	case reflect.Bool:
		p.json.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		p.json.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		p.json.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		p.float(v.Float(), v.Type().Bits())
	case reflect.String:
		p.str(v.String())
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			p.json.WriteString("[]")
			return nil
		}
		done, restore := p.pickled(v, depth)
		if done {
			return nil
		}
		defer restore()
		p.json.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				p.json.WriteByte(',')
			}
			if err := p.value(v.Index(i), depth+1); err != nil {
				return err
			}
		}
		p.json.WriteByte(']')
	case reflect.Map:
		done, restore := p.pickled(v, depth)
		if done {
			return nil
		}
		defer restore()
		return p.mapValue(v, depth)
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			p.json.WriteString("null")
			return nil
		}
		return p.value(v.Elem(), depth+1)
	case reflect.Struct:
		b, err := json.Marshal(v.Interface())
		if err != nil {
			return encodeError("%s: %v", v.Type(), err)
		}
		p.json.Write(b)
	default:
		return encodeError("a Go %s has no Python mapping", v.Type())
	}
	return nil
}

// packedMin: numeric slices at least this long travel packed ({"$list": [dtype, i]}),
// as wireformat.PACKED_MIN says for the other way.
const packedMin = 256

func (p *payload) packable(n int) bool { return n >= packedMin && !p.inline }

// packed writes xs as {"$list": [dtype, i]}: buffers[i] holds bits(x) for each, little-endian.
func packed[T any](p *payload, dtype string, xs []T, bits func(T) uint64) {
	b := make([]byte, 8*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint64(b[8*i:], bits(x))
	}
	p.buffers = append(p.buffers, b)
	fmt.Fprintf(&p.json, `{"$list":[%q,%d]}`, dtype, len(p.buffers)-1)
}

// bigStr: longer strings travel as buffers ({"$str": i}, UTF-8), not as JSON text:
// escaping and parsing them costs far more than a copy (wireformat.BIG_STR is Python's).
const bigStr = 4096

func (p *payload) str(s string) {
	if len(s) > bigStr && !p.inline {
		// Lent to C as it is, for the call: no copy, and no UTF-8 check, which would cost
		// as much. Python replaces each byte of invalid UTF-8 with U+FFFD, as encoding/json
		// does (wireformat.GO_TEXT).
		p.buffers = append(p.buffers, unsafe.Slice(unsafe.StringData(s), len(s)))
		fmt.Fprintf(&p.json, `{"$str":%d}`, len(p.buffers)-1)
		return
	}
	p.jsonString(s)
}

func (p *payload) float(f float64, bits int) {
	switch {
	case math.IsNaN(f):
		p.json.WriteString(`{"$float":"nan"}`)
	case math.IsInf(f, 1):
		p.json.WriteString(`{"$float":"inf"}`)
	case math.IsInf(f, -1):
		p.json.WriteString(`{"$float":"-inf"}`)
	default:
		s := strconv.FormatFloat(f, 'g', -1, bits)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0" // stays a float in Python
		}
		p.json.WriteString(s)
	}
}

func (p *payload) ref(r *Ref) error {
	if r == nil {
		p.json.WriteString("null")
		return nil
	}
	h := r.handle.Load()
	if h == 0 {
		return &Error{Code: CodeHandle, Op: "encode", Message: "a closed Ref was passed as an argument"}
	}
	if p.conn != nil && r.conn != p.conn {
		return encodeError("a Ref of another connection was passed as an argument")
	}
	fmt.Fprintf(&p.json, `{"$ref":%d}`, h)
	return nil
}

// callback writes {"$callback": id}: the Python half makes the callable (callbacks.py),
// and tells Go it exists while the request runs, so the function must be held till then.
func (p *payload) callback(cb *Callback) error {
	if cb == nil {
		p.json.WriteString("null")
		return nil
	}
	if p.inline {
		fmt.Fprintf(&p.json, `"<Go function %d>"`, cb.id)
		return nil
	}
	p.callbacks = append(p.callbacks, cb)
	fmt.Fprintf(&p.json, `{"$callback":%d}`, cb.id)
	return nil
}

func (p *payload) array(a Array) error {
	if err := a.check(); err != nil {
		return err
	}
	if !littleEndian {
		return encodeError("arrays need a little-endian machine")
	}
	p.buffers = append(p.buffers, a.rawBytes())
	shape, _ := json.Marshal(a.Shape)
	fmt.Fprintf(&p.json, `{"$array":[%q,%s,%d]}`, a.DType, shape, len(p.buffers)-1)
	return nil
}

// mapValue writes a dict: a JSON object when every key is a string not starting with "$",
// else {"$dict": [[k, v], ...]}. Keys are sorted, so the JSON is deterministic.
func (p *payload) mapValue(v reflect.Value, depth int) error {
	type entry struct {
		key   reflect.Value
		value reflect.Value
		text  string // the key as it sorts
	}
	// Pointers: sorting them reuses the sort code every pointer slice shares, where a
	// slice of structs would have its own (14 kB of the 15 MB budget).
	entries := make([]*entry, 0, v.Len())
	plain := v.Type().Key().Kind() == reflect.String
	for it := v.MapRange(); it.Next(); {
		k := it.Key()
		e := &entry{key: k, value: it.Value()}
		if plain {
			e.text = k.String()
			plain = !strings.HasPrefix(e.text, "$")
		}
		entries = append(entries, e)
	}
	if !plain {
		for _, e := range entries {
			e.text = fmt.Sprint(e.key)
		}
	}
	slices.SortFunc(entries, func(a, b *entry) int { return strings.Compare(a.text, b.text) })
	if plain {
		p.json.WriteByte('{')
		for i, e := range entries {
			if i > 0 {
				p.json.WriteByte(',')
			}
			p.jsonString(e.text)
			p.json.WriteByte(':')
			if err := p.value(e.value, depth+1); err != nil {
				return err
			}
		}
		p.json.WriteByte('}')
		return nil
	}
	p.json.WriteString(`{"$dict":[`)
	for i, e := range entries {
		if i > 0 {
			p.json.WriteByte(',')
		}
		p.json.WriteByte('[')
		if err := p.value(e.key, depth+1); err != nil {
			return err
		}
		p.json.WriteByte(',')
		if err := p.value(e.value, depth+1); err != nil {
			return err
		}
		p.json.WriteByte(']')
	}
	p.json.WriteString("]}")
	return nil
}

// jsonString writes s as a JSON string: as it is when it needs no escapes.
func (p *payload) jsonString(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			b, _ := json.Marshal(s) // a string always marshals
			p.json.Write(b)
			return
		}
	}
	p.json.WriteByte('"')
	p.json.WriteString(s)
	p.json.WriteByte('"')
}

func encodeError(format string, args ...any) error {
	return &Error{Code: CodeArgument, Op: "encode", Message: fmt.Sprintf(format, args...)}
}

// encodeArgs sets req's arguments: args as a JSON array, kwargs as an object ("" for
// none), with one buffer list.
func (req *request) encodeArgs(conn *Conn, args []any, kwargs map[string]any) error {
	if args == nil {
		args = []any{}
	}
	if len(kwargs) > 0 {
		return req.encodeValues(conn, args, kwargs)
	}
	return req.encodeValues(conn, args)
}

// encodeValues sets req.a, then req.b, to single values (a key, a value), which share one
// buffer list.
func (req *request) encodeValues(conn *Conn, values ...any) error {
	p := &payload{conn: conn}
	texts := []*string{&req.a, &req.b}[:len(values)]
	for i, v := range values {
		p.json.Reset()
		if err := p.encode(v); err != nil {
			return err
		}
		*texts[i] = p.json.String()
	}
	req.buffers, req.callbacks = p.buffers, p.callbacks
	return nil
}
