package rpyc_test

import (
	"context"
	_ "embed"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

//go:embed testdata/setup_helpers.py
var setupHelpers string

func TestExecuteEvalAndNamespace(t *testing.T) {
	ctx := context.Background()
	conn := dial(t)
	if err := conn.Execute(ctx, "import math\ndef hyp(a, b):\n    return math.hypot(a, b)\ncount = 41"); err != nil {
		t.Fatal(err)
	}
	var h float64
	if err := ref(t)(conn.Eval(ctx, "hyp(3, 4)")).Decode(ctx, &h); err != nil || h != 5 {
		t.Errorf("Eval(hyp(3, 4)) = %v, %v; want 5", h, err)
	}
	if err := conn.Execute(ctx, "count += 1"); err != nil {
		t.Fatal(err)
	}
	ns := ref(t)(conn.Namespace(ctx))
	var count int
	if err := ref(t)(ns.Item(ctx, "count")).Decode(ctx, &count); err != nil || count != 42 {
		t.Errorf("namespace[count] = %v, %v; want 42", count, err)
	}
	// A value with no by-value mapping is a live Ref, as from any other call.
	obj := ref(t)(conn.Eval(ctx, "__import__('fractions').Fraction(7, 3)"))
	var x int
	if err := ref(t)(obj.Attr(ctx, "numerator")).Decode(ctx, &x); err != nil || x != 7 {
		t.Errorf("Eval's object .numerator = %v, %v; want 7", x, err)
	}
	// Arrays come back as Arrays.
	arr := ref(t)(conn.Eval(ctx, "__import__('numpy').arange(6.0).reshape(2, 3)"))
	v, err := arr.Value(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := v.Array(); !ok || a.Len() != 6 {
		t.Errorf("Eval of an ndarray: %v, %v; want an Array of 6", v, ok)
	}
	// Each connection has its own namespace.
	other := dial(t)
	if _, err := other.Eval(ctx, "hyp(3, 4)"); err == nil {
		t.Error("another connection sees this one's namespace")
	}
}

func TestExecuteAndEvalErrorsArePythonErrors(t *testing.T) {
	ctx := context.Background()
	conn := dial(t)
	cases := []struct {
		name, typ, message, traceback string
		run                           func() error
	}{
		{"syntax error", "SyntaxError", "", "def broken(:", func() error { return conn.Execute(ctx, "def broken(:\n    pass") }},
		{"raise", "ValueError", "no such widget", "in widget", func() error {
			return conn.Execute(ctx, "def widget():\n    raise ValueError('no such widget')\nwidget()")
		}},
		{"eval raise", "ZeroDivisionError", "division by zero", "ZeroDivisionError", func() error {
			_, err := conn.Eval(ctx, "1 / 0")
			return err
		}},
		{"eval unknown name", "NameError", "undefined_thing", "NameError", func() error {
			_, err := conn.Eval(ctx, "undefined_thing + 1")
			return err
		}},
	}
	for _, c := range cases {
		err := c.run()
		var pyErr *rpyc.PythonError
		if !errors.As(err, &pyErr) {
			t.Errorf("%s: %v (%T), want a *PythonError", c.name, err, err)
			continue
		}
		if pyErr.Type != c.typ || !strings.Contains(pyErr.Message, c.message) {
			t.Errorf("%s: %s: %s; want %s containing %q", c.name, pyErr.Type, pyErr.Message, c.typ, c.message)
		}
		if !strings.Contains(pyErr.Traceback, "Traceback") || !strings.Contains(pyErr.Traceback, c.traceback) {
			t.Errorf("%s: the remote traceback does not show %q:\n%s", c.name, c.traceback, pyErr.Traceback)
		}
	}
	// The connection is still usable.
	if err := conn.Execute(ctx, "ok = True"); err != nil {
		t.Errorf("after the errors: %v", err)
	}
}

func TestWithSetupRunsOnConnectAndReconnect(t *testing.T) {
	stop, addr := startOwnServer(t)
	_, port, _ := net.SplitHostPort(addr)
	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, addr, rpyc.WithSetup(setupHelpers), rpyc.WithSetup("connects *= 10"),
		rpyc.WithReconnect(40, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var got []int
	if err := ref(t)(conn.Eval(ctx, "scaled([1, 2, 3], 2)")).Decode(ctx, &got); err != nil || len(got) != 3 || got[2] != 6 {
		t.Fatalf("the setup's helper: %v, %v", got, err)
	}
	var connects, pid1, pid2 int
	if err := ref(t)(conn.Eval(ctx, "connects")).Decode(ctx, &connects); err != nil || connects != 10 {
		t.Errorf("connects = %v, %v; want 10 (both WithSetup blocks, once, in order)", connects, err)
	}
	if err := ref(t)(conn.Eval(ctx, "server_pid()")).Decode(ctx, &pid1); err != nil {
		t.Fatal(err)
	}
	stop()
	if _, err := conn.Eval(ctx, "server_pid()"); err == nil {
		t.Fatal("a stopped server answered")
	}
	startOwnServer(t, port)
	// The first call after the reconnect already finds the helpers.
	if err := ref(t)(conn.Eval(ctx, "server_pid()")).Decode(ctx, &pid2); err != nil {
		t.Fatalf("the setup's helper after a reconnect: %v", err)
	}
	if pid1 == pid2 {
		t.Errorf("the same server process (%d) after the restart", pid1)
	}
	if err := ref(t)(conn.Eval(ctx, "connects")).Decode(ctx, &connects); err != nil || connects != 10 {
		t.Errorf("after the reconnect connects = %v, %v; want 10 (a new namespace, set up once)", connects, err)
	}
}

func TestWithSetupErrorsFailTheDial(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ code, typ, traceback string }{
		{"def helper(:\n    pass", "SyntaxError", "def helper(:"},
		{"import os\nraise RuntimeError('helpers need ' + os.sep + 'data')", "RuntimeError", "in <module>"},
	} {
		conn, err := rpyc.Dial(ctx, serverAddr, rpyc.WithSetup(c.code))
		if err == nil {
			conn.Close()
			t.Errorf("setup %q: Dial succeeded", c.code)
			continue
		}
		var pyErr *rpyc.PythonError
		if !errors.As(err, &pyErr) || pyErr.Type != c.typ || !strings.Contains(pyErr.Traceback, c.traceback) {
			t.Errorf("setup %q: %v (%T), want a %s with the remote traceback", c.code, err, err, c.typ)
		}
	}
}

func TestClassicOnlyCallsOnACustomService(t *testing.T) {
	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, serviceAddr, rpyc.WithCustomService())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	checks := map[string]error{
		"Execute":   conn.Execute(ctx, "x = 1"),
		"Eval":      second(conn.Eval(ctx, "1")),
		"Namespace": second(conn.Namespace(ctx)),
		"Upload":    conn.Upload(ctx, strings.NewReader("data"), t.TempDir()+"/f"),
		"Download":  conn.Download(ctx, "/etc/hostname", &strings.Builder{}),
	}
	for name, err := range checks {
		if !errors.Is(err, rpyc.ErrArgument) || !strings.Contains(err.Error(), "classic server") {
			t.Errorf("%s on a custom service: %v, want ErrArgument naming the classic server it needs", name, err)
		}
	}
	// The service itself still works.
	if v, err := conn.Call(ctx, "root", "echo", 5); err != nil || v.String() != "5" {
		t.Errorf("root.echo(5) = %v, %v", v, err)
	}
	if c, err := rpyc.Dial(ctx, serviceAddr, rpyc.WithCustomService(), rpyc.WithSetup("x = 1")); !errors.Is(err, rpyc.ErrArgument) {
		c.Close()
		t.Errorf("WithSetup on a custom service: %v, want ErrArgument", err)
	}
}

// A custom service's results are encoded by the client's Python half: a long list of
// numbers is packed there (a view of the array, which Rust copies).
func TestCustomServiceResultsPackLongListsOfNumbers(t *testing.T) {
	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, serviceAddr, rpyc.WithCustomService())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	want := make([]float64, 4000)
	for i := range want {
		want[i] = float64(i) / 3
	}
	v, err := conn.Call(ctx, "root", "echo", want)
	if err != nil {
		t.Fatal(err)
	}
	var got []float64
	if err := v.Decode(&got); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("root.echo(4000 floats): %d floats, %v", len(got), err)
	}
}

func second[T any](_ T, err error) error { return err }
