package rpyc_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// ref(t)(r, err) fails the test on err and closes r when the test ends.
func ref(t *testing.T) func(*rpyc.Ref, error) *rpyc.Ref {
	return func(r *rpyc.Ref, err error) *rpyc.Ref {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		return r
	}
}

func liveTracked(t *testing.T, conn *rpyc.Conn) int {
	t.Helper()
	v, err := conn.Call(context.Background(), "bridge_fixtures", "live_tracked")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := v.Decode(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A scikit-learn model driven through Refs: create, fit and predict with arrays.
func TestScikitLearnModelThroughRefs(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	lm := ref(t)(conn.Import(ctx, "sklearn.linear_model"))
	cls := ref(t)(lm.Attr(ctx, "LinearRegression"))
	model := ref(t)(cls.Call(ctx))
	// y = 3 x0 - 2 x1 + 1
	X := must(rpyc.NewArray([]float64{0, 0, 1, 0, 0, 1, 1, 1, 2, 3}, 5, 2))
	y := must(rpyc.NewArray([]float64{1, 4, -1, 2, 1}))
	fit := ref(t)(model.Attr(ctx, "fit"))
	_ = ref(t)(fit.Call(ctx, X, y))
	predict := ref(t)(model.Attr(ctx, "predict"))
	pred := ref(t)(predict.Call(ctx, must(rpyc.NewArray([]float64{10, 10, -1, 2}, 2, 2))))
	var got []float64
	if err := pred.Decode(ctx, &got); err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{11, -6} {
		if math.Abs(got[i]-want) > 1e-9 {
			t.Errorf("predict = %v, want [11 -6]", got)
		}
	}
	var coef rpyc.Array
	if err := ref(t)(model.Attr(ctx, "coef_")).Decode(ctx, &coef); err != nil || coef.DType != rpyc.Float64 || !reflect.DeepEqual(coef.Shape, []int{2}) {
		t.Errorf("coef_ = %+v (%v)", coef, err)
	}
}

// The project's own model-like class, with keyword arguments and attributes set from Go.
func TestModelLikeObjectThroughRefs(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	fixtures := ref(t)(conn.Import(ctx, "bridge_fixtures"))
	cls := ref(t)(fixtures.Attr(ctx, "LinearModel"))
	model := ref(t)(cls.CallKw(ctx, nil, map[string]any{"ridge": 0.5}))
	if err := model.SetAttr(ctx, "ridge", 0.25); err != nil {
		t.Fatal(err)
	}
	var ridge float64
	if err := ref(t)(model.Attr(ctx, "ridge")).Decode(ctx, &ridge); err != nil || ridge != 0.25 {
		t.Errorf("ridge = %v (%v)", ridge, err)
	}
	fit := ref(t)(model.Attr(ctx, "fit"))
	fitted := ref(t)(fit.Call(ctx, [][]float64{{0}, {1}, {2}}, []float64{1, 3, 5}))
	repr, err := fitted.Repr(ctx)
	if err != nil || !strings.Contains(repr, "LinearModel object") {
		t.Errorf("repr = %q (%v)", repr, err)
	}
	// fit returns self: the same remote object, so predicting through it works.
	pred := ref(t)(ref(t)(fitted.Attr(ctx, "predict")).Call(ctx, must(rpyc.NewArray([]float64{10}, 1, 1))))
	var out []float64
	if err := pred.Decode(ctx, &out); err != nil || math.Abs(out[0]-21) > 1e-9 {
		t.Errorf("predict(10) = %v (%v)", out, err)
	}
	// A Ref as an argument is the same object on the server.
	same := ref(t)(ref(t)(conn.Import(ctx, "operator")).Attr(ctx, "is_"))
	isSame := ref(t)(same.Call(ctx, model, fitted))
	var b bool
	if err := isSame.Decode(ctx, &b); err != nil || !b {
		t.Errorf("model is fitted = %v (%v)", b, err)
	}
}

func TestRemoteMethodExceptionKeepsTypeAndTraceback(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	fixtures := ref(t)(conn.Import(ctx, "bridge_fixtures"))
	model := ref(t)(ref(t)(fixtures.Attr(ctx, "LinearModel")).Call(ctx))
	predict := ref(t)(model.Attr(ctx, "predict"))
	_, err := predict.Call(ctx, [][]float64{{1}})
	var pyErr *rpyc.PythonError
	if !errors.As(err, &pyErr) {
		t.Fatalf("err = %v, want *PythonError", err)
	}
	if !strings.HasSuffix(pyErr.Type, "ModelNotFitted") || pyErr.Message != "call fit before predict" {
		t.Errorf("got %s: %s", pyErr.Type, pyErr.Message)
	}
	if !strings.Contains(pyErr.Traceback, "in predict") {
		t.Errorf("the traceback does not show the remote method:\n%s", pyErr.Traceback)
	}
}

func TestIteratingARemoteGenerator(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	countdown := ref(t)(ref(t)(conn.Import(ctx, "bridge_fixtures")).Attr(ctx, "countdown"))
	gen := ref(t)(countdown.Call(ctx, 5))
	var got []int
	for item, err := range gen.Iter(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := item.Decode(ctx, &n); err != nil {
			t.Fatal(err)
		}
		_ = item.Close()
		got = append(got, n)
	}
	if !reflect.DeepEqual(got, []int{5, 4, 3, 2, 1}) {
		t.Errorf("countdown(5) = %v", got)
	}
	// Breaking out early is fine too.
	for _, err := range ref(t)(countdown.Call(ctx, 100)).Iter(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
}

func TestLenAndItemsOfRemoteDictsAndLists(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	builtins := ref(t)(conn.Import(ctx, "builtins"))
	d := ref(t)(ref(t)(builtins.Attr(ctx, "dict")).CallKw(ctx, nil, map[string]any{"a": 1, "b": 2}))
	if n, err := d.Len(ctx); err != nil || n != 2 {
		t.Errorf("len(dict) = %d (%v)", n, err)
	}
	var b int
	if err := ref(t)(d.Item(ctx, "b")).Decode(ctx, &b); err != nil || b != 2 {
		t.Errorf("d['b'] = %d (%v)", b, err)
	}
	if err := d.SetItem(ctx, "c", []int{1, 2}); err != nil {
		t.Fatal(err)
	}
	var all map[string]any
	if err := d.Decode(ctx, &all); err != nil || len(all) != 3 || !reflect.DeepEqual(all["c"], []any{int64(1), int64(2)}) {
		t.Errorf("dict = %v (%v)", all, err)
	}
	if _, err := d.Item(ctx, "missing"); !errors.As(err, new(*rpyc.PythonError)) || !strings.Contains(err.Error(), "KeyError") {
		t.Errorf("d['missing'] = %v, want a KeyError", err)
	}
	l := ref(t)(ref(t)(builtins.Attr(ctx, "list")).Call(ctx, []int{1, 2, 3}))
	if err := l.SetItem(ctx, 0, "x"); err != nil {
		t.Fatal(err)
	}
	var last int
	if err := ref(t)(l.Item(ctx, -1)).Decode(ctx, &last); err != nil || last != 3 {
		t.Errorf("l[-1] = %d (%v)", last, err)
	}
	if s, err := l.Repr(ctx); err != nil || s != "['x', 2, 3]" {
		t.Errorf("repr(l) = %q (%v)", s, err)
	}
	if s, err := ref(t)(l.Item(ctx, 0)).Str(ctx); err != nil || s != "x" {
		t.Errorf("str(l[0]) = %q (%v)", s, err)
	}
}

// Closing Refs frees the server's objects; so does closing the connection; so does the
// garbage collector for Refs nobody closed.
func TestRefsAreReleased(t *testing.T) {
	ctx := context.Background()
	observer := dial(t)
	base := liveTracked(t, observer)

	conn := dial(t)
	fixtures := ref(t)(conn.Import(ctx, "bridge_fixtures"))
	make := ref(t)(fixtures.Attr(ctx, "tracked_items"))
	items := ref(t)(make.Call(ctx, 10))
	var held []*rpyc.Ref
	for i := range 10 {
		held = append(held, ref(t)(items.Item(ctx, i)))
	}
	if n := liveTracked(t, observer); n != base+10 {
		t.Fatalf("live = %d, want %d", n, base+10)
	}
	_ = items.Close()
	for _, r := range held {
		_ = r.Close()
	}
	waitLive(t, observer, base)

	// Refs nobody closed: the connection's Close releases them.
	for range 3 {
		if _, err := make.Call(ctx, 5); err != nil {
			t.Fatal(err)
		}
	}
	_ = conn.Close()
	waitLive(t, observer, base)
	if _, err := items.Len(ctx); !errors.Is(err, rpyc.ErrHandle) {
		t.Errorf("a Ref of a closed connection: %v, want ErrHandle", err)
	}
}

func TestUnclosedRefsAreReleasedByTheGarbageCollector(t *testing.T) {
	ctx := context.Background()
	conn := dial(t)
	fixtures := ref(t)(conn.Import(ctx, "bridge_fixtures"))
	before, _ := conn.LiveRefs()
	for range 200 {
		if _, err := fixtures.Attr(ctx, "Tracked"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		n, err := conn.LiveRefs()
		if err != nil {
			t.Fatal(err)
		}
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d Refs still live after GC, want %d", n, before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitLive(t *testing.T, conn *rpyc.Conn, want int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for n := liveTracked(t, conn); n != want; n = liveTracked(t, conn) {
		if time.Now().After(deadline) {
			t.Fatalf("server objects alive: %d, want %d", n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRefMisuse(t *testing.T) {
	ctx := context.Background()
	a, b := dial(t), dial(t)
	mathA := ref(t)(a.Import(ctx, "math"))
	sqrtB := ref(t)(ref(t)(b.Import(ctx, "math")).Attr(ctx, "sqrt"))
	if _, err := sqrtB.Call(ctx, mathA); !errors.Is(err, rpyc.ErrArgument) {
		t.Errorf("a Ref of another connection as an argument: %v", err)
	}
	_ = mathA.Close()
	_ = mathA.Close()
	if _, err := mathA.Attr(ctx, "pi"); !errors.Is(err, rpyc.ErrHandle) {
		t.Errorf("use after Close: %v", err)
	}
	if _, err := sqrtB.Call(ctx, mathA); !errors.Is(err, rpyc.ErrHandle) {
		t.Errorf("a closed Ref as an argument: %v", err)
	}
	var nilRef *rpyc.Ref
	if err := nilRef.Close(); err != nil {
		t.Error(err)
	}
	if _, err := nilRef.Len(ctx); !errors.Is(err, rpyc.ErrHandle) {
		t.Errorf("nil Ref: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := sqrtB.Call(cancelled, 4); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

// A custom service (not classic): its root's exposed methods, by Ref and by Call.
func TestCustomServiceRoot(t *testing.T) {
	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, serviceAddr, rpyc.WithCustomService())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	root := ref(t)(conn.Root(ctx))
	pred := ref(t)(ref(t)(root.Attr(ctx, "predict")).Call(ctx, []int{1, 2, 3}))
	var got []int
	if err := pred.Decode(ctx, &got); err != nil || !reflect.DeepEqual(got, []int{3, 5, 7}) {
		t.Errorf("predict = %v (%v)", got, err)
	}
	v, err := conn.Call(ctx, "root", "echo", "hi")
	if err != nil || v.String() != `"hi"` {
		t.Errorf("echo = %v (%v)", v, err)
	}
	counter := ref(t)(ref(t)(root.Attr(ctx, "Counter")).Call(ctx))
	add := ref(t)(counter.Attr(ctx, "add"))
	_ = ref(t)(add.Call(ctx, 2))
	var n int
	if err := ref(t)(add.Call(ctx, 3)).Decode(ctx, &n); err != nil || n != 5 {
		t.Errorf("counter = %d (%v)", n, err)
	}
	if _, err := conn.Call(ctx, "root", "fail"); !errors.As(err, new(*rpyc.PythonError)) {
		t.Errorf("exposed_fail: %v", err)
	}
	if _, err := conn.Call(ctx, "math", "sqrt", 4); !errors.Is(err, rpyc.ErrArgument) {
		t.Errorf("a module call on a custom service: %v", err)
	}
	if _, err := conn.Call(ctx, "root", "echo", must(rpyc.NewArray([]float64{1}))); !errors.Is(err, rpyc.ErrArgument) {
		t.Errorf("an array on a custom service: %v", err)
	}
	if _, err := conn.Import(ctx, "os"); !errors.Is(err, rpyc.ErrArgument) {
		t.Errorf("Import on a custom service: %v", err)
	}
}
