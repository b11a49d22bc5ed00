package rpyc

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"weak"
)

// CallbackFunc is a Go function that remote Python can call. args and kwargs are decoded
// as results are (see decode.go; remote objects arrive as *Refs); the result is encoded as
// arguments are, except that it cannot hold []byte or Array values.
type CallbackFunc func(ctx context.Context, args []any, kwargs map[string]any) (any, error)

// Callback is a Go function wrapped for RPyC: pass it as an argument to any remote call
// or attribute set, and the server gets a callable. Calling it there runs the Go function
// and returns its result to Python; an error (or a recovered panic) becomes a Python
// exception on the server (rpyc_bridge_rt.callbacks.GoError or GoPanic) with its message.
//
// The server can call it while any call of this connection waits for its reply; for calls
// at other times (events, subscriptions), turn on Conn.ServeBackground. The callable lives
// as long as the server holds it; a Callback can be passed any number of times.
//
// The function runs on the goroutine serving the connection. It may call the server on
// the same connection (a nested call), but must not wait for other goroutines that use it.
type Callback struct {
	id uint64
	fn CallbackFunc
}

// Func wraps fn as a Callback.
func Func(fn CallbackFunc) *Callback {
	return &Callback{id: nextCallbackID.Add(1), fn: fn}
}

var nextCallbackID atomic.Uint64

// callbacks is the registry of Go functions the Python half may call, by id. An entry
// lives while a request that passes it runs (held) or a Python callable of it is alive.
var callbacks = struct {
	sync.Mutex
	live map[uint64]*callbackEntry
}{live: map[uint64]*callbackEntry{}}

type callbackEntry struct {
	fn    CallbackFunc
	held  int // requests in flight that pass it
	alive int // Python callables of it (retained, not yet released)
}

// LiveCallbacks is the number of Python callables, over all connections, that wrap Go
// functions and are still alive.
func LiveCallbacks() int {
	callbacks.Lock()
	defer callbacks.Unlock()
	n := 0
	for _, e := range callbacks.live {
		n += e.alive
	}
	return n
}

// hold registers cbs for one request and returns the function that ends the hold.
func hold(cbs []*Callback) (unhold func()) {
	capiRegisterCallbacks()
	callbacks.Lock()
	defer callbacks.Unlock()
	for _, cb := range cbs {
		e := callbacks.live[cb.id]
		if e == nil {
			e = &callbackEntry{fn: cb.fn}
			callbacks.live[cb.id] = e
		}
		e.held++
	}
	return func() {
		callbacks.Lock()
		defer callbacks.Unlock()
		for _, cb := range cbs {
			if e := callbacks.live[cb.id]; e != nil {
				e.held--
				e.dropIfUnused(cb.id)
			}
		}
	}
}

// retainCallback counts a new Python callable of id (RETAIN); false for an unknown id.
func retainCallback(id uint64) bool {
	callbacks.Lock()
	defer callbacks.Unlock()
	e := callbacks.live[id]
	if e == nil {
		return false
	}
	e.alive++
	return true
}

// releaseCallback counts a Python callable of id gone (RELEASE).
func releaseCallback(id uint64) {
	callbacks.Lock()
	defer callbacks.Unlock()
	if e := callbacks.live[id]; e != nil && e.alive > 0 {
		e.alive--
		e.dropIfUnused(id)
	}
}

// dropIfUnused removes the entry once nothing holds it; callbacks' lock is held.
func (e *callbackEntry) dropIfUnused(id uint64) {
	if e.held <= 0 && e.alive <= 0 {
		delete(callbacks.live, id)
	}
}

func lookupCallback(id uint64) CallbackFunc {
	callbacks.Lock()
	defer callbacks.Unlock()
	if e := callbacks.live[id]; e != nil {
		return e.fn
	}
	return nil
}

// conns maps connection handles to their *Conn for callbacks, without keeping them alive.
var conns sync.Map // uint64 -> weak.Pointer[Conn]

func registerConn(c *Conn, handle uint64) { conns.Store(handle, weak.Make(c)) }

func unregisterConn(handle uint64) { conns.Delete(handle) }

func connByHandle(handle uint64) *Conn {
	if p, ok := conns.Load(handle); ok {
		return p.(weak.Pointer[Conn]).Value()
	}
	return nil
}

// runCallback calls the Go function for id; a panic becomes an error (panicked = true).
func runCallback(id uint64, args []any, kwargs map[string]any) (result any, err error, panicked bool) {
	fn := lookupCallback(id)
	if fn == nil {
		return nil, fmt.Errorf("rpyc: Go callback %d is no longer registered", id), false
	}
	defer func() {
		if p := recover(); p != nil {
			result, err, panicked = nil, fmt.Errorf("panic: %v", p), true
		}
	}()
	result, err = fn(context.Background(), args, kwargs)
	return result, err, false
}

// ServeBackground serves the server's requests (callbacks) from a background thread
// while on, also between calls: for events and subscriptions. Off by default.
func (c *Conn) ServeBackground(on bool) error {
	h := c.handle.Load()
	if h == 0 {
		return &Error{Code: CodeClosed, Op: "serve", Message: "the connection is closed"}
	}
	err := capiServeBackground(h, on)
	return err
}
