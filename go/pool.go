package rpyc

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// Pool spreads calls over several connections, so that goroutines overlap: each call
// takes the connection with the fewest calls in flight. It is safe for concurrent use.
//
// The connections go to one address, or round-robin over a registry's servers
// (NewServicePool). A Ref or Value from a pooled call belongs to the connection that made
// it, and stays usable on its own.
type Pool struct {
	conns    []*pooled
	next     atomic.Uint64
	closeMu  sync.Mutex
	isClosed bool
}

type pooled struct {
	conn     *Conn
	inFlight atomic.Int64
}

// NewPool dials size connections to addr.
func NewPool(ctx context.Context, addr string, size int, opts ...DialOption) (*Pool, error) {
	return newPool(size, func() (*Conn, error) { return Dial(ctx, addr, opts...) })
}

// NewServicePool dials size connections to the servers of service, round-robin.
func NewServicePool(ctx context.Context, registry Registry, service string, size int, opts ...DialOption) (*Pool, error) {
	return newPool(size, func() (*Conn, error) { return registry.DialService(ctx, service, opts...) })
}

func newPool(size int, dial func() (*Conn, error)) (*Pool, error) {
	if size < 1 {
		return nil, &Error{Code: CodeArgument, Op: "pool", Message: "size must be at least 1"}
	}
	p := &Pool{}
	for range size {
		conn, err := dial()
		if err != nil {
			_ = p.Close()
			return nil, err
		}
		p.conns = append(p.conns, &pooled{conn: conn})
	}
	return p, nil
}

// Size is the number of connections.
func (p *Pool) Size() int { return len(p.conns) }

// Conns returns the pool's connections (for Import, Root, ServeBackground...).
func (p *Pool) Conns() []*Conn {
	out := make([]*Conn, len(p.conns))
	for i, c := range p.conns {
		out[i] = c.conn
	}
	return out
}

// acquire picks the least busy connection, starting the scan round-robin so that ties spread.
func (p *Pool) acquire() (*pooled, error) {
	p.closeMu.Lock()
	closed := p.isClosed
	p.closeMu.Unlock()
	if closed {
		return nil, &Error{Code: CodeClosed, Op: "pool", Message: "the pool is closed"}
	}
	start := int(p.next.Add(1))
	best := p.conns[start%len(p.conns)]
	for i := 1; i < len(p.conns); i++ {
		c := p.conns[(start+i)%len(p.conns)]
		if c.inFlight.Load() < best.inFlight.Load() {
			best = c
		}
	}
	best.inFlight.Add(1)
	return best, nil
}

// Call is Conn.Call on the least busy connection.
func (p *Pool) Call(ctx context.Context, module, function string, args ...any) (Value, error) {
	return p.CallKw(ctx, module, function, args, nil)
}

// CallKw is Conn.CallKw on the least busy connection.
func (p *Pool) CallKw(ctx context.Context, module, function string, args []any, kwargs map[string]any) (Value, error) {
	c, err := p.acquire()
	if err != nil {
		return Value{}, err
	}
	defer c.inFlight.Add(-1)
	return c.conn.CallKw(ctx, module, function, args, kwargs)
}

// GetAttr is Conn.GetAttr on the least busy connection.
func (p *Pool) GetAttr(ctx context.Context, module, attr string) (Value, error) {
	c, err := p.acquire()
	if err != nil {
		return Value{}, err
	}
	defer c.inFlight.Add(-1)
	return c.conn.GetAttr(ctx, module, attr)
}

// Close closes every connection. It is idempotent and safe on a nil *Pool.
func (p *Pool) Close() error {
	if p == nil {
		return nil
	}
	p.closeMu.Lock()
	p.isClosed = true
	p.closeMu.Unlock()
	var errs []error
	for _, c := range p.conns {
		errs = append(errs, c.conn.Close())
	}
	return errors.Join(errs...)
}
