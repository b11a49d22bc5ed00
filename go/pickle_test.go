package rpyc

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// pythonPickles runs the venv's CPython: each expression pickled (protocol 5) with a memo,
// as wireformat.plain_pickle pickles what shares objects.
func pythonPickles(t *testing.T, exprs []string) [][]byte { return runPickler(t, exprs, false) }

// serverPickles: each pickled as wireformat.plain_pickle pickles most results, with no
// memo (the pickler's fast mode).
func serverPickles(t *testing.T, exprs []string) [][]byte { return runPickler(t, exprs, true) }

func runPickler(t *testing.T, exprs []string, fast bool) [][]byte {
	t.Helper()
	python, _ := filepath.Abs("../.venv/bin/python")
	script := `import io, json, pickle, sys
def dumps(v):
    f = io.BytesIO(); p = pickle.Pickler(f, protocol=5); p.fast = sys.argv[1] == "true"; p.dump(v)
    return f.getvalue()
print(json.dumps([dumps(eval(e)).hex() for e in json.load(sys.stdin)]))`
	in, _ := json.Marshal(exprs)
	cmd := exec.Command(python, "-c", script, fmt.Sprint(fast))
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", python, err)
	}
	var texts []string
	if err := json.Unmarshal(out, &texts); err != nil {
		t.Fatal(err)
	}
	pickles := make([][]byte, len(texts))
	for i, h := range texts {
		pickles[i], _ = hex.DecodeString(h)
	}
	return pickles
}

// Typed decoding (pickle_typed.go) must store what the general path stores, or step
// aside: for every pickle and target type, the same value or the same error.
func TestTypedDecodingStoresWhatTheGeneralPathStores(t *testing.T) {
	cases := []struct {
		expr string
		fast []string // the targets the typed path must take itself
	}{
		{`{"k%d" % i: i for i in range(3000)}`, []string{"map[string]int64", "map[string]float64"}},
		{`{"k%d" % i: (i if i % 3 else None) for i in range(100)}`, []string{"map[string]int64", "map[string]float64"}},
		{`{"k%d" % i: 2**70 + i for i in range(100)}`, nil},
		{`{"k%d" % i: i % 2 == 0 for i in range(100)}`, nil},
		{`{"k%d" % i: "v%d" % (i % 5) for i in range(100)}`, []string{"map[string]string"}},
		{`{"k%d" % i: i * 0.5 for i in range(100)}`, []string{"map[string]float64"}},
		{`{"k%d" % i: [i] for i in range(100)}`, nil},
		{`{i: "v" for i in range(100)}`, nil},
		{`{"é" * 300: 1, "": 2}`, []string{"map[string]int64"}},
		{`{}`, []string{"map[string]int64", "map[string]string"}},
		{`["s%d" % (i % 7) for i in range(2500)]`, []string{"[]string"}},
		{`[i * 0.5 for i in range(100)] + [1]`, []string{"[]float64"}},
		{`[-1, -300, 70000, -(2**31), 2**31, 2**63 - 1, -(2**63)] * 20`, []string{"[]int64", "[]float64"}},
		{`[1] * 64 + [2**63]`, nil},
		{`[True, False, None] * 30`, nil},
		{`["é" * 100, "", "x" * 70000] * 40`, []string{"[]string"}},
		{`tuple(range(100))`, nil},
		{`[[1, 2]] * 70`, nil},
		{`[b"x"] * 70`, nil},
		{`[]`, []string{"[]int64", "[]string"}},
		{`(lambda l: (l.append(l), l)[1])([])`, nil}, // a list that holds itself
	}
	targets := map[string]func() any{
		"map[string]int64": func() any { return new(map[string]int64) }, "map[string]int": func() any { return new(map[string]int) },
		"map[string]float64": func() any { return new(map[string]float64) }, "map[string]string": func() any { return new(map[string]string) },
		"map[string]bool": func() any { return new(map[string]bool) },
		"[]int64":         func() any { return new([]int64) }, "[]int": func() any { return new([]int) },
		"[]float64": func() any { return new([]float64) }, "[]string": func() any { return new([]string) },
		"[]bool": func() any { return new([]bool) },
	}
	exprs := make([]string, len(cases))
	for i, c := range cases {
		exprs[i] = c.expr
	}
	for i, data := range pythonPickles(t, exprs) {
		c := cases[i]
		tree, treeErr := unpickle(data)
		for name, target := range targets {
			general, typed := target(), target()
			err := treeErr
			if err == nil {
				err = assign(reflect.ValueOf(general).Elem(), tree)
			}
			took := decodePickled(data, typed)
			switch {
			case took && err != nil:
				t.Errorf("%s into %s: typed decoding took it, the general path says %v", c.expr, name, err)
			case took && !reflect.DeepEqual(general, typed):
				t.Errorf("%s into %s: typed %v, general %v", c.expr, name, abbrev(typed), abbrev(general))
			case !took && strings.Contains(" "+strings.Join(c.fast, " ")+" ", " "+name+" "):
				t.Errorf("%s into %s: typed decoding stepped aside (general: %v)", c.expr, name, err)
			}
		}
	}
}

