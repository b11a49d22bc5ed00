package rpyc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// Every operation that waits for the network, against a server whose side of it takes
// 5 s (tests/fixtures/slow_fixtures.py): a 300 ms deadline, and separately a cancel at
// 300 ms, must return ctx.Err() within 100 ms of it; then the same Conn must still give
// a fresh call its own right result.

const (
	serverWait = 5 * time.Second
	giveUpAt   = 300 * time.Millisecond
	allowance  = 100 * time.Millisecond
)

// slowCase is one operation: setup gets what it needs ready (and is not timed); run is
// the timed operation.
type slowCase struct {
	name  string
	conn  func(t *testing.T) *rpyc.Conn // the connection whose health is checked after
	setup func(t *testing.T, c *rpyc.Conn) func(ctx context.Context) error
}

var importCount atomic.Int64

func slowCases() []slowCase {
	classic := func(t *testing.T) *rpyc.Conn { return dial(t) }
	service := func(t *testing.T) *rpyc.Conn {
		t.Helper()
		c, err := rpyc.Dial(context.Background(), serviceAddr, rpyc.WithCustomService())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// slow: a Ref to a slow_fixtures.Slow, whose property and dunders wait serverWait.
	slow := func(t *testing.T, c *rpyc.Conn) *rpyc.Ref {
		t.Helper()
		mod, err := c.Import(context.Background(), "slow_fixtures")
		if err != nil {
			t.Fatal(err)
		}
		cls, err := mod.Attr(context.Background(), "Slow")
		if err != nil {
			t.Fatal(err)
		}
		obj, err := cls.Call(context.Background(), serverWait.Seconds())
		if err != nil {
			t.Fatal(err)
		}
		return obj
	}
	// busy makes the connection's server thread busy for serverWait, so that the next
	// request waits behind it: for operations the server answers at once otherwise.
	busy := func(t *testing.T, c *rpyc.Conn, module string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := c.Call(ctx, module, "sleep", serverWait.Seconds()); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("making the server busy: %v", err)
		}
	}
	ref := func(f func(ctx context.Context, r *rpyc.Ref) error) func(*testing.T, *rpyc.Conn) func(context.Context) error {
		return func(t *testing.T, c *rpyc.Conn) func(context.Context) error {
			r := slow(t, c)
			return func(ctx context.Context) error { return f(ctx, r) }
		}
	}
	return []slowCase{
		{"Dial", classic, func(t *testing.T, _ *rpyc.Conn) func(context.Context) error {
			addr := silentPeer(t)
			return func(ctx context.Context) error {
				c, err := rpyc.Dial(ctx, addr, rpyc.WithConnectTimeout(30*time.Second))
				c.Close()
				return err
			}
		}},
		{"Conn.Call", classic, nil},
		{"Conn.CallKw", classic, nil},
		{"Conn.GetAttr", classic, nil},
		{"Conn.Import", classic, nil},
		{"Conn.Root", service, func(t *testing.T, c *rpyc.Conn) func(context.Context) error {
			busy(t, c, "root")
			return func(ctx context.Context) error { _, err := c.Root(ctx); return err }
		}},
		{"Ref.Attr", classic, ref(func(ctx context.Context, r *rpyc.Ref) error { _, err := r.Attr(ctx, "value"); return err })},
		{"Ref.SetAttr", classic, ref(func(ctx context.Context, r *rpyc.Ref) error { return r.SetAttr(ctx, "value", 7) })},
		{"Ref.Call", classic, ref(func(ctx context.Context, r *rpyc.Ref) error { _, err := r.Call(ctx, 1); return err })},
		{"Ref.CallKw", classic, ref(func(ctx context.Context, r *rpyc.Ref) error {
			_, err := r.CallKw(ctx, []any{1}, map[string]any{})
			return err
		})},
		{"Ref.Item", classic, ref(func(ctx context.Context, r *rpyc.Ref) error { _, err := r.Item(ctx, 1); return err })},
		{"Ref.SetItem", classic, ref(func(ctx context.Context, r *rpyc.Ref) error { return r.SetItem(ctx, 1, 2) })},
		{"Ref.Len", classic, ref(func(ctx context.Context, r *rpyc.Ref) error { _, err := r.Len(ctx); return err })},
		{"Ref.Repr", classic, ref(func(ctx context.Context, r *rpyc.Ref) error { _, err := r.Repr(ctx); return err })},
		{"Ref.Str", classic, ref(func(ctx context.Context, r *rpyc.Ref) error { _, err := r.Str(ctx); return err })},
		{"Ref.Iter", classic, ref(func(ctx context.Context, r *rpyc.Ref) error {
			for _, err := range r.Iter(ctx) {
				if err != nil {
					return err
				}
			}
			return nil
		})},
		{"Ref.Iter (a later step)", classic, func(t *testing.T, c *rpyc.Conn) func(context.Context) error {
			mod, err := c.Import(context.Background(), "slow_fixtures")
			if err != nil {
				t.Fatal(err)
			}
			cls, _ := mod.Attr(context.Background(), "SlowIter")
			it, err := cls.Call(context.Background(), serverWait.Seconds())
			if err != nil {
				t.Fatal(err)
			}
			return func(ctx context.Context) error {
				n := 0
				for item, err := range it.Iter(ctx) {
					if err != nil {
						if n == 0 {
							return fmt.Errorf("the first step (which is fast) failed: %w", err)
						}
						return err
					}
					item.Close()
					n++
				}
				return nil
			}
		}},
		{"Ref.Decode", classic, func(t *testing.T, c *rpyc.Conn) func(context.Context) error {
			r := slow(t, c)
			busy(t, c, "time")
			return func(ctx context.Context) error { var v any; return r.Decode(ctx, &v) }
		}},
		{"Ref.Value", classic, func(t *testing.T, c *rpyc.Conn) func(context.Context) error {
			r := slow(t, c)
			busy(t, c, "time")
			return func(ctx context.Context) error { _, err := r.Value(ctx); return err }
		}},
		{"Conn.Execute", classic, func(_ *testing.T, c *rpyc.Conn) func(context.Context) error {
			code := fmt.Sprintf("import time\ntime.sleep(%g)", serverWait.Seconds())
			return func(ctx context.Context) error { return c.Execute(ctx, code) }
		}},
		{"Conn.Eval", classic, func(_ *testing.T, c *rpyc.Conn) func(context.Context) error {
			expr := fmt.Sprintf("__import__('time').sleep(%g)", serverWait.Seconds())
			return func(ctx context.Context) error { _, err := c.Eval(ctx, expr); return err }
		}},
		{"Conn.Namespace", classic, func(t *testing.T, c *rpyc.Conn) func(context.Context) error {
			busy(t, c, "time")
			return func(ctx context.Context) error { _, err := c.Namespace(ctx); return err }
		}},
		{"Conn.Upload", classic, func(t *testing.T, c *rpyc.Conn) func(context.Context) error {
			path := filepath.Join(t.TempDir(), "upload")
			busy(t, c, "time")
			return func(ctx context.Context) error {
				return c.Upload(ctx, bytes.NewReader(make([]byte, 3<<20)), path)
			}
		}},
		{"Conn.Download", classic, func(t *testing.T, c *rpyc.Conn) func(context.Context) error {
			path := filepath.Join(t.TempDir(), "download")
			if err := os.WriteFile(path, make([]byte, 3<<20), 0o600); err != nil {
				t.Fatal(err)
			}
			busy(t, c, "time")
			return func(ctx context.Context) error { return c.Download(ctx, path, io.Discard) }
		}},
		{"Pool.Call", classic, nil},
		{"Pool.CallKw", classic, nil},
		{"Pool.GetAttr", classic, nil},
		{"Registry.Discover", classic, func(t *testing.T, _ *rpyc.Conn) func(context.Context) error {
			reg := rpyc.Registry{Addr: silentRegistry(t)}
			return func(ctx context.Context) error { _, err := reg.Discover(ctx, "ANY"); return err }
		}},
		{"Registry.DialService", classic, func(t *testing.T, _ *rpyc.Conn) func(context.Context) error {
			reg := rpyc.Registry{Addr: silentRegistry(t)}
			return func(ctx context.Context) error {
				c, err := reg.DialService(ctx, "ANY")
				c.Close()
				return err
			}
		}},
	}
}

