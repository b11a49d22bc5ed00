package rpyc

import (
	"context"
	"time"
)

// How contexts reach the library: a request gets the context's deadline as its timeout
// and a wake-up fd for its cancellation (Conn.do, wake.go). A dial or a registry query,
// which has no connection yet, runs in a goroutine and is abandoned when the context ends
// (abandon); the library bounds it by its own timeout.

// abandon runs f, or returns ctx.Err() as soon as ctx ends; f then finishes in the
// background and cleanup gets what it returned without an error.
func abandon[T any](ctx context.Context, f func() (T, error), cleanup func(T)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if ctx.Done() == nil {
		return f()
	}
	type outcome struct {
		v   T
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		v, err := f()
		done <- outcome{v, err}
	}()
	select {
	case o := <-done:
		if o.err != nil && ctx.Err() != nil {
			return zero, ctx.Err()
		}
		return o.v, o.err
	case <-ctx.Done():
		go func() {
			if o := <-done; o.err == nil {
				cleanup(o.v)
			}
		}()
		return zero, ctx.Err()
	}
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
