package rpyc

import (
	"context"
	"errors"
	"iter"
	"runtime"
	"sync"
	"sync/atomic"
)

// Ref is a live remote object: a netref the bridge keeps alive on the server until the Ref
// is closed, garbage-collected, or its connection closes. (A result that RPyC sends by
// value, such as an int or a tuple, is held locally instead; every operation works the same.)
//
// Operations that return objects return new Refs; Decode fetches the object by value. A Ref
// passed as an argument is the same object on the server. Refs are safe for concurrent use;
// operations on the Refs of one connection are serialised.
//
// Context: every operation waits for its reply until the context's deadline or its
// cancellation, whichever comes first, and then returns ctx.Err(). The operation itself
// goes on running on the server until it ends (its reply is then dropped), and the
// connection's server thread is busy until it does.
type Ref struct {
	conn    *Conn
	handle  atomic.Uint64 // 0 once closed
	once    sync.Once
	cleanup runtime.Cleanup
}

func newRef(conn *Conn, handle uint64) *Ref {
	r := &Ref{conn: conn}
	r.handle.Store(handle)
	// The backstop for a Ref dropped without Close. It only takes the handle, so it holds
	// no lock of ours; the library takes the GIL itself, and Python's own locks release it
	// while they wait, so it cannot deadlock against a call in flight.
	r.cleanup = runtime.AddCleanup(r, func(h uint64) { _ = capiRefRelease(h) }, handle)
	return r
}

// Close releases the remote object. It is idempotent and safe on a nil *Ref, and a no-op
// once the Conn was closed (closing the Conn released its Refs already).
func (r *Ref) Close() error {
	if r == nil {
		return nil
	}
	var err error
	r.once.Do(func() {
		r.cleanup.Stop()
		if h := r.handle.Swap(0); h != 0 {
			// ErrHandle: released already, with its connection; nothing left to do.
			if err = capiRefRelease(h); errors.Is(err, ErrHandle) {
				err = nil
			}
		}
	})
	return err
}

// do runs one operation on the object (see Conn.do), if the Ref is open.
func (r *Ref) do(ctx context.Context, req *request) (Value, error) {
	if r == nil {
		return Value{}, &Error{Code: CodeHandle, Op: req.what, Message: "nil *Ref"}
	}
	req.target = r.handle.Load()
	if req.target == 0 {
		return Value{}, &Error{Code: CodeHandle, Op: req.what, Message: "the Ref is closed"}
	}
	v, err := r.conn.do(ctx, req)
	runtime.KeepAlive(r)
	return v, err
}

// doRef runs an operation whose result is a new Ref.
func (r *Ref) doRef(ctx context.Context, req *request) (*Ref, error) {
	v, err := r.do(ctx, req)
	if err != nil {
		return nil, err
	}
	ref, ok := v.tree.(*Ref)
	if !ok {
		return nil, &Error{Code: CodeInternal, Op: req.what, Message: "the library returned no Ref: " + string(v.raw)}
	}
	return ref, nil
}

// Attr returns the attribute name of the object.
func (r *Ref) Attr(ctx context.Context, name string) (*Ref, error) {
	return r.doRef(ctx, &request{op: opRefGetAttr, what: "attr " + name, name: name})
}

// SetAttr sets the attribute name to value.
func (r *Ref) SetAttr(ctx context.Context, name string, value any) error {
	req := &request{op: opRefSetAttr, what: "setattr " + name, name: name}
	if err := req.encodeValues(r.conn, value); err != nil {
		return err
	}
	_, err := r.do(ctx, req)
	return err
}

// Call calls the object with positional arguments (Go values or Refs).
func (r *Ref) Call(ctx context.Context, args ...any) (*Ref, error) {
	return r.CallKw(ctx, args, nil)
}

// CallKw calls the object with positional and keyword arguments.
func (r *Ref) CallKw(ctx context.Context, args []any, kwargs map[string]any) (*Ref, error) {
	req := &request{op: opRefCall, what: "call"}
	if err := req.encodeArgs(r.conn, args, kwargs); err != nil {
		return nil, err
	}
	return r.doRef(ctx, req)
}

// Item returns object[key].
func (r *Ref) Item(ctx context.Context, key any) (*Ref, error) {
	req := &request{op: opRefGetItem, what: "getitem"}
	if err := req.encodeValues(r.conn, key); err != nil {
		return nil, err
	}
	return r.doRef(ctx, req)
}

// SetItem sets object[key] = value.
func (r *Ref) SetItem(ctx context.Context, key, value any) error {
	req := &request{op: opRefSetItem, what: "setitem"}
	if err := req.encodeValues(r.conn, key, value); err != nil {
		return err
	}
	_, err := r.do(ctx, req)
	return err
}

// Len returns len(object).
func (r *Ref) Len(ctx context.Context) (int, error) {
	v, err := r.do(ctx, &request{op: opRefLen, what: "len"})
	if err != nil {
		return 0, err
	}
	var n int
	return n, v.Decode(&n)
}

// Repr returns repr(object), computed on the server.
func (r *Ref) Repr(ctx context.Context) (string, error) {
	return r.text(ctx, &request{op: opRefRepr, what: "repr"})
}

// Str returns str(object), computed on the server.
func (r *Ref) Str(ctx context.Context) (string, error) {
	return r.text(ctx, &request{op: opRefStr, what: "str"})
}

func (r *Ref) text(ctx context.Context, req *request) (string, error) {
	v, err := r.do(ctx, req)
	if err != nil {
		return "", err
	}
	var s string
	return s, v.Decode(&s)
}

// Decode fetches the object by value and stores it in dst (see Value.Decode).
func (r *Ref) Decode(ctx context.Context, dst any) error {
	v, err := r.Value(ctx)
	if err != nil {
		return err
	}
	return v.Decode(dst)
}

// Value fetches the object by value.
func (r *Ref) Value(ctx context.Context) (Value, error) {
	return r.do(ctx, &request{op: opRefValue, what: "decode"})
}

// Iter iterates over the object (for item, err := range ref.Iter(ctx)). Each item is a new
// Ref; iteration stops at the first error, which is yielded. Each step honours ctx.
func (r *Ref) Iter(ctx context.Context) iter.Seq2[*Ref, error] {
	return func(yield func(*Ref, error) bool) {
		it, err := r.doRef(ctx, &request{op: opRefIter, what: "iter"})
		if err != nil {
			yield(nil, err)
			return
		}
		defer it.Close()
		for {
			v, err := it.do(ctx, &request{op: opIterNext, what: "next"})
			if err != nil {
				yield(nil, err)
				return
			}
			item, _ := v.tree.(*Ref)
			if item == nil { // null: the iterator is exhausted
				return
			}
			if !yield(item, nil) {
				return
			}
		}
	}
}
