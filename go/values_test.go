package rpyc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
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
		{map[string]int{"$weird": 1}, map[string]any{"$weird": int64(1)}, `["dict",{"$dict":[["$weird","int"]]}]`},
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

// Maps and slices of 64 items or more travel as one pickle (pickler.go), smaller ones as
// JSON. Both must arrive the same: each item of a large container has the Python type and
// value it has alone. Items the pickle leaves out (a Ref, a struct, invalid UTF-8) make
// their container go as JSON, and arrive too.
func TestLargeContainersArriveAsSmallOnesDo(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	type named int
	three := 3
	module := ref(t)(conn.Import(ctx, "math"))
	plain := []any{nil, true, false, 0, 255, 256, 65535, 65536, -1, math.MinInt32, math.MaxInt32,
		int64(math.MaxInt32) + 1, int64(math.MinInt64), uint64(math.MaxUint64), int8(-5), named(7),
		2.5, float32(0.1), math.Inf(-1), "", "héllo", strings.Repeat("é", 200), []byte{0, 255}, []byte{},
		[]int32{1, 2}, [2]string{"a", "b"}, map[int]string{1: "x"}, map[string]any{"$weird": 1},
		map[string]float64{"f": 1}, []any{}, (*int)(nil), &three}
	left := []any{module, struct{ A int }{1}, "bad \xff utf-8"}
	for _, items := range [][]any{plain, append(append([]any{}, plain...), left...)} {
		alone := make([]any, len(items))     // each item's echo
		aloneKind := make([]any, len(items)) // and its Python type
		for i, item := range items {
			alone[i] = interfaceOf(t, conn, "echo", item)
			aloneKind[i] = interfaceOf(t, conn, "kinds", item)
		}
		var big []any
		bigMap := map[string]any{}
		for len(big) < 64 {
			for i, item := range items {
				bigMap[fmt.Sprintf("k%d-%d", len(big), i)] = item
			}
			big = append(big, items...)
		}
		gotKind := interfaceOf(t, conn, "kinds", big).([]any)
		got := interfaceOf(t, conn, "echo", big).([]any)
		for i := range big {
			j := i % len(items)
			if !reflect.DeepEqual(gotKind[1].([]any)[i], aloneKind[j]) {
				t.Errorf("item %d (%#v) of a large slice arrived as %v, alone as %v", i, big[i], gotKind[1].([]any)[i], aloneKind[j])
			}
			if j < len(plain) && !equal(got[i], alone[j]) { // a Ref's echo is a new Ref
				t.Errorf("item %d (%#v) of a large slice came back as %#v, alone as %#v", i, big[i], got[i], alone[j])
			}
		}
		mapKind := interfaceOf(t, conn, "kinds", bigMap).([]any)[1].(map[string]any)
		for k, item := range bigMap {
			var j int
			fmt.Sscanf(k[strings.IndexByte(k, '-')+1:], "%d", &j)
			if !reflect.DeepEqual(mapKind[k], aloneKind[j]) {
				t.Errorf("value %q (%#v) of a large map arrived as %v, alone as %v", k, item, mapKind[k], aloneKind[j])
			}
		}
	}
	// Over one SETITEMS batch (1000 items), both ways a map is pickled.
	counts := map[string]int64{}
	names := map[any]any{}
	for i := range 2500 {
		counts[fmt.Sprint(i)] = int64(i)
		names[int64(i)] = fmt.Sprint(i)
	}
	var back map[string]int64
	if v, err := conn.Call(ctx, "bridge_fixtures", "echo", counts); err != nil || v.Decode(&back) != nil || !reflect.DeepEqual(back, counts) {
		t.Errorf("a map[string]int64 of 2500 came back as %d entries (%v)", len(back), err)
	}
	if got := interfaceOf(t, conn, "echo", names); !reflect.DeepEqual(got, names) {
		t.Errorf("a map[any]any of 2500 did not come back as sent")
	}
	// Records that repeat 300 keys: the pickle refers back to each key (memo indexes past
	// 255 take LONG_BINGET), and every record arrives whole.
	records := make([]any, 100)
	for i := range records {
		record := map[string]any{}
		for k := range 300 {
			record[fmt.Sprint("field", k)] = i * k
		}
		records[i] = record
	}
	var gotRecords []map[string]int
	if v, err := conn.Call(ctx, "bridge_fixtures", "echo", records); err != nil || v.Decode(&gotRecords) != nil ||
		len(gotRecords) != 100 || len(gotRecords[99]) != 300 || gotRecords[99]["field299"] != 99*299 || gotRecords[7]["field3"] != 21 {
		t.Errorf("100 records of 300 keys came back as %d (%v)", len(gotRecords), err)
	}
	nan := make([]float32, 100)
	nan[99] = float32(math.NaN())
	kinds := interfaceOf(t, conn, "echo", map[float32][]float32{1.5: nan}).(map[any]any)
	if f := kinds[1.5].([]any)[99].(float64); !math.IsNaN(f) {
		t.Errorf("NaN in a large slice came back as %v", f)
	}
}

