package rpyc

import "math"

// Typed decoding of a whole-result pickle: Decode into a map[string]T or a []T, T int64,
// float64 or string, reads a flat pickled dict or list straight into it, with no boxed
// items and no map[string]any to copy from. Anything else, or an item that does not
// convert exactly, returns false and the general path (unpickle, then assign) decides.
// (More types would cost the 15 MB binary budget more than they save.)

// decodePickled stores the pickle in dst when dst is one of the typed shapes.
func decodePickled(data []byte, dst any) bool {
	switch d := dst.(type) {
	case *map[string]int64:
		return typedMap(data, d, toInt64)
	case *map[string]float64:
		return typedMap(data, d, toFloat64)
	case *map[string]string:
		return typedMap(data, d, toString)
	case *[]int64:
		return typedSlice(data, d, toInt64)
	case *[]float64:
		return typedSlice(data, d, toFloat64)
	case *[]string:
		return typedSlice(data, d, toString)
	}
	return false
}

// The conversions assign makes for these types (None is the zero value).
func toInt64(a atom) (int64, bool) { return a.i, a.kind == atomInt || a.kind == atomNone }

func toFloat64(a atom) (float64, bool) {
	switch a.kind {
	case atomFloat:
		return a.float(), true
	case atomInt:
		return float64(a.i), true
	}
	return 0, a.kind == atomNone
}

func toString(a atom) (string, bool) { return string(a.b), a.kind == atomStr || a.kind == atomNone }

// typedMap reads the items first and then fills a map of their number: a map that grows
// as it goes costs three times as much (10k entries: 1.4 ms against 0.45 ms). Keys are
// kept as where they are in the pickle until then (mapfill.go).
func typedMap[T any](data []byte, dst *map[string]T, conv func(atom) (T, bool)) bool {
	if len(data) > math.MaxUint32 {
		return false // where a key is would not fit a mapItem
	}
	var items itemChunks[mapItem[T]]
	var memo []int
	ok := walkFlat(data, opEmptyDict, &memo, func(k, v atom) bool {
		x, ok := conv(v)
		if k.kind != atomStr || !ok {
			return false
		}
		// k.b is a view of data, so what is past it tells where it starts.
		items.add(mapItem[T]{at: uint32(cap(data) - cap(k.b)), n: uint32(len(k.b)), value: x})
		return true
	})
	if !ok {
		return false
	}
	*dst = fillMap(data, &items)
	return true
}

// flatDict is a pickled dict of str keys and scalar values as the general path makes it,
// but filled as typedMap fills one (in hash order when large).
func flatDict(data []byte) (map[string]any, bool) {
	var u unpickler // only its slabs, for the values
	var m map[string]any
	ok := typedMap(data, &m, func(a atom) (any, bool) { return u.box(&a), true })
	return m, ok
}

func typedSlice[T any](data []byte, dst *[]T, conv func(atom) (T, bool)) bool {
	out, memo := []T{}, []int(nil)
	ok := walkFlat(data, opEmptyList, &memo, func(_, v atom) bool {
		x, ok := conv(v)
		out = grown(out, x)
		return ok
	})
	if ok {
		*dst = out
	}
	return ok
}

// walkFlat reads a pickle that is one list or dict (root) of scalars, as Python's pickler
// writes it (items in MARK ... APPENDS/SETITEMS batches, or one APPEND/SETITEM), calling
// item for each item or key, value pair. False at the first opcode outside that shape, or
// when item returns false. *scratch holds the memo, kept for the next walk.
func walkFlat(data []byte, root byte, scratch *[]int, item func(k, v atom) bool) bool {
	u := &unpickler{data: data}
	pairs, single := 1, byte(opAppend) // items per call of item; the opcode that adds one
	if root == opEmptyDict {
		pairs, single = 2, opSetItem
	}
	var (
		started, inMark bool
		top             = -1             // the stack's top: the root (-1), or where its atom starts
		memo            = (*scratch)[:0] // what each memo index holds, as top does
		held            []atom           // items since the mark, or one not yet added (no mark)
	)
	defer func() { *scratch = memo }()
	// hold takes the atom that starts at data[at]; in a batch, a whole item goes to item.
	hold := func(a *atom, at int) bool {
		if !started || (!inMark && len(held) == pairs) {
			return false
		}
		held, top = append(held, *a), at
		if inMark && len(held) == pairs {
			if !item(held[0], held[pairs-1]) {
				return false
			}
			held = held[:0]
		}
		return true
	}
	for {
		op, at, isAtom, err := u.next()
		if err != nil {
			return false
		}
		if isAtom {
			if !hold(&u.cur, at) {
				return false
			}
			continue
		}
		switch op {
		case root:
			if started {
				return false
			}
			started = true
		case opMemoize:
			if !started {
				return false
			}
			memo = grown(memo, top)
		case opBinPut, opLongBinPut:
			var i uint64
			if i, err = u.uint(width(op == opBinPut, 1, 4)); err != nil || i >= uint64(len(data)) || !started {
				return false
			}
			for uint64(len(memo)) <= i {
				memo = grown(memo, -1)
			}
			memo[i] = top
		case opBinGet, opLongBinGet:
			// A memoized atom again (a repeated str): read it where it first came.
			var i uint64
			if i, err = u.uint(width(op == opBinGet, 1, 4)); err != nil || i >= uint64(len(memo)) || memo[i] < 0 {
				return false
			}
			again := unpickler{data: data, pos: memo[i] + 1}
			if _, err = again.atom(data[memo[i]]); err != nil || !hold(&again.cur, memo[i]) {
				return false
			}
		case opMark:
			if inMark || len(held) != 0 || !started {
				return false
			}
			inMark = true
		case opAppends, opSetItems:
			if !inMark || len(held) != 0 || (op == opSetItems) != (root == opEmptyDict) {
				return false
			}
			inMark, top = false, -1
		case single:
			if inMark || len(held) != pairs || !item(held[0], held[pairs-1]) {
				return false
			}
			held, top = held[:0], -1
		case opStop:
			return started && !inMark && len(held) == 0 && u.pos == len(data)
		default:
			return false
		}
	}
}
