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
// Context: Call, CallKw and Decode use the context's deadline for the reply; every
// operation checks the context before it starts.
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

// use returns the handle for an operation, or an error if the Ref is closed or ctx is done.
func (r *Ref) use(ctx context.Context, op string) (uint64, error) {
	if r == nil {
		return 0, &Error{Code: CodeHandle, Op: op, Message: "nil *Ref"}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	h := r.handle.Load()
	if h == 0 {
		return 0, &Error{Code: CodeHandle, Op: op, Message: "the Ref is closed"}
	}
	return h, nil
}

// done wraps up an operation: keeps r alive across the C call, prefers ctx's error.
func (r *Ref) done(ctx context.Context, err error) error {
	runtime.KeepAlive(r)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Attr returns the attribute name of the object.
func (r *Ref) Attr(ctx context.Context, name string) (*Ref, error) {
	h, err := r.use(ctx, "attr "+name)
	if err != nil {
		return nil, err
	}
	out, err := capiRefGetAttr(h, name)
	if err = r.done(ctx, err); err != nil {
		return nil, err
	}
	return newRef(r.conn, out), nil
}

// SetAttr sets the attribute name to value.
func (r *Ref) SetAttr(ctx context.Context, name string, value any) error {
	h, err := r.use(ctx, "setattr "+name)
	if err != nil {
		return err
	}
	texts, buffers, temps, err := encodeValue(r.conn, value)
	if err != nil {
		return err
	}
	defer releaseTemps(temps)
	return r.done(ctx, capiRefSetAttr(h, name, texts[0], buffers))
}

// Call calls the object with positional arguments (Go values or Refs).
func (r *Ref) Call(ctx context.Context, args ...any) (*Ref, error) {
	return r.CallKw(ctx, args, nil)
}

// CallKw calls the object with positional and keyword arguments.
func (r *Ref) CallKw(ctx context.Context, args []any, kwargs map[string]any) (*Ref, error) {
	h, err := r.use(ctx, "call")
	if err != nil {
		return nil, err
	}
	e, err := encodeCall(r.conn, args, kwargs)
	if err != nil {
		return nil, err
	}
	defer e.release()
	out, err := capiRefCall(h, e.args, e.kwargs, e.buffers, timeoutMs(ctx))
	if err = r.done(ctx, err); err != nil {
		return nil, err
	}
	return newRef(r.conn, out), nil
}

// Item returns object[key].
func (r *Ref) Item(ctx context.Context, key any) (*Ref, error) {
	h, err := r.use(ctx, "getitem")
	if err != nil {
		return nil, err
	}
	texts, buffers, temps, err := encodeValue(r.conn, key)
	if err != nil {
		return nil, err
	}
	defer releaseTemps(temps)
	out, err := capiRefGetItem(h, texts[0], buffers)
	if err = r.done(ctx, err); err != nil {
		return nil, err
	}
	return newRef(r.conn, out), nil
}

// SetItem sets object[key] = value.
func (r *Ref) SetItem(ctx context.Context, key, value any) error {
	h, err := r.use(ctx, "setitem")
	if err != nil {
		return err
	}
	texts, buffers, temps, err := encodeValue(r.conn, key, value)
	if err != nil {
		return err
	}
	defer releaseTemps(temps)
	return r.done(ctx, capiRefSetItem(h, texts[0], texts[1], buffers))
}

// Len returns len(object).
func (r *Ref) Len(ctx context.Context) (int, error) {
	h, err := r.use(ctx, "len")
	if err != nil {
		return 0, err
	}
	n, err := capiRefLen(h)
	return int(n), r.done(ctx, err)
}

// Repr returns repr(object), computed on the server.
func (r *Ref) Repr(ctx context.Context) (string, error) { return r.text(ctx, false) }

// Str returns str(object), computed on the server.
func (r *Ref) Str(ctx context.Context) (string, error) { return r.text(ctx, true) }

func (r *Ref) text(ctx context.Context, asStr bool) (string, error) {
	h, err := r.use(ctx, "repr")
	if err != nil {
		return "", err
	}
	s, err := capiRefText(h, asStr)
	return s, r.done(ctx, err)
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
	h, err := r.use(ctx, "decode")
	if err != nil {
		return Value{}, err
	}
	v, err := capiRefDecode(r.conn, h, timeoutMs(ctx))
	return v, r.done(ctx, err)
}

// Iter iterates over the object (for item, err := range ref.Iter(ctx)). Each item is a new
// Ref; iteration stops at the first error, which is yielded.
func (r *Ref) Iter(ctx context.Context) iter.Seq2[*Ref, error] {
	return func(yield func(*Ref, error) bool) {
		h, err := r.use(ctx, "iter")
		if err != nil {
			yield(nil, err)
			return
		}
		itHandle, err := capiRefIter(h)
		if err = r.done(ctx, err); err != nil {
			yield(nil, err)
			return
		}
		it := newRef(r.conn, itHandle)
		defer it.Close()
		for {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			item, err := capiIterNext(itHandle)
			runtime.KeepAlive(it)
			if err != nil {
				yield(nil, err)
				return
			}
			if item == 0 {
				return
			}
			if !yield(newRef(r.conn, item), nil) {
				return
			}
		}
	}
}