// fill gives the cases that only call module functions their setup.
func fill(c slowCase) slowCase {
	if c.setup != nil {
		return c
	}
	wait := serverWait.Seconds()
	switch c.name {
	case "Conn.Call":
		c.setup = func(_ *testing.T, conn *rpyc.Conn) func(context.Context) error {
			return func(ctx context.Context) error { _, err := conn.Call(ctx, "time", "sleep", wait); return err }
		}
	case "Conn.CallKw":
		c.setup = func(_ *testing.T, conn *rpyc.Conn) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := conn.CallKw(ctx, "slow_fixtures", "sleep_then", nil, map[string]any{"seconds": wait, "value": 1})
				return err
			}
		}
	case "Conn.GetAttr":
		c.setup = func(t *testing.T, conn *rpyc.Conn) func(context.Context) error {
			if _, err := conn.Import(context.Background(), "slow_fixtures"); err != nil {
				t.Fatal(err)
			}
			return func(ctx context.Context) error { _, err := conn.GetAttr(ctx, "slow_fixtures", "slow_attr"); return err }
		}
	case "Conn.Import":
		c.setup = func(t *testing.T, conn *rpyc.Conn) func(context.Context) error {
			if _, err := conn.Import(context.Background(), "slow_fixtures"); err != nil {
				t.Fatal(err)
			}
			name := "slow_import_" + strconv.FormatInt(importCount.Add(1), 10)
			return func(ctx context.Context) error { _, err := conn.Import(ctx, name); return err }
		}
	case "Pool.Call", "Pool.CallKw", "Pool.GetAttr":
		name := c.name
		c.setup = func(t *testing.T, _ *rpyc.Conn) func(context.Context) error {
			pool, err := rpyc.NewPool(context.Background(), serverAddr, 1)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pool.Close() })
			if _, err := pool.Call(context.Background(), "builtins", "__import__", "slow_fixtures"); err != nil {
				t.Fatal(err)
			}
			return func(ctx context.Context) error {
				var err error
				switch name {
				case "Pool.Call":
					_, err = pool.Call(ctx, "time", "sleep", wait)
				case "Pool.CallKw":
					_, err = pool.CallKw(ctx, "slow_fixtures", "sleep_then", nil, map[string]any{"seconds": wait, "value": 1})
				default:
					_, err = pool.GetAttr(ctx, "slow_fixtures", "slow_attr")
				}
				return err
			}
		}
	}
	return c
}

