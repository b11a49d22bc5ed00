package rpyc_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// Bad input of issue 7 that failures_test.go and conn_test.go do not cover yet.

func TestHundredMegabyteString(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 100 MB each way")
	}
	conn := dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	big := strings.Repeat("x", 100<<20)
	v, err := conn.Call(ctx, "builtins", "len", big)
	if err != nil {
		// An error is acceptable; a dead process or a dead connection is not.
		t.Logf("len(100 MB str): %v", err)
	} else {
		var n int
		if err := v.Decode(&n); err != nil || n != len(big) {
			t.Fatalf("len = %d, %v; want %d", n, err, len(big))
		}
	}
	if v, err := conn.Call(ctx, "math", "sqrt", 4); err != nil || v.String() != "2.0" {
		t.Fatalf("the connection after a 100 MB argument: %v, %v", v, err)
	}
}

func TestInitTwiceAndConcurrently(t *testing.T) {
	// The test binary's first calls already started Python implicitly (no Init in
	// TestMain); more Inits, also racing each other, change nothing.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := rpyc.Init(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := rpyc.Init(); err != nil {
		t.Fatal(err)
	}
	if v, err := dial(t).Call(context.Background(), "math", "sqrt", 9); err != nil || v.String() != "3.0" {
		t.Fatalf("a call after Init twice: %v, %v", v, err)
	}
}

func TestGoEncoderRefusesDeepNesting(t *testing.T) {
	conn := dial(t)
	nest := func(levels int) any {
		var v any = 1
		for range levels {
			v = []any{v}
		}
		return v
	}
	if _, err := conn.Call(context.Background(), "builtins", "len", nest(100_000)); !errors.Is(err, rpyc.ErrArgument) {
		t.Errorf("100k levels: %v, want ErrArgument", err)
	}
	if _, err := conn.Call(context.Background(), "builtins", "len", nest(1001)); !errors.Is(err, rpyc.ErrArgument) {
		t.Errorf("1001 levels: %v, want ErrArgument", err)
	}
	// A self-referencing map would nest forever: the same limit stops it.
	loop := map[string]any{}
	loop["self"] = loop
	if _, err := conn.Call(context.Background(), "builtins", "len", loop); !errors.Is(err, rpyc.ErrArgument) {
		t.Errorf("a cyclic map: %v, want ErrArgument", err)
	}
	if v, err := conn.Call(context.Background(), "builtins", "len", nest(50)); err != nil || v.String() != "1" {
		t.Errorf("50 levels should work: %v, %v", v, err)
	}
}

func TestRefsAfterTheirConnIsClosed(t *testing.T) {
	ctx := context.Background()
	conn := dial(t)
	math := ref(t)(conn.Import(ctx, "math"))
	sqrt := ref(t)(math.Attr(ctx, "sqrt"))
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := sqrt.Call(ctx, 4); err == nil {
		t.Error("a Ref of a closed Conn still works")
	}
	if _, err := math.Len(ctx); err == nil {
		t.Error("Len on a Ref of a closed Conn worked")
	}
	// Closing the Refs afterwards, twice, is harmless.
	for range 2 {
		if err := sqrt.Close(); err != nil {
			t.Errorf("Ref.Close after Conn.Close: %v", err)
		}
		if err := math.Close(); err != nil {
			t.Errorf("Ref.Close after Conn.Close: %v", err)
		}
	}
	if err := conn.Close(); err != nil {
		t.Errorf("Conn.Close twice: %v", err)
	}
}

func TestConcurrentCloseAndCalls(t *testing.T) {
	ctx := context.Background()
	conn := dial(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, err := conn.Call(ctx, "math", "sqrt", 4); err != nil && !errors.Is(err, rpyc.ErrClosed) {
					t.Errorf("a call racing Close: %v", err)
					return
				}
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = conn.Close() }()
	}
	wg.Wait()
	if conn.IsConnected() {
		t.Error("connected after Close")
	}
}

func TestPeerThatClosesAtOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	_, err = rpyc.Dial(context.Background(), l.Addr().String(), rpyc.WithConnectTimeout(2*time.Second))
	if !errors.Is(err, rpyc.ErrConnect) {
		t.Errorf("a peer that hangs up: %v, want ErrConnect", err)
	}
}
