package rpyc_test

import (
	"context"
	"errors"
	"math"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

func dial(t *testing.T) *rpyc.Conn {
	t.Helper()
	conn, err := rpyc.Dial(context.Background(), serverAddr)
	if err != nil {
		t.Fatalf("Dial(%s): %v", serverAddr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func TestCallsThatMustWork(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	cases := []struct {
		module, fn string
		args       []any
		want       string
	}{
		{"math", "sqrt", []any{16}, "4.0"},
		{"numpy", "mean", []any{[]float64{1, 2, 3, 4, 5}}, "3.0"},
		{"math", "pow", []any{2, 10}, "1024.0"},
		{"builtins", "len", []any{"abc"}, "3"},
	}
	for _, c := range cases {
		v, err := conn.Call(ctx, c.module, c.fn, c.args...)
		if err != nil {
			t.Fatalf("%s.%s%v: %v", c.module, c.fn, c.args, err)
		}
		if v.String() != c.want {
			t.Errorf("%s.%s%v = %s, want %s", c.module, c.fn, c.args, v, c.want)
		}
	}
	pi, err := conn.GetAttr(ctx, "math", "pi")
	if err != nil {
		t.Fatal(err)
	}
	var f float64
	if err := pi.Decode(&f); err != nil || f != math.Pi {
		t.Errorf("math.pi = %v (%v), want %v", f, err, math.Pi)
	}
}

func TestResultsDecodeIntoGoValues(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	v, err := conn.CallKw(ctx, "numpy", "linspace", []any{0, 1}, map[string]any{"num": 5})
	if err != nil {
		t.Fatal(err)
	}
	var xs []float64
	if err := v.Decode(&xs); err != nil {
		t.Fatal(err)
	}
	if len(xs) != 5 || xs[4] != 1 || xs[1] != 0.25 {
		t.Errorf("linspace = %v", xs)
	}
	v, err = conn.Call(ctx, "numpy", "int64", 7)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := v.Interface(); got != int64(7) {
		t.Errorf("numpy.int64(7) = %#v, want int64(7)", got)
	}
	v, err = conn.Call(ctx, "math", "factorial", 30)
	if err != nil {
		t.Fatal(err)
	}
	big, _ := v.Interface()
	if s, ok := big.(interface{ String() string }); !ok || s.String() != "265252859812191058636308480000000" {
		t.Errorf("factorial(30) = %#v", big)
	}
	var grid [][]int
	v, err = conn.CallKw(ctx, "numpy", "arange", []any{6}, nil)
	if err == nil {
		var flat []int
		err = v.Decode(&flat)
		grid = append(grid, flat)
	}
	if err != nil || len(grid[0]) != 6 || grid[0][5] != 5 {
		t.Errorf("arange(6) = %v, %v", grid, err)
	}
}

func TestRemoteExceptionIsPythonError(t *testing.T) {
	conn := dial(t)
	_, err := conn.Call(context.Background(), "no_such_module_xyz", "f")
	var pyErr *rpyc.PythonError
	if !errors.As(err, &pyErr) {
		t.Fatalf("err = %#v, want *PythonError", err)
	}
	if pyErr.Type != "ModuleNotFoundError" || !strings.Contains(pyErr.Message, "no_such_module_xyz") {
		t.Errorf("got %s: %s", pyErr.Type, pyErr.Message)
	}
	if !strings.Contains(pyErr.Traceback, "Traceback") {
		t.Errorf("no remote traceback: %q", pyErr.Traceback)
	}
	if _, err := conn.Call(context.Background(), "math", "sqrt", 9); err != nil {
		t.Errorf("the connection should survive a remote exception: %v", err)
	}
}

func TestServerDownIsADialError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	_, err = rpyc.Dial(context.Background(), addr)
	if !errors.Is(err, rpyc.ErrConnect) {
		t.Fatalf("Dial to a closed port: %v, want ErrConnect", err)
	}
	if _, err := rpyc.NewRPyCClient("127.0.0.1", l.Addr().(*net.TCPAddr).Port); !errors.Is(err, rpyc.ErrConnect) {
		t.Fatalf("NewRPyCClient to a closed port: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := rpyc.Dial(context.Background(), "no-port"); !errors.Is(err, rpyc.ErrArgument) {
		t.Errorf("Dial(no-port) = %v", err)
	}
	conn := dial(t)
	if _, err := conn.Call(context.Background(), "builtins", "len", make(chan int)); !errors.Is(err, rpyc.ErrArgument) {
		t.Errorf("a channel argument = %v, want ErrArgument", err)
	}
	if _, err := conn.Call(context.Background(), "builtins", "abs", complex(1, 2)); !errors.Is(err, rpyc.ErrArgument) {
		t.Errorf("a complex argument = %v, want ErrArgument", err)
	}
	if _, err := conn.Call(context.Background(), "math", "nan"); !errors.As(err, new(*rpyc.PythonError)) {
		t.Errorf("calling a float should be a remote TypeError, got %v", err)
	}
	if _, err := rpyc.NewArray([]float64{1, 2, 3}, 2, 2); !errors.Is(err, rpyc.ErrArgument) {
		t.Errorf("a shape that does not match the data = %v", err)
	}
	if _, err := rpyc.NewArray([]int16{1}); !errors.Is(err, rpyc.ErrArgument) {
		t.Errorf("an unsupported dtype = %v", err)
	}
	var v rpyc.Value
	if v, _ = conn.Call(context.Background(), "builtins", "str", 5); v.Decode(new(int)) == nil {
		t.Error("decoding a str into an int should fail")
	}
}

func TestCloseIsIdempotentAndNilSafe(t *testing.T) {
	conn := dial(t)
	if !conn.IsConnected() {
		t.Fatal("not connected after Dial")
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := conn.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if conn.IsConnected() {
		t.Error("connected after Close")
	}
	if _, err := conn.Call(context.Background(), "math", "sqrt", 4); !errors.Is(err, rpyc.ErrClosed) {
		t.Errorf("Call after Close = %v, want ErrClosed", err)
	}
	var nilConn *rpyc.Conn
	if err := nilConn.Close(); err != nil || nilConn.IsConnected() {
		t.Error("nil *Conn")
	}
	var nilClient *rpyc.RPyCClient
	nilClient.Close()
}

func TestDeadlineWhileServerIsBusy(t *testing.T) {
	conn := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := conn.Call(ctx, "time", "sleep", 1.5)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 1200*time.Millisecond {
		t.Errorf("returned after %v, want near the 200ms deadline", elapsed)
	}
	v, err := conn.Call(context.Background(), "math", "sqrt", 25)
	if err != nil || v.String() != "5.0" {
		t.Errorf("after a timeout the connection should still work: %v %v", v, err)
	}
}

func TestSeedAPI(t *testing.T) {
	host, port, _ := net.SplitHostPort(serverAddr)
	p, _ := strconv.Atoi(port)
	client, err := rpyc.NewRPyCClient(host, p)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if !client.IsConnected() {
		t.Fatal("not connected")
	}
	got, err := client.Call("math", "pow", 2, 10)
	if err != nil || got != 1024.0 {
		t.Errorf("pow(2, 10) = %#v, %v", got, err)
	}
	got, err = client.Call("builtins", "len", "abc")
	if err != nil || got != int64(3) {
		t.Errorf("len('abc') = %#v, %v", got, err)
	}
	got, err = client.GetAttr("math", "pi")
	if err != nil || got != math.Pi {
		t.Errorf("math.pi = %#v, %v", got, err)
	}
	// Arrays come back as Arrays, also one large enough to come in pieces.
	for _, n := range []int{3, 1 << 20} {
		got, err := client.Call("numpy", "zeros", n)
		if a, ok := got.(rpyc.Array); err != nil || !ok || a.Len() != n {
			t.Errorf("numpy.zeros(%d) through the seed API: %T, %v", n, got, err)
		}
	}
	_, err = client.Call("no_such_module_xyz", "f")
	var pyErr *rpyc.PythonError
	if !errors.As(err, &pyErr) || pyErr.Type != "ModuleNotFoundError" {
		t.Errorf("unknown module: %v", err)
	}
	client.Close()
	client.Close()
	if client.IsConnected() {
		t.Error("connected after Close")
	}
}

func TestRuntimeInfo(t *testing.T) {
	info, err := rpyc.Info()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.PythonVersion, "3.13.") || info.RPyCVersion != "6.0.2" {
		t.Errorf("info = %+v", info)
	}
	builtin := strings.Join(info.BuiltinModules, " ")
	for _, m := range []string{"_socket", "zlib", "_json", "_sha2", "select", "math"} {
		if !strings.Contains(" "+builtin+" ", " "+m+" ") {
			t.Errorf("%s is not built in: %s", m, builtin)
		}
	}
	if len(info.Path) != 1 {
		t.Errorf("sys.path = %v, want the embedded zip alone", info.Path)
	}
}
