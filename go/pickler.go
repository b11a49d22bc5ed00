package rpyc

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"unicode/utf8"
)

// Large containers of plain Go data (maps, slices of scalars, strings, bytes and such
// containers) go to Python as one pickle, {"$pickle": i}, as large results come back
// (pickle.go). Python's C unpickler reads it far faster than json.loads reads the same
// data as text, and the receiving side loads it with every global refused
// (wireformat.plain_unpickle), so a pickle can only ever hold data.
//
// The pickle holds what encode.go's JSON would: slices as tuples, maps as dicts (in Go's
// map order: unsorted, unlike the JSON of small maps), float32 as its shortest decimal.
// A value the JSON has a tag or a special case for (Refs, Callbacks, Arrays, *big.Int,
// json.Marshalers, structs, invalid UTF-8) makes pickle return false: the container then
// goes as JSON, which encodes or refuses it.

// pickleMin: maps and slices at least this long are pickled (wireformat.PICKLE_MIN).
const pickleMin = 64

// setItemsBatch: dict items per SETITEMS, as Python's pickler batches them.
const setItemsBatch = 1000

var (
	marshalerType = reflect.TypeFor[json.Marshaler]()
	bytesType     = reflect.TypeFor[[]byte]()
	// What encode.go writes as a tag, or as encoding/json does: never pickled.
	notPickled = map[reflect.Type]bool{
		reflect.TypeFor[*Ref](): true, reflect.TypeFor[*Callback](): true,
		reflect.TypeFor[Array](): true, reflect.TypeFor[*Array](): true,
		reflect.TypeFor[*big.Int](): true,
	}
)

// pickled writes v, a map or slice, as {"$pickle": i} when it is large and plain data,
// and says whether it did. When it tried and could not, the JSON of v's contents tries no
// pickle again until restore.
func (p *payload) pickled(v reflect.Value, depth int) (done bool, restore func()) {
	if v.Len() < pickleMin || p.inline || p.noPickle > 0 {
		return false, func() {}
	}
	w := pickler{out: make([]byte, 0, 4096)}
	w.out = append(w.out, opProto, pickleProtocol)
	if !w.value(v, depth) {
		p.noPickle++
		return false, func() { p.noPickle-- }
	}
	w.out = append(w.out, opStop)
	p.buffers = append(p.buffers, w.out)
	p.json.WriteString(`{"$pickle":`)
	p.json.WriteString(strconv.Itoa(len(p.buffers) - 1))
	p.json.WriteByte('}')
	return true, nil
}

type pickler struct {
	out  []byte
	keys keyMemo
}

// keyMemo memoizes dict keys: records repeat a few keys, and a memoized key loads as the
// same str again (BINGET), not as a new one that must be made and hashed (loading 1M
// records took 1.4x as long without). After keyMemoTrial keys that mostly did not repeat
// (a dict of unique keys), it stops looking.
type keyMemo struct {
	index        map[string]uint32
	hits, misses int
}

const (
	keyMemoTrial = 256
	keyMemoMax   = 1 << 16 // memo entries at most
	keyMemoLen   = 64      // longer keys are not memoized
)

// key writes a dict key that is a str; false for invalid UTF-8, as str.
func (w *pickler) key(s string) bool {
	m := &w.keys
	if len(s) > keyMemoLen || (m.misses > keyMemoTrial && m.misses > m.hits) {
		return w.str(s)
	}
	if i, ok := m.index[s]; ok {
		m.hits++
		if i <= maxShortOperand {
			w.out = append(w.out, opBinGet, byte(i))
		} else {
			w.out = binary.LittleEndian.AppendUint32(append(w.out, opLongBinGet), i)
		}
		return true
	}
	m.misses++
	if !w.str(s) {
		return false
	}
	if len(m.index) < keyMemoMax {
		if m.index == nil {
			m.index = map[string]uint32{}
		}
		m.index[s] = uint32(len(m.index)) // MEMOIZE numbers entries in order
		w.out = append(w.out, opMemoize)
	}
	return true
}

// anyValue writes the dynamic types of decoded JSON-like data without reflection.
func (w *pickler) anyValue(x any, depth int) bool {
	switch x := x.(type) {
	case nil:
		w.out = append(w.out, opNone)
	case bool:
		w.bool(x)
	case int:
		w.int(int64(x))
	case int64:
		w.int(x)
	case float64:
		w.float(x)
	case string:
		return w.str(x)
	case []any:
		if depth > maxDepth {
			return false
		}
		w.out = append(w.out, opMark)
		for _, item := range x {
			if !w.anyValue(item, depth+1) {
				return false
			}
		}
		w.out = append(w.out, opTuple)
	case map[string]any:
		if depth > maxDepth {
			return false
		}
		return pickleMap(w, x, func(item any) bool { return w.anyValue(item, depth+1) })
	default:
		return w.value(reflect.ValueOf(x), depth)
	}
	return true
}

