package rpyc

import (
	"bytes"
	"math"
	"reflect"
	"testing"
)

// The Go half of the wire form, fuzzed without a server. `go test` runs the seeds (and
// testdata/fuzz/); scripts/fuzz.sh fuzzes each target for a bounded time.

// encodeOne is a value's tagged JSON and buffers, as a call argument would carry them.
func encodeOne(v any) ([]byte, [][]byte, error) {
	p := &payload{}
	if err := p.encode(v); err != nil {
		return nil, nil, err
	}
	return p.json.Bytes(), p.buffers, nil
}

// FuzzDecode: any text and buffer decode to a value or an error, never a panic; what
// decodes re-encodes, and encoding is stable across a second round trip.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`[1, 2.5, "x", null, true]`,
		`{"a": [{"$bytes": 0}], "b": {"$float": "nan"}}`,
		`{"$array": ["float64", [2, 1], 0]}`,
		`{"$array": ["uint8", [-1], 0]}`,
		`{"$dict": [[1, "one"], [[1, 2], {"$float": "-inf"}]]}`,
		`{"$dict": [[[1], 2]]}`,
		`{"$ref": 3}`,
		`123456789012345678901234567890`,
		`{"$bytes": 5}`,
	} {
		f.Add([]byte(seed), []byte{0, 0, 0, 0, 0, 0, 240, 63, 0, 0, 0, 0, 0, 0, 0, 64})
	}
	f.Fuzz(func(t *testing.T, text, buf []byte) {
		newRef := func(h uint64) *Ref { return &Ref{} }
		tree, err := decodeTree(text, viewed([][]byte{buf}), newRef)
		if err != nil {
			return
		}
		j1, b1, err := encodeOne(tree)
		if err != nil {
			return // e.g. a *Ref without its Conn: refused, not a crash
		}
		tree2, err := decodeTree(j1, viewed(b1), newRef)
		if err != nil {
			t.Fatalf("our own encoding %s does not decode: %v", j1, err)
		}
		j2, b2, err := encodeOne(tree2)
		if err != nil || !bytes.Equal(j1, j2) || !reflect.DeepEqual(b1, b2) {
			t.Fatalf("unstable round trip: %s then %s (%v)", j1, j2, err)
		}
		// Decoding into typed destinations fails cleanly or succeeds.
		for _, dst := range []any{new(any), new(int), new(float64), new(string), new([]float64),
			new([][]float64), new(map[string]any), new(map[int]string), new(Array), new([]byte)} {
			_ = assign(reflect.ValueOf(dst).Elem(), tree)
		}
	})
}

// FuzzEncodeRoundTrip: Go values made of fuzzed parts come back as the same values.
func FuzzEncodeRoundTrip(f *testing.F) {
	f.Add(int64(-3), 2.5, "x", []byte{1, 2, 3}, true)
	f.Add(int64(math.MaxInt64), math.Inf(-1), "$dict", []byte{}, false)
	f.Add(int64(0), math.NaN(), "\x00\xff\"\\", []byte{0, 0, 0, 0, 0, 0, 0, 0}, true)
	f.Fuzz(func(t *testing.T, i int64, x float64, s string, b []byte, flag bool) {
		floats := make([]float64, len(b)/8)
		for k := range floats {
			floats[k] = float64(b[k*8]) * x
		}
		arr, err := NewArray(floats, len(floats))
		if err != nil {
			t.Fatal(err)
		}
		in := []any{i, x, s, b, flag, nil, map[string]any{s: i}, map[any]any{i: s, flag: x}, arr, []any{[]any{s}}}
		text, bufs, err := encodeOne(in)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		tree, err := decodeTree(text, viewed(bufs), nil)
		if err != nil {
			t.Fatalf("decode %s: %v", text, err)
		}
		out := tree.([]any)
		s = string([]rune(s)) // invalid UTF-8 travels as U+FFFD, byte by byte, as in encoding/json
		if out[0] != i || out[2] != s || !bytes.Equal(out[3].([]byte), b) || out[4] != flag || out[5] != nil {
			t.Fatalf("scalars: %#v from %s", out[:6], text)
		}
		if got := out[1].(float64); got != x && !(math.IsNaN(got) && math.IsNaN(x)) {
			t.Fatalf("float %v came back as %v", x, got)
		}
		var got any // keys starting with "$" travel as a $dict, and come back as map[any]any
		switch m := out[6].(type) {
		case map[string]any:
			got = m[s]
		case map[any]any:
			got = m[s]
		}
		if got != i {
			t.Fatalf("map value %v came back as %v", i, got)
		}
		back, ok := out[8].(Array)
		if !ok {
			t.Fatalf("array came back as %T", out[8])
		}
		values, _ := back.Float64s()
		if len(values) != len(floats) {
			t.Fatalf("array of %d came back with %d", len(floats), len(values))
		}
		for k := range values {
			if values[k] != floats[k] && !(math.IsNaN(values[k]) && math.IsNaN(floats[k])) {
				t.Fatalf("array[%d]: %v came back as %v", k, floats[k], values[k])
			}
		}
	})
}

// A pickle a server sends decodes or fails, never panics, and typed decoding, or decoding
// in shares, takes only what the general path stores the same.
func FuzzPickle(f *testing.F) {
	for _, seed := range []string{
		"\x80\x05\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94K\x01\x8c\x01b\x94J\xff\xff\xff\xffu.",
		"\x80\x05]\x94(\x8c\x01x\x94h\x01G?\xf8\x00\x00\x00\x00\x00\x00N\x88e.",
		"\x80\x05]\x94(\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00K\x02M\x00\x01e.",
		"\x80\x05(\x8f\x94(K\x01\x90C\x02hi)\x85t.",
		"\x80\x05]\x94h\x00a.",
		"\x80\x05](]]]e(]]]e.",
		"\x80\x05](](K\x01e}e(]\x94h\x00]e.",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, treeErr := unpickle(data)
		// Decoded in shares (pickle_split.go), it is what one pass makes, or is left to it.
		if shared, ok := unpickleShares(data, 2); ok && (treeErr != nil || !reflect.DeepEqual(shared, tree)) {
			t.Fatalf("shares made %v; one pass %v, %v", shared, tree, treeErr)
		}
		for _, typed := range []any{new(map[string]int64), new(map[string]float64), new(map[string]string),
			new([]int64), new([]float64), new([]string), new([]bool)} {
			if !decodePickled(data, typed) {
				continue
			}
			general := reflect.New(reflect.TypeOf(typed).Elem())
			if treeErr != nil {
				t.Fatalf("typed decoding took a pickle the unpickler refuses: %v", treeErr)
			}
			if err := assign(general.Elem(), tree); err != nil {
				t.Fatalf("typed decoding into %T took what the general path refuses: %v", typed, err)
			}
			if !reflect.DeepEqual(general.Interface(), typed) {
				t.Fatalf("into %T: typed %v, general %v", typed, typed, general.Interface())
			}
		}
	})
}
