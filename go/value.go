package rpyc

import (
	"fmt"
	"reflect"
	"sync"
)

// Value is a result by value: what the server made of a Python object (see decode.go for
// the mapping). Objects with no value mapping inside it are *Refs, released when
// garbage-collected or when their connection closes; Close them to release them sooner.
// A large container of plain data (one pickle, or a packed list of numbers) is decoded
// when first used, so a malformed one reports its error from Decode or Interface.
type Value struct {
	raw   []byte
	tree  any
	later *deferred // when the whole value is one pickle or one packed list
}

// deferred is a result kept in its wire form until it is used: one pickle, or one packed
// list of int64 or float64. Decode into a matching typed map or slice reads it directly
// (pickle_typed.go, typedList), with no tree of boxed items in between; anything else
// makes the tree once and drops the wire form.
type deferred struct {
	mu     sync.Mutex
	pickle []byte
	ints   []int64
	floats []float64
	tree   any
	err    error
	made   bool
}

// deferredValue keeps a result that is one pickle or one packed list (the JSON the
// server helper writes for them) in its wire form, in a buffer it keeps
// (resultBuffers.kept); nil for any other.
func deferredValue(text []byte, buffers resultBuffers) *deferred {
	if buffers.len() != 1 {
		return nil
	}
	// A packed list of whole 8-byte items; decodeTree reports any other.
	packed := len(buffers.data[0])%8 == 0
	switch string(text) {
	case `{"$pickle":0}`:
		return &deferred{pickle: buffers.kept(0)}
	case `{"$list":["int64",0]}`:
		if packed {
			return &deferred{ints: typedView[int64](buffers.kept(0))}
		}
	case `{"$list":["float64",0]}`:
		if packed {
			return &deferred{floats: typedView[float64](buffers.kept(0))}
		}
	}
	return nil
}

func (d *deferred) value() (any, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.made {
		switch {
		case d.pickle != nil:
			d.tree, d.err = unpickle(d.pickle)
		case d.ints != nil:
			d.tree = boxedList(len(d.ints), func(i int) int64 { return d.ints[i] })
		default:
			d.tree = boxedList(len(d.floats), func(i int) float64 { return d.floats[i] })
		}
		d.pickle, d.ints, d.floats, d.made = nil, nil, nil, true
	}
	return d.tree, d.err
}

func (d *deferred) decodeTyped(dst any) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.made:
		return false
	case d.pickle != nil:
		return decodePickled(d.pickle, dst)
	case d.ints != nil:
		return typedList(d.ints, dst)
	}
	return typedList(d.floats, dst)
}

// typedList stores a packed list in a []int64, []float64 or []int: a copy, since each
// Decode makes values of its own.
func typedList[T int64 | float64](items []T, dst any) bool {
	switch d := dst.(type) {
	case *[]T:
		*d = freshSlice[T](len(items))
		copy(*d, items)
	case *[]float64:
		*d = converted[T, float64](items)
	case *[]int:
		if _, isInt := any(items).([]int64); !isInt {
			return false
		}
		*d = converted[T, int](items)
	default:
		return false
	}
	return true
}

func converted[T, U int64 | float64 | int](items []T) []U {
	out := freshSlice[U](len(items))
	for i, x := range items {
		out[i] = U(x)
	}
	return out
}

// value is the decoded tree.
func (v Value) value() (any, error) {
	if v.later != nil {
		return v.later.value()
	}
	return v.tree, nil
}

// JSON returns the result as the bridge's tagged JSON text. For plain values (numbers,
// strings, lists of them) it is ordinary JSON, and a float keeps Python's repr ("4.0").
func (v Value) JSON() []byte {
	if v.raw != nil || (v.tree == nil && v.later == nil) {
		return v.raw
	}
	tree, err := v.value()
	if err != nil {
		return []byte(fmt.Sprintf("%q", err.Error()))
	}
	return render(tree)
}

// String returns the tagged JSON text.
func (v Value) String() string { return string(v.JSON()) }

// render is tagged JSON for a value whose wire form used buffers for its text (long
// strings, packed lists, pickles): the same value, written out.
func render(tree any) []byte {
	p := payload{inline: true}
	if err := p.encode(tree); err != nil {
		return []byte(fmt.Sprintf("%q", err.Error()))
	}
	return p.json.Bytes()
}

// Interface returns the value as plain Go values.
func (v Value) Interface() (any, error) { return v.value() }

// Decode stores the value in the Go value dst points to, converting as encoding/json
// would (numbers to any numeric type that holds them, lists to slices or arrays, dicts to
// maps or structs, an ndarray to an Array, a typed slice, or nested slices).
func (v Value) Decode(dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &Error{Code: CodeArgument, Op: "decode", Message: "Decode needs a non-nil pointer"}
	}
	if v.later != nil && v.later.decodeTyped(dst) {
		return nil
	}
	tree, err := v.value()
	if err != nil {
		return err
	}
	return assign(rv.Elem(), tree)
}

// Ref returns the remote object when the value is one.
func (v Value) Ref() (*Ref, bool) {
	r, ok := v.tree.(*Ref)
	return r, ok
}

// Array returns the ndarray when the value is one.
func (v Value) Array() (Array, bool) {
	a, ok := v.tree.(Array)
	return a, ok
}
