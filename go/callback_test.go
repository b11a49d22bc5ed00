package rpyc_test

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

func TestProgressCallbackDuringACall(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	type step struct {
		epoch int64
		loss  float64
	}
	var steps []step
	progress := rpyc.Func(func(ctx context.Context, args []any, kwargs map[string]any) (any, error) {
		steps = append(steps, step{args[0].(int64), kwargs["loss"].(float64)})
		return nil, nil
	})
	v, err := conn.Call(ctx, "bridge_fixtures", "train", 5, progress)
	if err != nil {
		t.Fatal(err)
	}
	if v.String() != `"trained"` {
		t.Errorf("train = %s", v)
	}
	want := []step{{0, 1}, {1, 0.5}, {2, 1.0 / 3}, {3, 0.25}, {4, 0.2}}
	if !reflect.DeepEqual(steps, want) {
		t.Errorf("progress calls = %v, want %v", steps, want)
	}
}

func TestCallbackResultsReachPython(t *testing.T) {
	conn := dial(t)
	add := rpyc.Func(func(ctx context.Context, args []any, kwargs map[string]any) (any, error) {
		return map[string]any{"sum": args[0].(int64) + args[1].(int64), "tags": []string{"a", "b"}}, nil
	})
	v, err := conn.Call(context.Background(), "bridge_fixtures", "call_with", add, 2, 40)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Sum  int
		Tags []string
	}
	if err := v.Decode(&got); err != nil || got.Sum != 42 || !reflect.DeepEqual(got.Tags, []string{"a", "b"}) {
		t.Errorf("result = %+v (%v)", got, err)
	}
}

// Long lists of numbers reach a callback packed (wireformat._pack: a view of the array,
// copied by Rust), positional and keyword alike.
func TestCallbacksTakeLongListsOfNumbers(t *testing.T) {
	conn := dial(t)
	ints, floats := make([]int64, 5000), make([]float64, 3000)
	for i := range ints {
		ints[i] = int64(i) * 1_000_003
	}
	for i := range floats {
		floats[i] = float64(i) + 0.25
	}
	sum := rpyc.Func(func(ctx context.Context, args []any, kwargs map[string]any) (any, error) {
		var gotInts []int64
		var gotFloats []float64
		for _, x := range args[0].([]any) {
			gotInts = append(gotInts, x.(int64))
		}
		for _, x := range kwargs["floats"].([]any) {
			gotFloats = append(gotFloats, x.(float64))
		}
		return reflect.DeepEqual(gotInts, ints) && reflect.DeepEqual(gotFloats, floats), nil
	})
	v, err := conn.CallKw(context.Background(), "bridge_fixtures", "call_with", []any{sum, ints}, map[string]any{"floats": floats})
	if err != nil {
		t.Fatal(err)
	}
	var same bool
	if err := v.Decode(&same); err != nil || !same {
		t.Errorf("the callback got other lists (%v)", err)
	}
}

func TestCallbackErrorsAndPanicsAreExceptionsOnTheServer(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	failing := rpyc.Func(func(context.Context, []any, map[string]any) (any, error) {
		return nil, errors.New("disk full")
	})
	panicking := rpyc.Func(func(context.Context, []any, map[string]any) (any, error) {
		var m map[string]int
		m["boom"] = 1 // a real runtime panic
		return nil, nil
	})
	for _, c := range []struct {
		cb       *rpyc.Callback
		typeName string
		message  string
	}{
		{failing, "rpyc_bridge_rt.callbacks.GoError", "disk full"},
		{panicking, "rpyc_bridge_rt.callbacks.GoPanic", "panic: assignment to entry in nil map"},
	} {
		v, err := conn.Call(ctx, "bridge_fixtures", "try_call", c.cb)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		// str() of an exception RPyC carried includes the remote (here: client) traceback.
		if err := v.Decode(&got); err != nil || len(got) != 2 || got[0] != c.typeName || !strings.HasPrefix(got[1], c.message+"\n") {
			t.Errorf("the server saw %q (%v), want [%s %s]", got, err, c.typeName, c.message)
		}
	}
	// Uncaught on the server, the error comes back to the Go caller as a remote exception.
	_, err := conn.Call(ctx, "bridge_fixtures", "call_with", failing)
	var pyErr *rpyc.PythonError
	if !errors.As(err, &pyErr) || pyErr.Message != "disk full" {
		t.Errorf("err = %v", err)
	}
	if _, err := conn.Call(ctx, "math", "sqrt", 4); err != nil {
		t.Errorf("the connection should survive: %v", err)
	}
}

func TestNestedCallFromACallback(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	viaServer := rpyc.Func(func(ctx context.Context, args []any, _ map[string]any) (any, error) {
		v, err := conn.Call(ctx, "math", "sqrt", args[0])
		if err != nil {
			return nil, err
		}
		var f float64
		if err := v.Decode(&f); err != nil {
			return nil, err
		}
		return f * 2, nil
	})
	v, err := conn.Call(ctx, "bridge_fixtures", "call_with", viaServer, 81)
	if err != nil {
		t.Fatal(err)
	}
	if v.String() != "18.0" {
		t.Errorf("call_with(sqrt*2, 81) = %s", v)
	}
}

func TestEventAfterTheCallReturned(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	if err := conn.ServeBackground(true); err != nil {
		t.Fatal(err)
	}
	events := make(chan int64, 1)
	listener := rpyc.Func(func(ctx context.Context, args []any, _ map[string]any) (any, error) {
		events <- args[0].(int64)
		return nil, nil
	})
	source := ref(t)(ref(t)(ref(t)(conn.Import(ctx, "bridge_fixtures")).Attr(ctx, "EventSource")).Call(ctx))
	_ = ref(t)(ref(t)(source.Attr(ctx, "subscribe")).Call(ctx, listener))
	_ = ref(t)(ref(t)(source.Attr(ctx, "fire_later")).Call(ctx, 42))
	select {
	case got := <-events:
		if got != 42 {
			t.Errorf("event = %d", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	_ = ref(t)(ref(t)(source.Attr(ctx, "clear")).Call(ctx))
	if err := conn.ServeBackground(false); err != nil {
		t.Fatal(err)
	}
}

func TestManyCallbacksDoNotLeak(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	forget := ref(t)(ref(t)(conn.Import(ctx, "bridge_fixtures")).Attr(ctx, "call_with"))
	refsBefore, _ := conn.LiveRefs()
	for i := range 10_000 {
		cb := rpyc.Func(func(context.Context, []any, map[string]any) (any, error) { return i, nil })
		r, err := forget.Call(ctx, cb)
		if err != nil {
			t.Fatal(err)
		}
		_ = r.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		refs, _ := conn.LiveRefs()
		if rpyc.LiveCallbacks() == 0 && refs == refsBefore {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10k callbacks: %d callables and %d Refs live (Refs before: %d)", rpyc.LiveCallbacks(), refs, refsBefore)
		}
		runtime.GC()
		_, _ = conn.Call(ctx, "gc", "collect") // lets the server's release messages arrive
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCallbackOnAClosedConnection(t *testing.T) {
	conn := dial(t)
	_ = conn.Close()
	cb := rpyc.Func(func(context.Context, []any, map[string]any) (any, error) { return nil, nil })
	if _, err := conn.Call(context.Background(), "bridge_fixtures", "call_with", cb); !errors.Is(err, rpyc.ErrClosed) {
		t.Errorf("err = %v", err)
	}
	if n := rpyc.LiveCallbacks(); n != 0 {
		t.Errorf("%d callables live", n)
	}
}
