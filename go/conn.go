package rpyc

import (
	"context"
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
	wake    *wake          // see wake.go
	once    sync.Once
	cleanup runtime.Cleanup
	redial  sync.Mutex

	// One request at a time: goroutines queue here, parked, rather than as OS threads in
	// the library (which costs thread and GIL hand-offs on every call), and leave the queue
	// when their context ends. Skipped while a Go callback of this connection runs, so that
	// its nested calls go through; the library serialises those itself.
	turn      chan struct{}
	callbacks atomic.Int32
}

// request is one operation for rpyc_request: what it acts on and its arguments, already
// encoded (see capi.go for the operations).
type request struct {
	op      int
	what    string // for errors: "call math.sqrt", "len"...
	target  uint64 // the Ref, for Ref operations
	module  string
	name    string
	a, b    string // JSON: the arguments, or the key and value
	buffers [][]byte
	// The Callbacks the arguments pass: held from before the request until it is done, so
	// that the Python half can count the callables it makes of them (callback.go).
	callbacks []*Callback
}

// Dial connects to the RPyC server at addr ("host:port"). By default the server is a
// classic one (rpyc_classic, SlaveService); see WithCustomService.
func Dial(ctx context.Context, addr string, opts ...DialOption) (*Conn, error) {
	host, portText, err := splitHostPort(addr)
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
	deadline, clamped := ctx.Deadline()
	if d, ok := remaining(ctx); ok && (o.ConnectTimeout == nil || d.Seconds() < *o.ConnectTimeout) {
		s := d.Seconds()
		o.ConnectTimeout = &s
	} else {
		clamped = false
	}
	handle, err := openCtx(ctx, host, port, o.json())
	if err != nil {
		if clamped && time.Until(deadline) < deadlineSlack {
			// The library's timeout, which is the context's deadline, ended the dial, a
			// moment before ctx.Done() closed: the deadline's error, not the timeout's.
			return nil, context.DeadlineExceeded
		}
		return nil, err
	}
	w, err := newWake()
	if err != nil {
		_ = capiClose(handle)
		return nil, err
	}
	c := &Conn{addr: addr, host: host, port: port, options: o.json(), retry: o.reconnect, handle: new(atomic.Uint64),
		wake: w, turn: make(chan struct{}, 1)}
	c.handle.Store(handle)
	registerConn(c, handle)
	// A backstop for a Conn that is dropped without Close. It only holds the handle's box
	// (reconnects change the handle), never a lock of ours; the library takes the GIL itself.
	c.cleanup = runtime.AddCleanup(c, func(s connState) {
		if h := s.handle.Swap(0); h != 0 {
			unregisterConn(h)
			_ = capiClose(h)
		}
		s.wake.close()
	}, connState{c.handle, c.wake})
	return c, nil
}

// connState is what the cleanup of a dropped Conn closes.
type connState struct {
	handle *atomic.Uint64
	wake   *wake
}

// openCtx opens a connection, or returns ctx.Err() as soon as ctx ends (see abandon).
func openCtx(ctx context.Context, host string, port int, options string) (uint64, error) {
	return abandon(ctx, func() (uint64, error) { return capiOpen(host, port, options) },
		func(h uint64) { _ = capiClose(h) })
}

// deadlineSlack: a dial that fails this close to its context's deadline failed by it.
const deadlineSlack = 10 * time.Millisecond

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
		c.wake.close()
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
	req := &request{op: opCall, what: "call " + module + "." + function, module: module, name: function}
	if err := req.encodeArgs(c, args, kwargs); err != nil {
		return Value{}, err
	}
	return c.do(ctx, req)
}

// GetAttr reads module.attr on the server, by value.
func (c *Conn) GetAttr(ctx context.Context, module, attr string) (Value, error) {
	return c.do(ctx, &request{op: opGetAttr, what: "getattr " + module + "." + attr, module: module, name: attr})
}

// Import returns the server's module as a Ref (classic servers).
func (c *Conn) Import(ctx context.Context, module string) (*Ref, error) {
	return c.doRef(ctx, &request{op: opImport, what: "import " + module, module: module})
}

// Root returns the service root (conn.root in Python): the exposed_ methods of a custom
// service, or the classic service's namespace helpers.
func (c *Conn) Root(ctx context.Context) (*Ref, error) {
	return c.doRef(ctx, &request{op: opRoot, what: "root"})
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

// doRef runs a request whose result is a new Ref.
func (c *Conn) doRef(ctx context.Context, req *request) (*Ref, error) {
	v, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	ref, ok := v.tree.(*Ref)
	if !ok {
		return nil, &Error{Code: CodeInternal, Op: req.what, Message: "the library returned no Ref: " + string(v.raw)}
	}
	return ref, nil
}

// do is the one request path: every operation on a Conn or a Ref comes through here. It
// waits for the connection's turn (or the end of ctx), reconnects if asked to, passes
// ctx's deadline and a wake-up for its cancellation to the library, and keeps c alive.
// Once ctx has ended, its error is the result.
func (c *Conn) do(ctx context.Context, req *request) (Value, error) {
	if c == nil {
		return Value{}, &Error{Code: CodeClosed, Op: req.what, Message: "nil *Conn"}
	}
	if err := ctx.Err(); err != nil {
		return Value{}, err
	}
	nested := c.callbacks.Load() != 0
	if !nested {
		select {
		case c.turn <- struct{}{}:
			defer func() { <-c.turn }()
		case <-ctx.Done():
			return Value{}, ctx.Err()
		}
	}
	h := c.handle.Load()
	if h == 0 {
		return Value{}, &Error{Code: CodeClosed, Op: req.what, Message: "the connection to " + c.addr + " is closed"}
	}
	if c.retry != nil && !capiIsConnected(h) {
		var err error
		if h, err = c.reconnect(ctx, h); err != nil {
			return Value{}, err
		}
	}
	cancelFd := int32(-1)
	var stop func() bool
	var signalled chan struct{}
	w := c.wake
	if ctx.Done() != nil {
		if nested { // the outer request owns the connection's pipe
			var err error
			if w, err = newWake(); err != nil {
				return Value{}, err
			}
			defer w.close()
		}
		signalled = make(chan struct{})
		stop = context.AfterFunc(ctx, func() { w.signal(); close(signalled) })
		cancelFd = int32(w.r)
	}
	if len(req.callbacks) > 0 {
		defer hold(req.callbacks)()
	}
	v, err := capiRequest(c, h, req, timeoutMs(ctx), cancelFd)
	if stop != nil && !stop() {
		<-signalled
		w.drain()
	}
	runtime.KeepAlive(c)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return Value{}, ctxErr
		}
		return Value{}, err
	}
	return v, nil
}
