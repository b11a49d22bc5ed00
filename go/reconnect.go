package rpyc

import (
	"context"
	"errors"
	"time"
)

type reconnect struct {
	attempts int
	first    time.Duration
}

const maxBackoff = 5 * time.Second

// reconnect replaces the broken handle old with a new connection to the same address. The
// old connection is closed first, which releases its Refs.
func (c *Conn) reconnect(ctx context.Context, old uint64) (uint64, error) {
	c.redial.Lock()
	defer c.redial.Unlock()
	if h := c.handle.Load(); h != old {
		if h == 0 {
			return 0, &Error{Code: CodeClosed, Op: "reconnect", Message: "the connection to " + c.addr + " is closed"}
		}
		return h, nil // another goroutine reconnected already
	}
	unregisterConn(old)
	_ = capiClose(old)
	backoff := c.retry.first
	var last error
	for attempt := range c.retry.attempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
		}
		h, err := openCtx(ctx, c.host, c.port, c.options)
		if err == nil {
			if !c.handle.CompareAndSwap(old, h) { // closed meanwhile
				_ = capiClose(h)
				return 0, &Error{Code: CodeClosed, Op: "reconnect", Message: "the connection to " + c.addr + " is closed"}
			}
			registerConn(c, h)
			return h, nil
		}
		last = err
		var pyErr *PythonError
		if errors.As(err, &pyErr) { // the WithSetup code raised: dialling again cannot help
			return 0, err
		}
	}
	return 0, &Error{Code: CodeConnect, Op: "reconnect", Message: last.Error()}
}
