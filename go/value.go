package rpyc

import (
	"fmt"
	"reflect"
	"sync"
)

// Value is a result by value: what the server made of a Python object (see decode.go for
// the mapping). Objects with no value mapping inside it are *Refs, released when
// garbage-collected or when their connection closes; Close them to release them sooner.
// A large container of plain data comes as one pickle and is decoded when first used, so
// a malformed one reports its error from Decode or Interface.
type Value struct {
	raw    []byte
	tree   any
	pickle *pickled // when the whole value is one pickle: decoded when first asked
}

// pickled is a result that came as one pickle. Decode into a typed map or slice reads it
// directly (pickle_typed.go); anything else decodes it once to a tree, and drops it.
type pickled struct {
	mu   sync.Mutex
	data []byte
	tree any
	err  error
}

func (p *pickled) value() (any, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.data != nil {
		p.tree, p.err = unpickle(p.data)
		p.data = nil
	}
	return p.tree, p.err
}

func (p *pickled) decodeTyped(dst any) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.data != nil && decodePickled(p.data, dst)
}

// value is the decoded tree.
func (v Value) value() (any, error) {
	if v.pickle != nil {
		return v.pickle.value()
	}
	return v.tree, nil
}

// JSON returns the result as the bridge's tagged JSON text. For plain values (numbers,
// strings, lists of them) it is ordinary JSON, and a float keeps Python's repr ("4.0").
func (v Value) JSON() []byte {
	if v.raw != nil || (v.tree == nil && v.pickle == nil) {
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
	if v.pickle != nil && v.pickle.decodeTyped(dst) {
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