func abbrev(v any) string {
	s, _ := json.Marshal(v)
	if len(s) > 200 {
		s = append(s[:200], "..."...)
	}
	return string(s)
}

// What no pickle from Python's pickler holds, but a server could send: each is an error,
// not a crash or a wrong value.
func TestUnpicklerRefusesWhatIsNotPlainData(t *testing.T) {
	deep := append(bytes.Repeat([]byte{opEmptyList}, 5000), bytes.Repeat([]byte{opAppend}, 4999)...)
	for name, data := range map[string][]byte{
		"nested 5000 deep":         append(append([]byte{opProto, 5}, deep...), opStop),
		"a list that holds itself": []byte("\x80\x05]\x94h\x00a."),
		"changed after its use":    []byte("\x80\x05]\x94h\x00\x850K\x01a."), // (l,), then l.append(1)
		"a global":                 []byte("\x80\x05\x8c\x02os\x8c\x06system\x93."),
		"no STOP":                  []byte("\x80\x05]"),
		"a key that is a list":     []byte("\x80\x05}]K\x01s."),
		"a dangling memo":          []byte("\x80\x05h\x05."),
		"a length beyond the data": []byte("\x80\x05X\xff\xff\xff\x7f."),
	} {
		if v, err := unpickle(data); err == nil {
			t.Errorf("%s: decoded to %v", name, abbrev(v))
		}
		if typed := new([]int64); decodePickled(data, typed) {
			t.Errorf("%s: typed decoding took it", name)
		}
	}
}

// A Value from a pickle is decoded on first use, typed or not, from any goroutine.
func TestPickledValueDecodesOnceUnderConcurrentUse(t *testing.T) {
	data := pythonPickles(t, []string{`{"k%d" % i: i for i in range(5000)}`})[0]
	v := Value{later: &deferred{pickle: data}}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m map[string]int64
			if i%2 == 0 {
				if err := v.Decode(&m); err != nil || len(m) != 5000 || m["k4999"] != 4999 {
					t.Errorf("Decode: %d entries (%v)", len(m), err)
				}
				return
			}
			x, err := v.Interface()
			if got, _ := x.(map[string]any); err != nil || len(got) != 5000 || got["k7"] != int64(7) {
				t.Errorf("Interface: %v", err)
			}
		}()
	}
	wg.Wait()
	if s := v.String(); !strings.HasPrefix(s, `{"k`) || !strings.Contains(s, `"k4999":4999`) {
		t.Errorf("String: %.40s", s)
	}
}

