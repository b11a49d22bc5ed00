package rpyc

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
)

// Python -> Go. A value decodes to these Go values (Value.Interface), or into any Go value
// they convert to (Value.Decode, Ref.Decode):
//
//	None                          nil
//	bool                          bool
//	int                           int64, or *big.Int beyond 64 bits
//	float (NaN, ±Inf too)         float64
//	str                           string
//	bytes, bytearray              []byte
//	numpy.ndarray                 Array (raw buffer; see Array for dtypes)
//	numpy scalars                 the matching bool, int64 or float64
//	tuple, list, set              []any
//	dict with str keys            map[string]any
//	other dicts                   map[any]any (keys must be comparable in Go)
//	anything else                 *Ref (the object stays on the server)

// tree decodes tagged JSON into Go values; refs are made with newRef.
func decodeTree(text []byte, buffers resultBuffers, newRef func(uint64) *Ref) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, &Error{Code: CodeInternal, Op: "decode", Message: err.Error()}
	}
	d := decoder{buffers: buffers, newRef: newRef}
	return d.value(raw)
}

type decoder struct {
	buffers resultBuffers
	newRef  func(uint64) *Ref
}

func (d *decoder) value(raw any) (any, error) {
	switch x := raw.(type) {
	case json.Number:
		return number(x), nil
	case []any:
		for i := range x {
			v, err := d.value(x[i])
			if err != nil {
				return nil, err
			}
			x[i] = v
		}
		return x, nil
	case map[string]any:
		if len(x) == 1 {
			for k, v := range x {
				if strings.HasPrefix(k, "$") {
					return d.tag(k, v)
				}
			}
		}
		for k := range x {
			v, err := d.value(x[k])
			if err != nil {
				return nil, err
			}
			x[k] = v
		}
		return x, nil
	}
	return raw, nil
}

func (d *decoder) tag(key string, v any) (any, error) {
	switch key {
	case "$float":
		switch v {
		case "nan":
			return math.NaN(), nil
		case "inf":
			return math.Inf(1), nil
		case "-inf":
			return math.Inf(-1), nil
		}
	case "$bytes":
		if b, ok := d.kept(v); ok {
			return b, nil
		}
	case "$str":
		if b, ok := d.kept(v); ok {
			return ownedString(b), nil
		}
	case "$pickle":
		if b, ok := d.buffer(v); ok {
			return unpickle(b)
		}
	case "$list":
		if parts, ok := v.([]any); ok && len(parts) == 2 {
			if b, ok := d.buffer(parts[1]); ok && len(b)%8 == 0 {
				return packedList(parts[0], b, key, v)
			}
		}
	case "$array":
		if parts, ok := v.([]any); ok && len(parts) == 3 {
			dtype, _ := parts[0].(string)
			dims, _ := parts[1].([]any)
			shape := make([]int, len(dims))
			for i, n := range dims {
				num, _ := n.(json.Number)
				dim, err := num.Int64()
				if err != nil {
					return nil, badTag(key, v)
				}
				shape[i] = int(dim)
			}
			if b, ok := d.kept(parts[2]); ok {
				return arrayOver(DType(dtype), shape, b)
			}
		}
	case "$ref":
		if num, ok := v.(json.Number); ok {
			if h, err := num.Int64(); err == nil && h > 0 {
				return d.newRef(uint64(h)), nil
			}
		}
	case "$dict":
		pairs, ok := v.([]any)
		if !ok {
			break
		}
		keys, values := make([]any, len(pairs)), make([]any, len(pairs))
		for i, p := range pairs {
			kv, ok := p.([]any)
			if !ok || len(kv) != 2 {
				return nil, badTag(key, v)
			}
			var err error
			if keys[i], err = d.value(kv[0]); err != nil {
				return nil, err
			}
			if values[i], err = d.value(kv[1]); err != nil {
				return nil, err
			}
		}
		return goMap(keys, values)
	}
	return nil, badTag(key, v)
}

// goMap is a $dict tag's Go value: map[string]any when every key is a str (whatever it
// looks like: "$" keys come as $dict), else map[any]any, as pickle.go makes dicts.
func goMap(keys, values []any) (any, error) {
	strKeys := true
	for _, k := range keys {
		if _, ok := k.(string); !ok {
			strKeys = false
			break
		}
	}
	if strKeys {
		out := make(map[string]any, len(keys))
		for i, k := range keys {
			out[k.(string)] = values[i]
		}
		return out, nil
	}
	out := make(map[any]any, len(keys))
	for i, k := range keys {
		if k != nil && !reflect.TypeOf(k).Comparable() {
			return nil, &Error{Code: CodeArgument, Op: "decode", Message: fmt.Sprintf("a dict key of Go type %T cannot be a map key", k)}
		}
		out[k] = values[i]
	}
	return out, nil
}