// interfaceOf is bridge_fixtures.fn(arg) as Go values.
func interfaceOf(t *testing.T, conn *rpyc.Conn, fn string, arg any) any {
	t.Helper()
	v, err := conn.Call(context.Background(), "bridge_fixtures", fn, arg)
	if err != nil {
		t.Fatalf("%s(%#v): %v", fn, arg, err)
	}
	x, err := v.Interface()
	if err != nil {
		t.Fatalf("%s(%#v): %v", fn, arg, err)
	}
	return x
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

// Arrays larger than one piece (512 kB) go to the server ahead of their call, in pieces:
// through Call, Ref.Call, SetItem and SetAttr, two in one call, with a size that is not a
// multiple of the piece, and after a call that failed with its pieces already sent.
func TestLargeArraysTravelInPieces(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	const n = 3*512*1024/8 + 12345 // float64s: 3 pieces and a part
	xs := make([]float64, n)
	ys := make([]int32, 2*n)
	for i := range xs {
		xs[i] = float64(i%977) - 0.5
	}
	for i := range ys {
		ys[i] = int32(i % 1013)
	}
	a, b := must(rpyc.NewArray(xs)), must(rpyc.NewArray(ys, 2, n))
	v, err := conn.Call(ctx, "numpy", "copy", a)
	if got, ok := v.Array(); err != nil || !ok || !reflect.DeepEqual(got, a) {
		t.Fatalf("numpy.copy of %d float64s: equal=%v (%v)", n, reflect.DeepEqual(got, a), err)
	}
	// Two in one call: each arrives whole, in its own place.
	v, err = conn.Call(ctx, "bridge_fixtures", "kinds", b)
	if err != nil || v.String() != fmt.Sprintf(`["ndarray","int32",[2,%d]]`, n) {
		t.Fatalf("kinds(b) = %v (%v)", v, err)
	}
	v, err = conn.Call(ctx, "numpy", "concatenate", []any{a, a})
	if got, ok := v.Array(); err != nil || !ok || got.Len() != 2*n {
		t.Fatalf("concatenate((a, a)) = %d values (%v)", got.Len(), err)
	} else if f, _ := got.Float64s(); f[n+977] != xs[977] || f[2*n-1] != xs[n-1] {
		t.Errorf("concatenate((a, a)) put the pieces in the wrong places")
	}
	// A call that fails after its pieces were sent; the next one is not confused by them.
	if _, err := conn.Call(ctx, "numpy", "reshape", a, []int{7, 7}); err == nil {
		t.Fatal("reshape to a wrong size did not fail")
	}
	var sum float64
	v, err = conn.Call(ctx, "numpy", "sum", b)
	if err != nil || v.Decode(&sum) != nil || sum != float64(sumInt32(ys)) {
		t.Errorf("sum(b) = %v (%v), want %d", v, err, sumInt32(ys))
	}
	// Through Refs: a call, and an item and an attribute set on remote objects.
	fixtures, err := conn.Import(ctx, "bridge_fixtures")
	if err != nil {
		t.Fatal(err)
	}
	defer fixtures.Close()
	kinds, err := fixtures.Attr(ctx, "kinds")
	if err != nil {
		t.Fatal(err)
	}
	defer kinds.Close()
	kind, err := kinds.Call(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	var desc []any
	if err := kind.Decode(ctx, &desc); err != nil || fmt.Sprint(desc) != fmt.Sprintf("[ndarray float64 [%d]]", n) {
		t.Errorf("Ref.Call(kinds, a) = %v (%v)", desc, err)
	}
	types, err := conn.Import(ctx, "types")
	if err != nil {
		t.Fatal(err)
	}
	defer types.Close()
	ns, err := types.Attr(ctx, "SimpleNamespace")
	if err == nil {
		ns, err = ns.Call(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if err := ns.SetAttr(ctx, "data", a); err != nil {
		t.Fatal(err)
	}
	data, err := ns.Attr(ctx, "data")
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	var set rpyc.Array
	if err := data.Decode(ctx, &set); err != nil || !reflect.DeepEqual(set, a) {
		t.Errorf("ns.data = a came back different (%v)", err)
	}
	d, err := ns.Attr(ctx, "__dict__")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.SetItem(ctx, "b", b); err != nil {
		t.Fatal(err)
	}
	got, err := d.Item(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	var back rpyc.Array
	if err := got.Decode(ctx, &back); err != nil || !reflect.DeepEqual(back, b) {
		t.Errorf("d[\"b\"] = b came back different (%v)", err)
	}
}

func sumInt32(xs []int32) (s int64) {
	for _, x := range xs {
		s += int64(x)
	}
	return s
}

// Results over 4 MB: their pieces put together in Rust's memory, copied into Go memory
// advised to use huge pages. Each comes back whole, and each Decode makes its own copy.
func TestLargeResultsArriveWhole(t *testing.T) {
	conn := dial(t)
	ctx := context.Background()
	eval := func(expr string) rpyc.Value {
		v, err := conn.Call(ctx, "builtins", "eval", expr)
		if err != nil {
			t.Fatalf("eval(%q): %v", expr, err)
		}
		return v
	}
	var s string
	if err := eval(`'é' * 3_000_000 + 'z'`).Decode(&s); err != nil || s != strings.Repeat("é", 3_000_000)+"z" {
		t.Errorf("a 6 MB str: %d bytes, ends %q (%v)", len(s), s[max(0, len(s)-3):], err)
	}
	var b []byte
	want := []byte(strings.Repeat(string(rune(0))+"\x01\x7f", 2_000_001))
	if err := eval(`b'\x00\x01\x7f' * 2_000_001`).Decode(&b); err != nil || string(b) != string(want) {
		t.Errorf("6 MB of bytes: %d bytes, equal=%v (%v)", len(b), string(b) == string(want), err)
	}
	ints := eval(`list(range(-5, 1_000_000))`)
	var xs, ys []int64
	if err := ints.Decode(&xs); err != nil || len(xs) != 1_000_005 || xs[0] != -5 || xs[len(xs)-1] != 999_999 {
		t.Fatalf("8 MB of ints: %d of them (%v)", len(xs), err)
	}
	xs[0] = 42
	if err := ints.Decode(&ys); err != nil || ys[0] != -5 || ys[1_000_004] != 999_999 {
		t.Errorf("a second Decode saw the first one's change: %d (%v)", ys[0], err)
	}
}
