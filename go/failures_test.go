package rpyc_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// startOwnServer starts a classic server that only this test uses (it will be killed).
func startOwnServer(t *testing.T, args ...string) (stop func(), addr string) {
	t.Helper()
	stop, addr, err := startServer("classic_server.py", args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return stop, addr
}

func TestServerKilledMidCall(t *testing.T) {
	stop, addr := startOwnServer(t)
	conn, err := rpyc.Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		time.Sleep(300 * time.Millisecond)
		stop()
	}()
	start := time.Now()
	_, err = conn.Call(context.Background(), "time", "sleep", 30)
	if err == nil {
		t.Fatal("a call to a killed server returned no error")
	}
	if !errors.Is(err, rpyc.ErrClosed) {
		t.Errorf("err = %v, want ErrClosed", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the error took %v", time.Since(start))
	}
	if conn.IsConnected() {
		t.Error("the Conn still reports itself connected")
	}
	if _, err := conn.Call(context.Background(), "math", "sqrt", 4); !errors.Is(err, rpyc.ErrClosed) {
		t.Errorf("a call on the broken Conn: %v, want ErrClosed", err)
	}
}

func TestReconnectAfterTheServerComesBack(t *testing.T) {
	stop, addr := startOwnServer(t)
	_, port, _ := net.SplitHostPort(addr)
	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, addr, rpyc.WithReconnect(20, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	math := ref(t)(conn.Import(ctx, "math"))
	stop()
	if _, err := conn.Call(ctx, "math", "sqrt", 4); err == nil {
		t.Fatal("a call to a stopped server succeeded")
	}
	startOwnServer(t, port) // the same port: rpyc's server reuses the address
	v, err := conn.Call(ctx, "math", "sqrt", 16)
	if err != nil || v.String() != "4.0" {
		t.Fatalf("after reconnect: %v, %v", v, err)
	}
	if _, err := math.Attr(ctx, "pi"); !errors.Is(err, rpyc.ErrHandle) {
		t.Errorf("a Ref of the old connection: %v, want ErrHandle", err)
	}
}

func TestNonRPyCPeersAreDialErrors(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello"))
	}))
	defer web.Close()
	ctx := context.Background()
	if _, err := rpyc.Dial(ctx, strings.TrimPrefix(web.URL, "http://"), rpyc.WithConnectTimeout(2*time.Second)); !errors.Is(err, rpyc.ErrConnect) {
		t.Errorf("an HTTP server: %v, want ErrConnect", err)
	}

	// A peer that sends garbage and then keeps the connection open.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Write([]byte("\x00\x00\x00\x05\x00garbage, not brine\xff\xfe"))
		time.Sleep(3 * time.Second)
	}()
	start := time.Now()
	_, err = rpyc.Dial(ctx, l.Addr().String(), rpyc.WithConnectTimeout(time.Second))
	if !errors.Is(err, rpyc.ErrConnect) {
		t.Errorf("a garbage peer: %v, want ErrConnect", err)
	}
	if time.Since(start) > 2500*time.Millisecond {
		t.Errorf("the garbage peer took %v to fail", time.Since(start))
	}
	_ = l.Close()
	wg.Wait()
}

func TestDeadlineWhileTheServerHangs(t *testing.T) {
	conn := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := conn.Call(ctx, "time", "sleep", 60)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %v", d)
	}
	if !conn.IsConnected() {
		t.Error("the connection should stay usable (the server is still busy with the sleep)")
	}
}