// A packed list result ($list) is kept typed: Decode into []int64, []float64 or []int
// stores what the general path stores, from a Value used no other way first.
func TestPackedListResultsDecodeAsTheGeneralPathDoes(t *testing.T) {
	ints, floats := make([]byte, 0, 8*300), make([]byte, 0, 8*300)
	for i := range 300 {
		ints = binary.LittleEndian.AppendUint64(ints, uint64(int64(i*i-5000)))
		floats = binary.LittleEndian.AppendUint64(floats, math.Float64bits(float64(i)/3))
	}
	for _, wire := range []struct{ text, data string }{
		{`{"$list":["int64",0]}`, string(ints)}, {`{"$list":["float64",0]}`, string(floats)},
		{`{"$list":["int64",0]}`, ""},
	} {
		for _, target := range []func() any{
			func() any { return new([]int64) }, func() any { return new([]float64) }, func() any { return new([]int) },
			func() any { return new([]any) }, func() any { return new([]int32) },
		} {
			later := deferredValue([]byte(wire.text), viewed([][]byte{[]byte(wire.data)}))
			if later == nil {
				t.Fatalf("%s was not kept typed", wire.text)
			}
			typed, general := target(), target()
			typedErr := Value{later: later}.Decode(typed)
			tree, _ := decodeTree([]byte(wire.text), viewed([][]byte{[]byte(wire.data)}), nil)
			generalErr := assign(reflect.ValueOf(general).Elem(), tree)
			if (typedErr == nil) != (generalErr == nil) || (typedErr == nil && !reflect.DeepEqual(typed, general)) {
				t.Errorf("%s (%d bytes) into %T: %v (%v), the general path %v (%v)", wire.text, len(wire.data),
					typed, abbrev(typed), typedErr, abbrev(general), generalErr)
			}
		}
	}
}

// Decoded values point into the unpickler's slabs (slab.go): what is kept must stay
// intact after the rest is collected and its memory reused.
func TestUnpickledValuesOutliveTheRestOfTheirSlabs(t *testing.T) {
	record := func(i int) any {
		return map[string]any{
			"id": int64(i - 1500), "big": int64(1<<40 + i), "name": fmt.Sprintf("item%d", i),
			"long": strings.Repeat("é", i%100), "score": float64(i) * 0.5,
			"tags": []any{"a", fmt.Sprintf("b%d", i%3)}, "pair": []any{int64(i), "x"},
		}
	}
	data := pythonPickles(t, []string{`[{"id": i - 1500, "big": 2**40 + i, "name": "item%d" % i,
		"long": "é" * (i % 100), "score": i * 0.5, "tags": ["a", "b%d" % (i % 3)], "pair": (i, "x")}
		for i in range(3000)]`})[0]
	tree, err := unpickle(data)
	if err != nil {
		t.Fatal(err)
	}
	kept := map[int]any{}
	for i, v := range tree.([]any) {
		if i%97 == 0 {
			kept[i] = v
		}
	}
	tree = nil
	for range 3 {
		runtime.GC()
		churn := make([][]float64, 0, 4096)
		for range 4096 {
			churn = append(churn, []float64{math.NaN(), -1, math.MaxFloat64})
		}
		runtime.KeepAlive(churn)
	}
	for i, v := range kept {
		if want := record(i); !reflect.DeepEqual(v, want) {
			t.Fatalf("record %d after collection: %v, want %v", i, v, want)
		}
	}
}

// An unpickler's stack, memo and containers are kept for the next decode (slab.go,
// scratch): no result may hold any of them, nor may a decode that failed half-way leave
// anything in them.
func TestDecodesDoNotShareTheirScratch(t *testing.T) {
	data := pythonPickles(t, []string{
		`[{"id": i, "name": "item%d" % i, "tags": ["a", "b%d" % i], "pair": (i, [i])} for i in range(3000)]`,
		`[{"id": -i, "name": "other%d" % i, "tags": ["c", "d"], "pair": ([], i)} for i in range(5000)]`,
	})
	want := make([]any, 3000)
	for i := range want {
		want[i] = map[string]any{"id": int64(i), "name": fmt.Sprintf("item%d", i),
			"tags": []any{"a", fmt.Sprintf("b%d", i)}, "pair": []any{int64(i), []any{int64(i)}}}
	}
	first, err := unpickle(data[0])
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := unpickle(data[1]); err != nil {
			t.Fatal(err)
		}
		if _, err := unpickle(data[1][:len(data[1])/2]); err == nil {
			t.Fatal("half a pickle decoded")
		}
	}
	again, err := unpickle(data[0])
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]any{"the first result": first, "the same pickle again": again} {
		for i, r := range got.([]any) {
			if !reflect.DeepEqual(r, want[i]) {
				t.Fatalf("%s, record %d: %v, want %v", name, i, r, want[i])
			}
		}
	}
}