func TestEveryOperationHonoursItsContext(t *testing.T) {
	for _, c := range slowCases() {
		c = fill(c)
		for _, how := range []string{"deadline", "cancel"} {
			t.Run(c.name+"/"+how, func(t *testing.T) {
				t.Parallel()
				conn := c.conn(t)
				run := c.setup(t, conn)
				var ctx context.Context
				var cancel context.CancelFunc
				var gaveUp time.Time
				var mu sync.Mutex
				if how == "deadline" {
					gaveUp = time.Now().Add(giveUpAt)
					ctx, cancel = context.WithDeadline(context.Background(), gaveUp)
				} else {
					ctx, cancel = context.WithCancel(context.Background())
					time.AfterFunc(giveUpAt, func() {
						mu.Lock()
						gaveUp = time.Now()
						mu.Unlock()
						cancel()
					})
				}
				defer cancel()
				err := run(ctx)
				returned := time.Now()
				mu.Lock()
				late := returned.Sub(gaveUp)
				mu.Unlock()
				want := context.DeadlineExceeded
				if how == "cancel" {
					want = context.Canceled
				}
				if !errors.Is(err, want) {
					t.Fatalf("err = %v, want %v", err, want)
				}
				if late > allowance {
					t.Errorf("returned %v after the %s, want within %v", late, how, allowance)
				}
				t.Logf("%s: returned %.1f ms after the %s", c.name, float64(late.Microseconds())/1000, how)
				// The same Conn, afterwards: the late reply must not reach this call.
				fresh, cancelFresh := context.WithTimeout(context.Background(), 3*serverWait)
				defer cancelFresh()
				checkFreshCall(t, fresh, conn, c.conn)
			})
		}
	}
}

// checkFreshCall makes a call on conn (classic, or the custom service) and checks that it
// gets its own result.
func checkFreshCall(t *testing.T, ctx context.Context, conn *rpyc.Conn, _ func(*testing.T) *rpyc.Conn) {
	t.Helper()
	if conn.Addr() == serviceAddr {
		v, err := conn.Call(ctx, "root", "echo", "fresh")
		if err != nil || v.String() != `"fresh"` {
			t.Errorf("a fresh call on the same Conn: %v, %v", v, err)
		}
		return
	}
	v, err := conn.Call(ctx, "builtins", "str", 12345)
	if err != nil || v.String() != `"12345"` {
		t.Errorf("a fresh call on the same Conn: %v, %v", v, err)
	}
}

// Sixteen goroutines share one Conn; one of them is cancelled in the middle of a slow
// call, and every other one gets its own right result.
func TestCancelOneOfSixteenGoroutines(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	if _, err := conn.Import(ctx, "slow_fixtures"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	cancelled, cancel := context.WithCancel(ctx)
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		close(started)
		_, err := conn.Call(cancelled, "slow_fixtures", "sleep_then", 1.0, -1)
		if !errors.Is(err, context.Canceled) {
			errs <- fmt.Errorf("the cancelled goroutine: %v, want context.Canceled", err)
		}
	}()
	<-started
	time.AfterFunc(200*time.Millisecond, cancel)
	for i := range 15 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 5 {
				want := i*100 + j
				call, done := context.WithTimeout(ctx, 30*time.Second)
				v, err := conn.Call(call, "slow_fixtures", "sleep_then", 0.01, want)
				done()
				var got int
				if err == nil {
					err = v.Decode(&got)
				}
				if err != nil || got != want {
					errs <- fmt.Errorf("goroutine %d call %d: got %d (%v), want %d", i, j, got, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// silentPeer is a TCP server that accepts and never says anything.
func silentPeer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// silentRegistry is a UDP socket that reads queries and never answers.
func silentRegistry(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}
