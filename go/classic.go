package rpyc

import (
	"context"
	"encoding/json"
	"time"
)

// Server-side code on classic servers, as rpyc's conn.execute, conn.eval and
// conn.namespace: they go through the classic service's root (SlaveService exposes
// execute, eval and namespace), so they need no helper of the bridge.

// Execute runs code on the server, in the connection's namespace (conn.execute in
// Python): functions and variables it defines stay there for later Execute, Eval and
// Namespace calls on this connection. A raise or a syntax error in code is a
// *PythonError with the remote traceback. Classic servers only: on a connection dialled
// WithCustomService it fails with ErrArgument.
func (c *Conn) Execute(ctx context.Context, code string) error {
	result, err := c.classicCall(ctx, "execute", code)
	if err != nil {
		return err
	}
	return result.Close()
}

// Eval evaluates a Python expression on the server, in the connection's namespace
// (conn.eval in Python), and returns its value as a Ref: Decode it, or use it as any
// other Ref. Errors as for Execute.
func (c *Conn) Eval(ctx context.Context, expr string) (*Ref, error) {
	return c.classicCall(ctx, "eval", expr)
}

// Namespace returns the connection's namespace on the server (conn.namespace in Python),
// the dict that Execute and Eval use, as a Ref: Item("name") reads what Execute defined.
// Classic servers only, as Execute.
func (c *Conn) Namespace(ctx context.Context) (*Ref, error) {
	root, err := c.classicRoot(ctx, "namespace")
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.Attr(ctx, "namespace")
}

// classicCall calls the classic root's method name with arg.
func (c *Conn) classicCall(ctx context.Context, name string, arg any) (*Ref, error) {
	root, err := c.classicRoot(ctx, name)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	method, err := root.Attr(ctx, name)
	if err != nil {
		return nil, err
	}
	defer method.Close()
	return method.Call(ctx, arg)
}

// classicRoot is the classic service's root, or ErrArgument on a custom-service connection.
func (c *Conn) classicRoot(ctx context.Context, op string) (*Ref, error) {
	if err := c.requireClassic(op); err != nil {
		return nil, err
	}
	return c.Root(ctx)
}

// requireClassic fails with ErrArgument if c was dialled WithCustomService.
func (c *Conn) requireClassic(op string) error {
	if c == nil {
		return &Error{Code: CodeClosed, Op: op, Message: "nil *Conn"}
	}
	var o struct {
		Service string `json:"service"`
	}
	if err := json.Unmarshal([]byte(c.options), &o); err == nil && o.Service == "service" {
		return &Error{Code: CodeArgument, Op: op, Message: op + " needs a classic server (rpyc_classic, SlaveService); " +
			c.addr + " was dialled WithCustomService, whose service has no namespace to run code in"}
	}
	return nil
}

// cleanupContext is for the clean-up after a failed or cancelled operation: ctx's values
// without its cancellation, and a few seconds to finish.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}
