package rpyc

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
)

// Registry is an RPyC registry server (rpyc_registry, rpyc.utils.registry) that servers
// register with, so that clients find them by service name.
type Registry struct {
	Addr string // host:port
	TCP  bool   // the registry's TCP mode; UDP otherwise (rpyc's default)
}

// Discover returns the addresses ("host:port") of the servers that registered service, in
// a stable order. Service names are case-insensitive, as in RPyC.
func (r Registry) Discover(ctx context.Context, service string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	host, portText, err := splitHostPort(r.Addr)
	if err != nil {
		return nil, &Error{Code: CodeArgument, Op: "discover", Message: err.Error()}
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, &Error{Code: CodeArgument, Op: "discover", Message: "bad port " + strconv.Quote(portText)}
	}
	wait := timeoutMs(ctx)
	if wait > 0 {
		wait += 50 // the context ends first, and abandon returns its error
	}
	text, err := abandon(ctx, func() (string, error) {
		return capiDiscover(service, host, port, r.TCP, wait)
	}, func(string) {})
	if ctx.Err() != nil { // the registry's wait ended with the context: no answer in time
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	var pairs [][2]any
	if err := json.Unmarshal([]byte(text), &pairs); err != nil {
		return nil, &Error{Code: CodeInternal, Op: "discover", Message: err.Error()}
	}
	addrs := make([]string, 0, len(pairs))
	for _, p := range pairs {
		h, _ := p[0].(string)
		n, _ := p[1].(float64)
		addrs = append(addrs, joinHostPort(h, strconv.Itoa(int(n))))
	}
	return addrs, nil
}

// next remembers, per registry and service, where round-robin stands.
var next sync.Map // string -> *atomic.Uint64

// DialService discovers service through the registry and dials the next of its servers,
// round-robin: successive calls spread over all registered servers. A server that cannot
// be dialled is skipped; the error names every failure if none can.
func (r Registry) DialService(ctx context.Context, service string, opts ...DialOption) (*Conn, error) {
	addrs, err := r.Discover(ctx, service)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, &Error{Code: CodeConnect, Op: "discover", Message: "no server registered service " + strconv.Quote(service) + " with " + r.Addr}
	}
	counter, _ := next.LoadOrStore(r.Addr+"/"+service, new(atomic.Uint64))
	start := counter.(*atomic.Uint64).Add(1) - 1
	var errs []string
	for i := range addrs {
		addr := addrs[(int(start)+i)%len(addrs)]
		conn, err := Dial(ctx, addr, opts...)
		if err == nil {
			return conn, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		errs = append(errs, err.Error())
	}
	return nil, &Error{Code: CodeConnect, Op: "dial " + service, Message: joinErrors(errs)}
}

func joinErrors(errs []string) string {
	b, _ := json.Marshal(errs)
	return string(b)
}
