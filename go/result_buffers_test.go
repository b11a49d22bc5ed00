package rpyc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// A large result is written into Go memory that the library is lent for it, and handed
// back: after the call nothing is still lent, and the value is that memory's bytes.
func TestLargeResultsAreWrittenIntoGoMemory(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	_, before := rpyc.LentBuffers()
	v, err := conn.Call(ctx, "builtins", "eval", `b'\x05\x06' * 3_000_000`)
	if err != nil {
		t.Fatal(err)
	}
	now, ever := rpyc.LentBuffers()
	if now != 0 || ever != before+1 {
		t.Errorf("lent now %d (want 0), lent for the call %d (want 1)", now, ever-before)
	}
	var b []byte
	if err := v.Decode(&b); err != nil || !bytes.Equal(b, bytes.Repeat([]byte{5, 6}, 3_000_000)) {
		t.Errorf("6 MB of bytes: %d bytes (%v)", len(b), err)
	}
}

// A deadline or a cancel that comes while a large result's pieces are being taken (from
// a server behind a slow link) ends the call then: the lent memory goes back, the server
// is told to drop what it kept, and the connection answers the next call.
func TestContextEndsACallWhileItsResultArrives(t *testing.T) {
	addr := slowLink(t, serverAddr, 32<<20) // 32 MB/s: 30 MB take about a second
	conn, err := rpyc.Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const expr = `b'z' * 30_000_000`
	for _, how := range []string{"deadline", "cancel"} {
		_, before := rpyc.LentBuffers()
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		want := context.DeadlineExceeded
		if how == "cancel" {
			cancel()
			ctx, cancel = context.WithCancel(context.Background())
			time.AfterFunc(400*time.Millisecond, cancel)
			want = context.Canceled
		}
		start := time.Now()
		_, err := conn.Call(ctx, "builtins", "eval", expr)
		took := time.Since(start)
		cancel()
		if !errors.Is(err, want) {
			t.Fatalf("%s: err = %v, want %v", how, err, want)
		}
		if took > 400*time.Millisecond+allowance {
			t.Errorf("%s: returned after %v, want within %v of it", how, took, allowance)
		}
		if now, ever := rpyc.LentBuffers(); ever == before || now != 0 {
			t.Errorf("%s: lent for the call %d (want 1: it stopped while taking), still lent %d (want 0)", how, ever-before, now)
		}
		checkFreshCall(t, context.Background(), conn, nil)
	}
	// And a call that is given the time gets the whole value.
	v, err := conn.Call(context.Background(), "builtins", "eval", expr)
	var b []byte
	if err != nil || v.Decode(&b) != nil || !bytes.Equal(b, bytes.Repeat([]byte("z"), 30_000_000)) {
		t.Errorf("the whole result: %d bytes (%v)", len(b), err)
	}
}

// slowLink is a proxy to addr whose replies (server to client) pass at about `rate`
// bytes a second, as over a slow network; it ends with the test.
func slowLink(t *testing.T, addr string, rate int) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	const chunk = 64 << 10
	pause := time.Duration(chunk) * time.Second / time.Duration(rate)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", addr)
			if err != nil {
				client.Close()
				continue
			}
			wg.Add(2)
			go func() { // requests, at full speed
				defer wg.Done()
				_, _ = io.Copy(server, client)
				server.Close()
			}()
			go func() { // replies, a chunk per pause
				defer wg.Done()
				defer client.Close()
				buf := make([]byte, chunk)
				for {
					n, err := server.Read(buf)
					if n > 0 {
						if _, werr := client.Write(buf[:n]); werr != nil {
							return
						}
						time.Sleep(pause)
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}