// buffer is the buffer a tag names, to read.
func (d *decoder) buffer(v any) ([]byte, bool) {
	i, ok := d.index(v)
	if !ok {
		return nil, false
	}
	return d.buffers.data[i], true
}

// kept is the buffer a tag names, for the value to keep (resultBuffers.kept).
func (d *decoder) kept(v any) ([]byte, bool) {
	i, ok := d.index(v)
	if !ok {
		return nil, false
	}
	return d.buffers.kept(i), true
}

func (d *decoder) index(v any) (int, bool) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := num.Int64()
	if err != nil || i < 0 || int(i) >= d.buffers.len() {
		return 0, false
	}
	return int(i), true
}

func badTag(key string, v any) error {
	return &Error{Code: CodeInternal, Op: "decode", Message: fmt.Sprintf("malformed %s tag: %v", key, v)}
}

// number is int64 for integers that fit, *big.Int for larger ones, float64 otherwise.
func number(x json.Number) any {
	s := string(x)
	if !strings.ContainsAny(s, ".eE") {
		if i, err := x.Int64(); err == nil {
			return i
		}
		if b, ok := new(big.Int).SetString(s, 10); ok {
			return b
		}
	}
	f, _ := x.Float64()
	return f
}

// assign stores the decoded value src in dst, converting as encoding/json would.
func assign(dst reflect.Value, src any) error {
	if dst.CanAddr() && assignFast(dst.Addr().Interface(), src) {
		return nil
	}
	if dst.Kind() == reflect.Pointer && dst.Type() != reflect.TypeOf((*Ref)(nil)) && dst.Type() != reflect.TypeOf((*big.Int)(nil)) {
		if src == nil {
			dst.SetZero()
			return nil
		}
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		return assign(dst.Elem(), src)
	}
	if src == nil {
		dst.SetZero()
		return nil
	}
	sv := reflect.ValueOf(src)
	if sv.Type().AssignableTo(dst.Type()) {
		dst.Set(sv)
		return nil
	}
	switch s := src.(type) {
	case int64:
		switch dst.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if dst.OverflowInt(s) {
				return mismatch(src, dst)
			}
			dst.SetInt(s)
			return nil
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if s < 0 || dst.OverflowUint(uint64(s)) {
				return mismatch(src, dst)
			}
			dst.SetUint(uint64(s))
			return nil
		case reflect.Float32, reflect.Float64:
			dst.SetFloat(float64(s))
			return nil
		}
		if dst.Type() == reflect.TypeOf((*big.Int)(nil)) {
			dst.Set(reflect.ValueOf(big.NewInt(s)))
			return nil
		}
	case float64:
		if dst.Kind() == reflect.Float32 || dst.Kind() == reflect.Float64 {
			dst.SetFloat(s)
			return nil
		}
	case *big.Int:
		if dst.Kind() == reflect.Uint64 && s.IsUint64() {
			dst.SetUint(s.Uint64())
			return nil
		}
		if dst.Kind() == reflect.Float64 {
			f, _ := new(big.Float).SetInt(s).Float64()
			dst.SetFloat(f)
			return nil
		}
	case string:
		if dst.Kind() == reflect.String {
			dst.SetString(s)
			return nil
		}
	case bool:
		if dst.Kind() == reflect.Bool {
			dst.SetBool(s)
			return nil
		}
	case Array:
		return assignArray(dst, s)
	case []any:
		return assignSequence(dst, s)
	case map[string]any:
		return assignMap(dst, reflect.ValueOf(s))
	case map[any]any:
		return assignMap(dst, reflect.ValueOf(s))
	}
	return mismatch(src, dst)
}

func assignArray(dst reflect.Value, a Array) error {
	data := reflect.ValueOf(a.Data)
	if data.Type().AssignableTo(dst.Type()) && len(a.Shape) <= 1 {
		dst.Set(data)
		return nil
	}
	// Nested slices ([][]float64...) from the shape, or any element type that converts.
	if dst.Kind() != reflect.Slice && dst.Kind() != reflect.Array {
		return mismatch(a, dst)
	}
	return assignSequence(dst, nest(data, a.Shape))
}

