package rpyc

import (
	"context"
	"strconv"
)

// RPyCClient is the seed example's API, kept as it was: one connection, no contexts.
// New code should use Dial and Conn.
type RPyCClient struct {
	conn *Conn
}

// NewRPyCClient connects to a classic RPyC server.
func NewRPyCClient(host string, port int) (*RPyCClient, error) {
	conn, err := Dial(context.Background(), joinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	return &RPyCClient{conn: conn}, nil
}

// Call calls module.function(args...) once and returns the result as plain Go values
// (see Value.Interface).
func (c *RPyCClient) Call(module, function string, args ...interface{}) (interface{}, error) {
	v, err := c.conn.Call(context.Background(), module, function, args...)
	if err != nil {
		return nil, err
	}
	return v.Interface()
}

// GetAttr reads module.attr.
func (c *RPyCClient) GetAttr(module, attr string) (interface{}, error) {
	v, err := c.conn.GetAttr(context.Background(), module, attr)
	if err != nil {
		return nil, err
	}
	return v.Interface()
}

// Close closes the connection; it is idempotent and nil-safe.
func (c *RPyCClient) Close() {
	if c != nil {
		_ = c.conn.Close()
	}
}

// IsConnected reports whether the connection is open.
func (c *RPyCClient) IsConnected() bool { return c != nil && c.conn.IsConnected() }
