package rpyc_test

import (
	"context"
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"testing"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// Every Go value of the mapping table, sent to the server and back (echo), and the Python
// type it became there (kinds).
func TestValuesRoundTrip(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	huge, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	cases := []struct {
		in     any
		want   any
		pyKind string
	}{
		{nil, nil, `"NoneType"`},
		{true, true, `"bool"`},
		{42, int64(42), `"int"`},
		{uint64(math.MaxUint64), new(big.Int).SetUint64(math.MaxUint64), `"int"`},
		{huge, huge, `"int"`},
		{2.5, 2.5, `"float"`},
		{3.0, 3.0, `"float"`},
		{math.Inf(1), math.Inf(1), `"float"`},
		{math.Inf(-1), math.Inf(-1), `"float"`},
		{"héllo", "héllo", `"str"`},
		{[]byte{0, 255, 'a'}, []byte{0, 255, 'a'}, `"bytes"`},
		{[]any{1, "a", nil}, []any{int64(1), "a", nil}, `["tuple",["int","str","NoneType"]]`},
		{map[string]any{"a": 1}, map[string]any{"a": int64(1)}, `["dict",{"a":"int"}]`},
		{map[int]string{1: "x"}, map[any]any{int64(1): "x"}, `["dict",{"1":"str"}]`},
		{map[string]int{"$weird": 1}, map[any]any{"$weird": int64(1)}, `["dict",{"$dict":[["$weird","int"]]}]`},
	}
	for _, c := range cases {
		v, err := conn.Call(ctx, "bridge_fixtures", "echo", c.in)
		if err != nil {
			t.Fatalf("echo(%#v): %v", c.in, err)
		}
		got, _ := v.Interface()
		if !equal(got, c.want) {
			t.Errorf("echo(%#v) = %#v, want %#v", c.in, got, c.want)
		}
		kind, err := conn.Call(ctx, "bridge_fixtures", "kinds", c.in)
		if err != nil {
			t.Fatal(err)
		}
		if kind.String() != c.pyKind {
			t.Errorf("%#v arrived as %s, want %s", c.in, kind, c.pyKind)
		}
	}
	v, err := conn.Call(ctx, "bridge_fixtures", "echo", math.NaN())
	if f, _ := v.Interface(); err != nil || !math.IsNaN(f.(float64)) {
		t.Errorf("NaN came back as %v (%v)", f, err)
	}
}

func equal(a, b any) bool {
	if x, ok := a.(*big.Int); ok {
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	}
	return reflect.DeepEqual(a, b)
}

// numpy arrays go as one buffer and come back with shape and dtype kept.
func TestArraysRoundTrip(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	inputs := []rpyc.Array{
		must(rpyc.NewArray([]float64{1.5, -2, 3.25, 4, 5, 6}, 2, 3)),
		must(rpyc.NewArray([]float32{1, 2, 3, 4}, 2, 2)),
		must(rpyc.NewArray([]int64{1 << 40, -7, 9})),
		must(rpyc.NewArray([]int32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 2)),
		must(rpyc.NewArray([]uint8{0, 128, 255})),
		must(rpyc.NewArray([]float64{}, 0, 3)),
	}
	for _, in := range inputs {
		kind, err := conn.Call(ctx, "bridge_fixtures", "kinds", in)
		if err != nil {
			t.Fatal(err)
		}
		shape, _ := json.Marshal(in.Shape)
		if want := `["ndarray","` + string(in.DType) + `",` + string(shape) + `]`; kind.String() != want {
			t.Errorf("%v arrived as %s, want %s", in.Shape, kind, want)
		}
		v, err := conn.Call(ctx, "numpy", "copy", in)
		if err != nil {
			t.Fatal(err)
		}
		out, ok := v.Array()
		if !ok || !reflect.DeepEqual(out, in) {
			t.Errorf("round trip of %+v gave %+v", in, out)
		}
	}
	// Computed on the server, decoded into typed and nested slices.
	v, err := conn.Call(ctx, "numpy", "outer", must(rpyc.NewArray([]float64{1, 2})), must(rpyc.NewArray([]float64{1, 10, 100})))
	if err != nil {
		t.Fatal(err)
	}
	var grid [][]float64
	if err := v.Decode(&grid); err != nil || !reflect.DeepEqual(grid, [][]float64{{1, 10, 100}, {2, 20, 200}}) {
		t.Errorf("outer = %v (%v)", grid, err)
	}
	v, err = conn.Call(ctx, "numpy", "arange", 4)
	var flat []int64
	if err != nil || v.Decode(&flat) != nil || !reflect.DeepEqual(flat, []int64{0, 1, 2, 3}) {
		t.Errorf("arange(4) = %v (%v)", flat, err)
	}
	// Other dtypes are converted on the server: bool to uint8, int16 to int64.
	v, err = conn.CallKw(ctx, "numpy", "array", []any{[]bool{true, false}}, nil)
	if a, ok := v.Array(); err != nil || !ok || a.DType != rpyc.Uint8 {
		t.Errorf("bool array = %+v (%v)", a, err)
	}
}

func must(a rpyc.Array, err error) rpyc.Array {
	if err != nil {
		panic(err)
	}
	return a
}
