package rpyc_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// The reply reader's limits, against the real server: a reply over a limit fails the call
// with ErrClosed, names the limit, and closes the connection. bridge_fixtures.echo is called
// with a string first, so that the later calls go straight to its netref (the native path).
func TestReplyLimits(t *testing.T) {
	nested := func(depth int) any {
		var v any = "leaf"
		for i := 0; i < depth; i++ {
			v = []any{v}
		}
		return v
	}
	for _, tc := range []struct {
		name    string
		opt     rpyc.DialOption
		fits    any
		refused any
		message string
	}{
		{"frame", rpyc.WithMaxFrameSize(1000), strings.Repeat("x", 900), strings.Repeat("x", 1100),
			"over the limit of 1000 (rpyc.WithMaxFrameSize raises it)"},
		{"nesting", rpyc.WithMaxNesting(50), nested(45), nested(60),
			"nests deeper than the limit of 50 (rpyc.WithMaxNesting raises it)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			conn, err := rpyc.Dial(ctx, serverAddr, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			for _, v := range []any{"warm up", tc.fits, tc.fits} {
				if _, err := conn.Call(ctx, "bridge_fixtures", "echo", v); err != nil {
					t.Fatalf("within the limit: %v", err)
				}
			}
			_, err = conn.Call(ctx, "bridge_fixtures", "echo", tc.refused)
			if !errors.Is(err, rpyc.ErrClosed) || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("over the limit: %v, want ErrClosed saying %q", err, tc.message)
			}
			if conn.IsConnected() {
				t.Error("the connection is still open after a refused reply")
			}
		})
	}
	// The defaults take both.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := rpyc.Dial(ctx, serverAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, v := range []any{"warm up", []any{nested(190), strings.Repeat("x", 1<<20)}} {
		if _, err := conn.Call(ctx, "bridge_fixtures", "echo", v); err != nil {
			t.Fatal(err)
		}
	}
}