// nest turns flat C-order data into nested []any following shape.
func nest(data reflect.Value, shape []int) []any {
	if len(shape) == 0 {
		return []any{data.Index(0).Interface()}
	}
	out := make([]any, shape[0])
	stride := 1
	for _, d := range shape[1:] {
		stride *= d
	}
	for i := range out {
		if len(shape) == 1 {
			out[i] = data.Index(i).Interface()
		} else {
			out[i] = nest(data.Slice(i*stride, (i+1)*stride), shape[1:])
		}
	}
	return out
}

func assignSequence(dst reflect.Value, items []any) error {
	switch dst.Kind() {
	case reflect.Slice:
		out := reflect.MakeSlice(dst.Type(), len(items), len(items))
		for i, it := range items {
			if err := assign(out.Index(i), it); err != nil {
				return err
			}
		}
		dst.Set(out)
		return nil
	case reflect.Array:
		if dst.Len() != len(items) {
			return &Error{Code: CodeArgument, Op: "decode", Message: fmt.Sprintf("%d items do not fit %s", len(items), dst.Type())}
		}
		for i, it := range items {
			if err := assign(dst.Index(i), it); err != nil {
				return err
			}
		}
		return nil
	}
	return mismatch(items, dst)
}

func assignMap(dst reflect.Value, src reflect.Value) error {
	switch dst.Kind() {
	case reflect.Map:
		out := reflect.MakeMapWithSize(dst.Type(), src.Len())
		// One key and one value, reused: SetMapIndex copies them.
		key := reflect.New(dst.Type().Key()).Elem()
		val := reflect.New(dst.Type().Elem()).Elem()
		zero := reflect.Zero(dst.Type().Elem())
		for it := src.MapRange(); it.Next(); {
			if err := assign(key, it.Key().Interface()); err != nil {
				return err
			}
			val.Set(zero)
			if err := assign(val, it.Value().Interface()); err != nil {
				return err
			}
			out.SetMapIndex(key, val)
		}
		dst.Set(out)
		return nil
	case reflect.Struct:
		for i := range dst.NumField() {
			f := dst.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == "-" {
				continue
			} else if tag != "" {
				name = tag
			}
			for _, k := range src.MapKeys() {
				if ks, ok := k.Interface().(string); ok && strings.EqualFold(ks, name) {
					if err := assign(dst.Field(i), src.MapIndex(k).Interface()); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return mismatch(src.Interface(), dst)
}

func mismatch(src any, dst reflect.Value) error {
	return &Error{Code: CodeArgument, Op: "decode", Message: fmt.Sprintf("cannot store a %T in a Go %s", src, dst.Type())}
}

// packedList is a $list tag's values: little-endian int64s or float64s.
func packedList(dtype any, b []byte, key string, v any) (any, error) {
	switch dtype {
	case "int64":
		return boxedList(len(b)/8, func(i int) int64 { return int64(binary.LittleEndian.Uint64(b[8*i:])) }), nil
	case "float64":
		return boxedList(len(b)/8, func(i int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])) }), nil
	}
	return nil, badTag(key, v)
}

// assignFast stores the common large shapes without reflection: str-keyed maps and
// slices of one scalar type. False when src is not of that shape (the general path then
// decides, and reports the mismatch).
func assignFast(dst, src any) bool {
	switch d := dst.(type) {
	case *map[string]int64:
		return fastMap(d, src)
	case *map[string]float64:
		return fastMap(d, src)
	case *map[string]string:
		return fastMap(d, src)
	case *[]int64:
		return fastSlice(d, src)
	case *[]float64:
		return fastSlice(d, src)
	case *[]string:
		return fastSlice(d, src)
	}
	return false
}

func fastMap[T any](dst *map[string]T, src any) bool {
	m, ok := src.(map[string]any)
	if !ok {
		return false
	}
	out := make(map[string]T, len(m))
	for k, v := range m {
		x, ok := v.(T)
		if !ok {
			return false
		}
		out[k] = x
	}
	*dst = out
	return true
}

func fastSlice[T any](dst *[]T, src any) bool {
	items, ok := src.([]any)
	if !ok {
		return false
	}
	out := make([]T, len(items))
	for i, v := range items {
		x, ok := v.(T)
		if !ok {
			return false
		}
		out[i] = x
	}
	*dst = out
	return true
}