// value writes any other value, by reflection; false for one that is not plain data.
func (w *pickler) value(v reflect.Value, depth int) bool {
	if depth > maxDepth {
		return false
	}
	if !v.IsValid() {
		w.out = append(w.out, opNone)
		return true
	}
	t := v.Type()
	if notPickled[t] || (t.NumMethod() > 0 && t.Implements(marshalerType)) {
		return false
	}
	if k := v.Kind(); k == reflect.Map || k == reflect.Slice {
		// The common containers without reflection per item.
		switch x := v.Interface().(type) {
		case map[string]int64:
			return pickleMap(w, x, func(n int64) bool { w.int(n); return true })
		case map[string]int:
			return pickleMap(w, x, func(n int) bool { w.int(int64(n)); return true })
		case map[string]float64:
			return pickleMap(w, x, func(f float64) bool { w.float(f); return true })
		case map[string]string:
			return pickleMap(w, x, w.str)
		case map[string]any, []any:
			return w.anyValue(x, depth)
		}
	}
	switch v.Kind() {
	case reflect.Bool:
		w.bool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.int(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		w.uint(v.Uint())
	case reflect.Float32:
		// As the JSON has it: the shortest decimal that reads back as this float32.
		f, _ := strconv.ParseFloat(strconv.FormatFloat(v.Float(), 'g', -1, 32), 64)
		w.float(f)
	case reflect.Float64:
		w.float(v.Float())
	case reflect.String:
		return w.str(v.String())
	case reflect.Slice, reflect.Array:
		if t == bytesType {
			w.bytes(v.Bytes())
			return true
		}
		if v.Len() == 0 {
			w.out = append(w.out, opEmptyTuple)
			return true
		}
		w.out = append(w.out, opMark)
		for i := range v.Len() {
			if !w.value(v.Index(i), depth+1) {
				return false
			}
		}
		w.out = append(w.out, opTuple)
	case reflect.Map:
		d := w.dict()
		for it := v.MapRange(); it.Next(); {
			d.item()
			k := it.Key()
			if k.Kind() == reflect.String && !notPickled[k.Type()] && k.Type().NumMethod() == 0 {
				if !w.key(k.String()) || !w.value(it.Value(), depth+1) {
					return false
				}
				continue
			}
			if !w.value(k, depth+1) || !w.value(it.Value(), depth+1) {
				return false
			}
		}
		d.end()
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			w.out = append(w.out, opNone)
			return true
		}
		return w.value(v.Elem(), depth+1)
	default:
		return false // structs (as encoding/json makes them), and what has no mapping
	}
	return true
}

// pickleMap writes a map with string keys as a dict, each value by item.
func pickleMap[V any](w *pickler, m map[string]V, item func(V) bool) bool {
	d := w.dict()
	for k, x := range m {
		d.item()
		if !w.key(k) || !item(x) {
			return false
		}
	}
	d.end()
	return true
}

// dictItems writes a dict's items in batches: MARK, setItemsBatch key-value pairs,
// SETITEMS. Call item before each pair, and end after the last.
type dictItems struct {
	w *pickler
	n int
}

func (w *pickler) dict() *dictItems {
	w.out = append(w.out, opEmptyDict)
	return &dictItems{w: w}
}

func (d *dictItems) item() {
	if d.n > 0 && d.n%setItemsBatch == 0 {
		d.w.out = append(d.w.out, opSetItems)
	}
	if d.n%setItemsBatch == 0 {
		d.w.out = append(d.w.out, opMark)
	}
	d.n++
}

func (d *dictItems) end() {
	if d.n > 0 {
		d.w.out = append(d.w.out, opSetItems)
	}
}

func (w *pickler) bool(b bool) {
	if b {
		w.out = append(w.out, opTrue)
	} else {
		w.out = append(w.out, opFalse)
	}
}

func (w *pickler) int(n int64) {
	switch {
	case n >= 0 && n <= math.MaxUint8:
		w.out = append(w.out, opBinInt1, byte(n))
	case n >= 0 && n <= math.MaxUint16:
		w.out = append(w.out, opBinInt2, byte(n), byte(n>>8))
	case n >= math.MinInt32 && n <= math.MaxInt32:
		w.out = binary.LittleEndian.AppendUint32(append(w.out, opBinInt), uint32(n))
	default:
		w.out = binary.LittleEndian.AppendUint64(append(w.out, opLong1, 8), uint64(n))
	}
}

func (w *pickler) uint(n uint64) {
	if n <= math.MaxInt64 {
		w.int(int64(n))
		return
	}
	// A ninth byte, 0: the sign of LONG1's two's complement.
	w.out = append(binary.LittleEndian.AppendUint64(append(w.out, opLong1, 9), n), 0)
}

func (w *pickler) float(f float64) {
	w.out = binary.BigEndian.AppendUint64(append(w.out, opBinFloat), math.Float64bits(f))
}

// str writes s; false for invalid UTF-8, which the JSON replaces as encoding/json does.
func (w *pickler) str(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	w.sized(len(s), opShortUnicode, opBinUnicode, opBinUnicode8)
	w.out = append(w.out, s...)
	return true
}

func (w *pickler) bytes(b []byte) {
	w.sized(len(b), opShortBinBytes, opBinBytes, opBinBytes8)
	w.out = append(w.out, b...)
}

// sized writes the opcode for a payload of n bytes and its length operand.
func (w *pickler) sized(n int, short, medium, long byte) {
	switch {
	case n <= maxShortOperand:
		w.out = append(w.out, short, byte(n))
	case n <= maxMediumOperand:
		w.out = binary.LittleEndian.AppendUint32(append(w.out, medium), uint32(n))
	default:
		w.out = binary.LittleEndian.AppendUint64(append(w.out, long), uint64(n))
	}
}