// A large pickled list is decoded in shares on several cores (pickle_split.go): what
// they make together must be what one pass makes, and a pickle they cannot take whole
// must come out of one pass, value or error, as if they had never tried.
func TestPickleSharesDecodeWhatOnePassDoes(t *testing.T) {
	exprs := []string{
		`[{"id": i, "name": "item%d" % i, "score": i * 0.5, "tags": ["a", "é" * (i % 7)]} for i in range(6000)]`,
		`[(i, [i, (i, "x" * 300)], {"k": {}}) for i in range(9000)]`,
	}
	for i, data := range serverPickles(t, exprs) {
		whole, err := unpickleOnePass(data)
		if err != nil {
			t.Fatal(err)
		}
		for n := 2; n <= splitMost; n++ {
			shared, ok := unpickleShares(data, n)
			if !ok {
				t.Fatalf("%s: not decoded in %d shares", exprs[i][:20], n)
			}
			if !reflect.DeepEqual(shared, whole) {
				t.Fatalf("%s: %d shares made another value", exprs[i][:20], n)
			}
		}
		if got, err := unpickle(data); err != nil || !reflect.DeepEqual(got, whole) {
			t.Fatalf("%s: unpickle: %v", exprs[i][:20], err)
		}
	}
	// A memo pickle, and a list of scalars, are decoded in one pass.
	for _, data := range pythonPickles(t, []string{`[{"id": i} for i in range(20000)]`, `list(range(100000))`}) {
		if _, ok := unpickleShares(data, 2); ok {
			t.Fatalf("decoded in shares: %q...", data[:16])
		}
	}
	// Hand-made ones (each item an empty list, so that they are worth cutting).
	for name, data := range map[string]string{
		"two batches":                  "\x80\x05](]]]e(]]]e.",
		"a STOP before the last":       "\x80\x05](]]]e.(]]]e.",
		"the list popped at the end":   "\x80\x05](]]]e(]]]e0].",
		"a memo in the last share":     "\x80\x05](]]]e(]\x94h\x00]e.",
		"a memo index set elsewhere":   "\x80\x05](]]]e(h\x00]]e.",
		"a MARK left open":             "\x80\x05](]]]e(]]].",
		"an item left on the stack":    "\x80\x05](]]]e(]]]e].",
		"a MARK at the end":            "\x80\x05](]]]e(]]]e(.",
		"bytes past the STOP":          "\x80\x05](]]]e(]]]e.N.",
		"a batch that is not a list's": "\x80\x05](]]]e(]]]u.",
	} {
		whole, wholeErr := unpickleOnePass([]byte(data))
		shared, ok := unpickleShares([]byte(data), 2)
		if cut := name == "two batches" || name == "a memo in the last share"; ok != cut {
			t.Errorf("%s: decoded in shares %v, want %v", name, ok, cut)
		}
		switch {
		case ok && wholeErr != nil:
			t.Errorf("%s: shares decoded what one pass refuses (%v)", name, wholeErr)
		case ok && !reflect.DeepEqual(shared, whole):
			t.Errorf("%s: shares made %v, one pass %v", name, shared, whole)
		}
		got, err := unpickle([]byte(data))
		if !reflect.DeepEqual(got, whole) || fmt.Sprint(err) != fmt.Sprint(wholeErr) {
			t.Errorf("%s: unpickle gave %v, %v; one pass %v, %v", name, got, err, whole, wholeErr)
		}
	}
}
