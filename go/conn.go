package rpyc

import (
	"context"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is a connection to an RPyC server. It is safe for concurrent use: calls on one
// Conn are serialised, calls on different Conns run in parallel.
type Conn struct {
	addr    string
	host    string
	port    int
	options string         // dial options as JSON, for reconnects
	retry   *reconnect     // nil: no automatic reconnect
	handle  *atomic.Uint64 // 0 once closed; apart from Conn so that the cleanup can hold it
	once    sync.Once
	cleanup runtime.Cleanup
	redial  sync.Mutex

	// One call at a time: goroutines queue here, parked, rather than as OS threads in the
	// library (which costs thread and GIL hand-offs on every call). Skipped while a Go
	// callback of this connection runs, so that its nested calls go through; the library
	// serialises those itself.
	mu        sync.Mutex
	callbacks atomic.Int32
}

// Dial connects to the RPyC server at addr ("host:port"). By default the server is a
// classic one (rpyc_classic, SlaveService); see WithCustomService.
func Dial(ctx context.Context, addr string, opts ...DialOption) (*Conn, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &Error{Code: CodeArgument, Op: "dial", Message: err.Error()}
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port <= 0 || port > 65535 {
		return nil, &Error{Code: CodeArgument, Op: "dial", Message: "bad port " + strconv.Quote(portText)}
	}
	var o dialOptions
	for _, opt := range opts {
		opt(&o)
	}
	if d, ok := remaining(ctx); ok && (o.ConnectTimeout == nil || d.Seconds() < *o.ConnectTimeout) {
		s := d.Seconds()
		o.ConnectTimeout = &s
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	handle, err := capiOpen(host, port, o.json())
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	c := &Conn{addr: addr, host: host, port: port, options: o.json(), retry: o.reconnect, handle: new(atomic.Uint64)}
	c.handle.Store(handle)
	registerConn(c, handle)
	// A backstop for a Conn that is dropped without Close. It only holds the handle's box
	// (reconnects change the handle), never a lock of ours; the library takes the GIL itself.
	c.cleanup = runtime.AddCleanup(c, func(box *atomic.Uint64) {
		if h := box.Swap(0); h != 0 {
			unregisterConn(h)
			_ = capiClose(h)
		}
	}, c.handle)
	return c, nil
}

// Addr is the address the Conn was dialled with.
func (c *Conn) Addr() string { return c.addr }

// Close closes the connection. It is idempotent and safe on a nil *Conn.
func (c *Conn) Close() error {
	if c == nil {
		return nil
	}
	var err error
	c.once.Do(func() {
		c.cleanup.Stop()
		if h := c.handle.Swap(0); h != 0 {
			unregisterConn(h)
			err = capiClose(h)
		}
	})
	return err
}

// IsConnected reports whether the connection is open.
func (c *Conn) IsConnected() bool {
	if c == nil {
		return false
	}
	h := c.handle.Load()
	ok := h != 0 && capiIsConnected(h)
	runtime.KeepAlive(c)
	return ok
}

// Call calls module.function(*args) on the server, once, and returns the result by value.
// Arguments are Go values or Refs (see encode.go for the mapping).
func (c *Conn) Call(ctx context.Context, module, function string, args ...any) (Value, error) {
	return c.CallKw(ctx, module, function, args, nil)
}

// CallKw calls module.function(*args, **kwargs) on the server, once.
func (c *Conn) CallKw(ctx context.Context, module, function string, args []any, kwargs map[string]any) (Value, error) {
	e, err := encodeCall(c, args, kwargs)
	if err != nil {
		return Value{}, err
	}
	defer e.release()
	return c.do(ctx, "call", func(h uint64, timeoutMs int64) (Value, error) {
		return capiCall(c, h, module, function, e.args, e.kwargs, e.buffers, timeoutMs)
	})
}

// GetAttr reads module.attr on the server, by value.
func (c *Conn) GetAttr(ctx context.Context, module, attr string) (Value, error) {
	return c.do(ctx, "getattr", func(h uint64, timeoutMs int64) (Value, error) {
		return capiGetAttr(c, h, module, attr, timeoutMs)
	})
}

// Import returns the server's module as a Ref (classic servers).
func (c *Conn) Import(ctx context.Context, module string) (*Ref, error) {
	return c.newRefFrom(ctx, "import", func(h uint64) (uint64, error) { return capiImport(h, module) })
}

// Root returns the service root (conn.root in Python): the exposed_ methods of a custom
// service, or the classic service's namespace helpers.
func (c *Conn) Root(ctx context.Context) (*Ref, error) {
	return c.newRefFrom(ctx, "root", capiRoot)
}

// LiveRefs is the number of Refs of this connection the bridge keeps alive.
func (c *Conn) LiveRefs() (int, error) {
	h := c.handle.Load()
	if h == 0 {
		return 0, &Error{Code: CodeClosed, Op: "refs", Message: "the connection is closed"}
	}
	n, err := capiRefCount(h)
	runtime.KeepAlive(c)
	return int(n), err
}

func (c *Conn) newRefFrom(ctx context.Context, op string, f func(uint64) (uint64, error)) (*Ref, error) {
	var ref uint64
	_, err := c.do(ctx, op, func(h uint64, _ int64) (Value, error) {
		var err error
		ref, err = f(h)
		return Value{}, err
	})
	if err != nil {
		return nil, err
	}
	return newRef(c, ref), nil
}

// do runs one request with the context's deadline as its timeout.
func (c *Conn) do(ctx context.Context, op string, request func(handle uint64, timeoutMs int64) (Value, error)) (Value, error) {
	if c == nil {
		return Value{}, &Error{Code: CodeClosed, Op: op, Message: "nil *Conn"}
	}
	if err := ctx.Err(); err != nil {
		return Value{}, err
	}
	h := c.handle.Load()
	if h == 0 {
		return Value{}, &Error{Code: CodeClosed, Op: op, Message: "the connection to " + c.addr + " is closed"}
	}
	if c.callbacks.Load() == 0 {
		c.mu.Lock()
		defer c.mu.Unlock()
	}
	if c.retry != nil && !capiIsConnected(h) {
		var err error
		if h, err = c.reconnect(ctx, h); err != nil {
			return Value{}, err
		}
	}
	v, err := request(h, timeoutMs(ctx))
	runtime.KeepAlive(c)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return Value{}, ctxErr
		}
		return Value{}, err
	}
	return v, nil
}

// timeoutMs is the context's remaining time in milliseconds, 0 for none.
func timeoutMs(ctx context.Context) int64 {
	if d, ok := remaining(ctx); ok {
		return max(d.Milliseconds(), 1)
	}
	return 0
}

// remaining is the time left before ctx's deadline, if it has one.
func remaining(ctx context.Context) (time.Duration, bool) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	return time.Until(deadline), true
}
