package rpyc

import (
	"encoding/json"
	"time"
)

// DialOption configures Dial.
type DialOption func(*dialOptions)

type dialOptions struct {
	Service            string      `json:"service,omitempty"`
	ConnectTimeout     *float64    `json:"connect_timeout,omitempty"`
	SyncRequestTimeout *float64    `json:"sync_request_timeout,omitempty"`
	AllowPublicAttrs   *bool       `json:"allow_public_attrs,omitempty"`
	KeepAlive          bool        `json:"keepalive,omitempty"`
	Compress           bool        `json:"compress,omitempty"`
	TLS                *tlsOptions `json:"tls,omitempty"`
	MaxFrameBytes      int64       `json:"max_frame_bytes,omitempty"`
	MaxNesting         int         `json:"max_nesting,omitempty"`
	Setup              *string     `json:"setup,omitempty"`

	reconnect *reconnect
}

func (o *dialOptions) json() string {
	b, _ := json.Marshal(o) // plain fields only: cannot fail
	return string(b)
}

// WithCustomService connects to a server that runs its own rpyc.Service instead of the
// classic one. Call its exposed methods with module "root".
func WithCustomService() DialOption { return func(o *dialOptions) { o.Service = "service" } }

// WithConnectTimeout bounds the TCP connect and handshake (default 10 s, or the context's
// deadline if sooner).
func WithConnectTimeout(d time.Duration) DialOption {
	return func(o *dialOptions) { s := d.Seconds(); o.ConnectTimeout = &s }
}

// WithSyncRequestTimeout sets rpyc's sync_request_timeout: the longest any request waits
// for its reply. The default is no limit; per-call limits come from contexts.
func WithSyncRequestTimeout(d time.Duration) DialOption {
	return func(o *dialOptions) { s := d.Seconds(); o.SyncRequestTimeout = &s }
}

// WithAllowPublicAttrs sets rpyc's allow_public_attrs protocol option.
func WithAllowPublicAttrs(allow bool) DialOption {
	return func(o *dialOptions) { o.AllowPublicAttrs = &allow }
}

// WithKeepAlive turns on TCP keepalive.
func WithKeepAlive() DialOption { return func(o *dialOptions) { o.KeepAlive = true } }

// WithCompression compresses frames over 3 kB (zlib), as RPyC does by default: what this
// client sends, and on classic servers what the server sends to it. The bridge leaves it
// off: numeric payloads barely compress, and compressing 8 MB costs tens of milliseconds at
// each end. Turn it on for slow links and text-heavy data.
func WithCompression() DialOption { return func(o *dialOptions) { o.Compress = true } }

// WithMaxFrameSize caps the frames the server may send on the native reply path (plain TCP,
// classic servers): a frame longer than n bytes, before or after zlib, fails the call
// with ErrClosed and closes the connection, before any of it is read. The default is 1 GiB.
// No frame's buffer is allocated ahead of its bytes, whatever its header claims.
func WithMaxFrameSize(n int64) DialOption {
	return func(o *dialOptions) { o.MaxFrameBytes = max(n, 1) }
}

// WithMaxNesting caps how deep tuples and lists may nest in a reply the native path reads:
// a deeper one fails the call with ErrClosed and closes the connection. The default is
// 1000 (Python's own brine writes at most about 500 levels). A reply that is not valid
// brine fails the same way.
func WithMaxNesting(depth int) DialOption {
	return func(o *dialOptions) { o.MaxNesting = max(depth, 1) }
}

// WithReconnect makes a broken connection dial again, before a new call, with exponential
// backoff from first (doubling up to 5 s), at most attempts times, within the call's
// context. A call that fails because the connection broke is not repeated (it may have
// run); Refs of the old connection fail with ErrHandle.
func WithReconnect(attempts int, first time.Duration) DialOption {
	return func(o *dialOptions) {
		o.reconnect = &reconnect{attempts: max(attempts, 1), first: max(first, time.Millisecond)}
	}
}

// WithSetup runs code in the connection's namespace (as Conn.Execute does) right after the
// connection is made, and again after every reconnect (WithReconnect), so that the helpers
// it defines are always there. Keep them in a .py file and //go:embed it. Several WithSetup
// options run in order, as one block. The code runs within the connect timeout; a raise or a
// syntax error in it fails the Dial with a *PythonError that carries the remote traceback.
// Classic servers only: with WithCustomService, Dial fails with ErrArgument.
func WithSetup(code string) DialOption {
	return func(o *dialOptions) {
		if o.Setup != nil {
			code = *o.Setup + "\n" + code
		}
		o.Setup = &code
	}
}
