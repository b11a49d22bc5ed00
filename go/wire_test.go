package rpyc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// The hot path's native messages, checked in the embedded Python against RPyC's brine and
// the runtime's codec, then against the live server (go/testdata/wire_check.py).
func TestWireMessagesMatchRPyC(t *testing.T) {
	_, port, _ := net.SplitHostPort(serverAddr)
	out := runEmbeddedPython(t, "testdata/wire_check.py", port)
	if !strings.HasPrefix(out, "ok ") {
		t.Fatalf("wire_check.py printed %q", out)
	}
}

// A cached function called through the native path (plain TCP) and through RPyC's own
// client (a Conn with a sync request timeout keeps RPyC's path) must give the same text.
func TestHotPathMatchesRPyCsOwnPath(t *testing.T) {
	ctx := context.Background()
	native := dial(t)
	own, err := rpyc.Dial(ctx, serverAddr, rpyc.WithSyncRequestTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	exprs := []string{
		"1", "None", "True", "-7", "2**100", "-(2**70)", "4.0", "0.1", "1e16", "1e-5", "-0.0",
		"float('nan')", "float('-inf')", "'h\\u00e9\\U0001f600\\n\"'", "b'\\x00\\xffab'",
		"(1, (2.5, 'x', b'yz'), (None, ()))", "tuple(range(300))", "'z' * 70000",
		"[1, 2]", "{'a': 1}", "frozenset([3])", "object", "1j", "...",
	}
	for _, conn := range []*rpyc.Conn{native, own} {
		if _, err := conn.Call(ctx, "builtins", "eval", "1"); err != nil { // caches eval
			t.Fatal(err)
		}
	}
	for _, expr := range exprs {
		a, errA := native.Call(ctx, "builtins", "eval", expr)
		b, errB := own.Call(ctx, "builtins", "eval", expr)
		if errA != nil || errB != nil {
			t.Errorf("eval(%s): %v / %v", expr, errA, errB)
			continue
		}
		if strings.Contains(b.String(), `"$ref"`) {
			// Remote objects: each connection makes its own Refs; compare their reprs.
			ra, _ := a.Ref()
			rb, _ := b.Ref()
			ta, _ := ra.Repr(ctx)
			tb, _ := rb.Repr(ctx)
			if ta != tb {
				t.Errorf("eval(%s): repr %q, want %q", expr, ta, tb)
			}
			continue
		}
		if a.String() != b.String() {
			t.Errorf("eval(%s) = %.200s, RPyC's own path gives %.200s", expr, a.String(), b.String())
		}
		va, _ := a.Interface()
		vb, _ := b.Interface()
		if fmt.Sprint(va) != fmt.Sprint(vb) {
			t.Errorf("eval(%s) decodes to %.200v, want %.200v", expr, va, vb)
		}
	}
}

// Remote exceptions, results that hold remote objects, deadlines and a dead server on the
// native path: the same outcomes as on the general one.
func TestHotPathFailures(t *testing.T) {
	ctx := context.Background()
	conn := dial(t)
	if v, err := conn.Call(ctx, "math", "sqrt", 16); err != nil || v.String() != "4.0" {
		t.Fatalf("math.sqrt(16) = %v, %v", v, err)
	}
	_, err := conn.Call(ctx, "math", "sqrt", -1)
	var pyErr *rpyc.PythonError
	if !errors.As(err, &pyErr) || pyErr.Type != "ValueError" || !strings.Contains(pyErr.Traceback, "Traceback") {
		t.Fatalf("math.sqrt(-1): %#v, want a ValueError with its traceback", err)
	}

	// eval gives plain values at first (so it is cached), then an object: a Ref.
	if _, err := conn.Call(ctx, "builtins", "eval", "2"); err != nil {
		t.Fatal(err)
	}
	v, err := conn.Call(ctx, "builtins", "eval", "__import__('collections').OrderedDict(a=1)")
	if err != nil {
		t.Fatal(err)
	}
	if ref, ok := v.Ref(); !ok {
		t.Errorf("an object result: %s, want a Ref", v)
	} else if n, err := ref.Len(ctx); err != nil || n != 1 {
		t.Errorf("len(OrderedDict(a=1)) = %d, %v", n, err)
	}

	// A deadline on the native path; the late reply must not confuse the next call.
	if _, err := conn.Call(ctx, "time", "sleep", 0); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	if _, err := conn.Call(short, "time", "sleep", 0.6); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("time.sleep(0.6) with a 150ms deadline: %v, want DeadlineExceeded", err)
	}
	for i := range 5 {
		v, err := conn.Call(ctx, "math", "sqrt", float64(i*i))
		if err != nil || v.String() != fmt.Sprintf("%d.0", i) {
			t.Fatalf("after a timeout, math.sqrt(%d) = %v, %v", i*i, v, err)
		}
	}
}

// The server dies while a native-path call waits: ErrClosed, promptly.
func TestHotPathServerKilled(t *testing.T) {
	stop, addr := startOwnServer(t)
	conn, err := rpyc.Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	if _, err := conn.Call(ctx, "time", "sleep", 0); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(300*time.Millisecond, stop)
	start := time.Now()
	if _, err := conn.Call(ctx, "time", "sleep", 30); !errors.Is(err, rpyc.ErrClosed) {
		t.Errorf("err = %v, want ErrClosed", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("the error took %v", elapsed)
	}
	if _, err := conn.Call(ctx, "time", "sleep", 0); !errors.Is(err, rpyc.ErrClosed) {
		t.Errorf("a call on the broken Conn: %v, want ErrClosed", err)
	}
}

// A plain call whose server side calls back a Go function stored there earlier: the
// server's request arrives while the native path waits for its reply, goes to RPyC's
// dispatch, and the callback's own nested call takes the native path too.
func TestHotPathServesRequestsWhileItWaits(t *testing.T) {
	ctx := context.Background()
	conn := dial(t)
	fixtures, err := conn.Import(ctx, "bridge_fixtures")
	if err != nil {
		t.Fatal(err)
	}
	defer fixtures.Close()
	hook := rpyc.Func(func(ctx context.Context, args []any, _ map[string]any) (any, error) {
		v, err := conn.Call(ctx, "math", "sqrt", args[0])
		if err != nil {
			return nil, err
		}
		var r float64
		if err := v.Decode(&r); err != nil {
			return nil, err
		}
		return r + 1, nil
	})
	if _, err := conn.Call(ctx, "builtins", "setattr", fixtures, "wire_hook", hook); err != nil {
		t.Fatal(err)
	}
	// First calls: math.sqrt and eval are cached, and their next calls are native.
	if _, err := conn.Call(ctx, "math", "sqrt", 4); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Call(ctx, "builtins", "eval", "1"); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		expr := fmt.Sprintf("__import__('bridge_fixtures').wire_hook(%d) * 2", i*i)
		v, err := conn.Call(ctx, "builtins", "eval", expr)
		if err != nil || v.String() != fmt.Sprintf("%d.0", (i+1)*2) {
			t.Fatalf("eval(%s) = %v, %v; want %d.0", expr, v, err, (i+1)*2)
		}
	}
}
