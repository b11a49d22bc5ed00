package rpyc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"runtime"
	"slices"
)

// Large results of plain Python data (lists, dicts, str, numbers...) come as one pickle,
// {"$pickle": i}: the server's C pickler makes it far faster than any per-object
// encoding, and it refuses every type outside that set (wireformat.plain_pickle), so only
// these opcodes of protocols 2 to 5 occur. They decode to the values of decode.go's table.

// Pickle opcodes: the ones plain data uses (protocols 2 to 5). pickler.go writes some.
const (
	opProto          = 0x80
	opFrame          = 0x95
	opStop           = '.'
	opNone           = 'N'
	opTrue           = 0x88
	opFalse          = 0x89
	opBinInt1        = 'K'
	opBinInt2        = 'M'
	opBinInt         = 'J'
	opLong1          = 0x8a
	opLong4          = 0x8b
	opBinFloat       = 'G'
	opShortUnicode   = 0x8c
	opBinUnicode     = 'X'
	opBinUnicode8    = 0x8d
	opShortBinBytes  = 'C'
	opBinBytes       = 'B'
	opBinBytes8      = 0x8e
	opByteArray8     = 0x96
	opEmptyList      = ']'
	opEmptyDict      = '}'
	opEmptySet       = 0x8f
	opEmptyTuple     = ')'
	opMark           = '('
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opTuple          = 't'
	opFrozenSet      = 0x91
	opAppend         = 'a'
	opAppends        = 'e'
	opSetItem        = 's'
	opSetItems       = 'u'
	opAddItems       = 0x90
	opMemoize        = 0x94
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opBinGet         = 'h'
	opLongBinGet     = 'j'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	pickleProtocol   = 5
	maxShortOperand  = 1<<8 - 1
	maxMediumOperand = 1<<32 - 1
)

// A container is made in place while its items arrive (APPENDS, SETITEMS...). It becomes
// a value (settle) when it is used: taken as an item, or returned. A pickle from Python's
// pickler never changes a container after that, so one that does is refused, and no
// second pass over the result is needed.
type container struct {
	kind  byte // opEmptyList, opEmptyDict or opEmptySet
	items []any
	strs  map[string]any // a dict while every key is a str
	anys  map[any]any    // a dict once a key is not
	depth int            // the deepest item's depth, plus one
	used  bool
}

// slot is a stack or memo entry: a value, or a container still being made, and how
// deeply it nests (decoding never recurses, but what uses the result does).
type slot struct {
	v     any
	depth int
}

type unpickler struct {
	data  []byte
	pos   int
	cur   atom // the last scalar opcode's value (next)
	boxes boxes
	short *shortStrs
	*scratch
}

// shortStrs holds the last short str seen at each hash, boxed: records repeat their keys
// and many of their values, which Python's pickler writes again each time when it has no
// memo (wireformat.plain_pickle). Taking the same string again saves making it again.
type shortStrs [512]any

// shortStrMax: longer strs are not looked up; they rarely repeat.
const shortStrMax = 16

// str is the str atom's value.
func (u *unpickler) str(b []byte) any {
	if len(b) > shortStrMax {
		return u.boxes.str(b)
	}
	if u.short == nil {
		u.short = new(shortStrs)
	}
	at := &u.short[shortHash(b)%uint64(len(u.short))]
	if s, ok := (*at).(string); ok && s == string(b) {
		return *at
	}
	*at = u.boxes.str(b)
	return *at
}

// shortHash mixes up to 16 bytes. Unseeded: a collision costs a miss, nothing more.
func shortHash(b []byte) uint64 {
	var lo, hi uint64
	if len(b) >= 8 { // the first and the last 8 bytes, which overlap below 16
		lo, hi = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[len(b)-8:])
	} else {
		for i, c := range b {
			lo |= uint64(c) << (8 * i)
		}
	}
	h := lo*0x9e3779b97f4a7c15 ^ hi*0xc2b2ae3d27d4eb4f ^ uint64(len(b))
	return h ^ h>>31
}

// box is the scalar atom's value as decode.go's table has it. Ints, floats and strs, what
// a large result is made of, come from the slabs.
func (u *unpickler) box(a *atom) any {
	switch a.kind {
	case atomBool:
		return a.i == 1
	case atomInt:
		return u.boxes.int(a.i)
	case atomBig:
		return bigInt(a.b)
	case atomFloat:
		return u.boxes.float(a.float())
	case atomStr:
		return u.str(a.b)
	case atomBytes:
		return append([]byte{}, a.b...) // b"" is []byte{}, as in JSON
	}
	return nil
}

// width picks an operand's width (or a name) by opcode.
func width[T any](first bool, a, b T) T {
	if first {
		return a
	}
	return b
}

// unpickle decodes one pickle of plain data.
func unpickle(data []byte) (any, error) {
	if len(data) >= splitMin {
		if m, ok := flatDict(data); ok {
			return m, nil
		}
		if n := min(runtime.GOMAXPROCS(0), splitMost); n > 1 {
			if v, ok := unpickleShares(data, n); ok {
				return v, nil
			}
		}
	}
	return unpickleOnePass(data)
}

func unpickleOnePass(data []byte) (any, error) {
	u, done := withScratch(data, 0)
	v, err := u.run()
	done()
	if e, ok := err.(*Error); ok {
		return nil, e
	}
	if err != nil {
		return nil, &Error{Code: CodeInternal, Op: "decode", Message: "pickle: " + err.Error()}
	}
	return v, nil
}

func (u *unpickler) take(n int) ([]byte, error) {
	if n < 0 || n > len(u.data)-u.pos {
		return nil, fmt.Errorf("truncated at %d", u.pos)
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

func (u *unpickler) uint(n int) (uint64, error) {
	b, err := u.take(n)
	if err != nil {
		return 0, err
	}
	var x uint64
	for i := n - 1; i >= 0; i-- {
		x = x<<8 | uint64(b[i])
	}
	return x, nil
}

func (u *unpickler) sized(width int) ([]byte, error) {
	n, err := u.uint(width)
	if err != nil {
		return nil, err
	}
	if n > uint64(len(u.data)) {
		return nil, fmt.Errorf("length %d beyond the data", n)
	}
	return u.take(int(n))
}

// atomKind says which field of an atom holds its value.
type atomKind int8

const (
	atomNone atomKind = iota
	atomBool
	atomInt
	atomBig
	atomFloat
	atomStr
	atomBytes
)

// atom is a scalar opcode's value, not yet boxed: typed decoding (pickle_typed.go) stores
// it without an interface in between. Small, as it is copied for every item.
type atom struct {
	kind atomKind
	i    int64  // an int, a bool as 0 or 1, or a float's bits
	b    []byte // a str's UTF-8, a bytes' content, or a long int's: a view of the pickle
}

func (a atom) float() float64 { return math.Float64frombits(uint64(a.i)) }

// atom reads the operand of op into u.cur when op is a scalar opcode (false when not).
func (u *unpickler) atom(op byte) (ok bool, err error) {
	a := &u.cur
	// The short forms, most of a large pickle's opcodes, read inline first.
	if rest := u.data[u.pos:]; len(rest) >= 8 {
		switch op {
		case opShortUnicode:
			if n := int(rest[0]); n < len(rest) {
				*a = atom{kind: atomStr, b: rest[1 : 1+n]}
				u.pos += 1 + n
				return true, nil
			}
		case opBinInt1:
			*a = atom{kind: atomInt, i: int64(rest[0])}
			u.pos++
			return true, nil
		case opBinFloat:
			*a = atom{kind: atomFloat, i: int64(binary.BigEndian.Uint64(rest))}
			u.pos += 8
			return true, nil
		}
	}
	switch op {
	case opNone:
		*a = atom{kind: atomNone}
	case opTrue, opFalse:
		*a = atom{kind: atomBool, i: int64(width(op == opTrue, 1, 0))}
	case opBinInt1, opBinInt2, opBinInt:
		var x uint64
		x, err = u.uint(width(op == opBinInt1, 1, width(op == opBinInt2, 2, 4)))
		if op == opBinInt {
			x = uint64(int32(uint32(x)))
		}
		*a = atom{kind: atomInt, i: int64(x)}
	case opLong1, opLong4:
		var b []byte
		b, err = u.sized(width(op == opLong1, 1, 4))
		*a = long(b)
	case opBinFloat:
		var b []byte
		b, err = u.take(8)
		if err == nil {
			*a = atom{kind: atomFloat, i: int64(binary.BigEndian.Uint64(b))}
		}
	case opShortUnicode, opBinUnicode, opBinUnicode8:
		*a = atom{kind: atomStr}
		a.b, err = u.sized(width(op == opShortUnicode, 1, width(op == opBinUnicode, 4, 8)))
	case opShortBinBytes, opBinBytes, opBinBytes8, opByteArray8:
		*a = atom{kind: atomBytes}
		a.b, err = u.sized(width(op == opShortBinBytes, 1, width(op == opBinBytes, 4, 8)))
	default:
		return false, nil
	}
	return true, err
}

// long is a LONG1/LONG4 payload (little-endian two's complement): an int when it fits
// 64 bits (any bytes past the eighth only extend its sign), else left as bytes until it
// is used.
func long(b []byte) atom {
	if len(b) > 8 {
		sign := byte(0)
		if b[7]&0x80 != 0 {
			sign = 0xff
		}
		for _, c := range b[8:] {
			if c != sign {
				return atom{kind: atomBig, b: b}
			}
		}
		b = b[:8]
	}
	if len(b) == 0 {
		return atom{kind: atomInt}
	}
	var x uint64
	for i := len(b) - 1; i >= 0; i-- {
		x = x<<8 | uint64(b[i])
	}
	shift := 64 - 8*uint(len(b))
	return atom{kind: atomInt, i: int64(x<<shift) >> shift}
}

// bigInt is a LONG payload that does not fit 64 bits, as a *big.Int.
func bigInt(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, slot{v: v}) }

func (u *unpickler) top() (slot, error) {
	if len(u.stack) == 0 {
		return slot{}, fmt.Errorf("stack underflow at %d", u.pos)
	}
	return u.stack[len(u.stack)-1], nil
}

// popItems removes the top n stack entries, or (n < 0) those above the last mark, and
// settles them in place: they become items of a container or a tuple. The entries stay
// valid until the next push.
func (u *unpickler) popItems(n int) ([]slot, int, error) {
	from := len(u.stack) - n
	if n < 0 {
		if len(u.marks) == 0 {
			return nil, 0, fmt.Errorf("no mark at %d", u.pos)
		}
		from = u.marks[len(u.marks)-1]
		u.marks = u.marks[:len(u.marks)-1]
	}
	if from < 0 || from > len(u.stack) {
		return nil, 0, fmt.Errorf("stack underflow at %d", u.pos)
	}
	items := u.stack[from:]
	depth := 0
	for i := range items {
		v, d, err := u.settle(items[i])
		if err != nil {
			return nil, 0, err
		}
		items[i], depth = slot{v: v, depth: d}, max(depth, d)
	}
	u.stack = u.stack[:from]
	return items, depth, nil
}

// settle is what a stack entry is as a value; a container is used from then on.
func (u *unpickler) settle(s slot) (any, int, error) {
	c, ok := s.v.(*container)
	if !ok {
		return s.v, s.depth, nil
	}
	c.used = true
	switch {
	case c.kind != opEmptyDict:
		if c.items == nil {
			c.items = []any{}
		}
		return u.boxes.list(c.items), c.depth, nil
	case c.anys != nil:
		return c.anys, c.depth, nil
	case c.strs == nil:
		c.strs = map[string]any{}
	}
	return c.strs, c.depth, nil
}

// tuple pushes the items (settled by popItems) as a tuple, one level deeper.
func (u *unpickler) tuple(items []slot, depth int) error {
	if depth+1 > maxDepth {
		return fmt.Errorf("nested more than %d levels deep", maxDepth)
	}
	t := u.boxes.items.many(len(items), slabMax)
	for i, s := range items {
		t[i] = s.v
	}
	u.stack = append(u.stack, slot{v: u.boxes.list(t), depth: depth + 1})
	return nil
}

// next reads the next opcode past framing (PROTO, FRAME), which says nothing of the
// value, and a scalar opcode's atom, into u.cur; at is where the opcode starts.
func (u *unpickler) next() (op byte, at int, isAtom bool, err error) {
	for u.pos < len(u.data) {
		at, op = u.pos, u.data[u.pos]
		u.pos++
		switch op {
		case opProto:
			_, err = u.take(1)
		case opFrame:
			_, err = u.take(8)
		default:
			isAtom, err = u.atom(op)
			return op, at, isAtom, err
		}
		if err != nil {
			return op, at, false, err
		}
	}
	return 0, u.pos, false, errNoStop
}

// errNoStop: the data ends with no STOP (where a share of a split pickle ends).
var errNoStop = errors.New("no STOP")

func (u *unpickler) run() (any, error) {
	for {
		op, _, isAtom, err := u.next()
		if err != nil {
			return nil, err
		}
		if isAtom {
			u.push(u.box(&u.cur))
			continue
		}
		switch op {
		case opStop:
			if len(u.stack) != 1 || len(u.marks) != 0 {
				return nil, fmt.Errorf("%d values at STOP", len(u.stack))
			}
			v, _, err := u.settle(u.stack[0])
			return v, err
		case opEmptyList, opEmptyDict, opEmptySet:
			c := u.container()
			c.kind = op
			u.push(c)
		case opEmptyTuple:
			u.stack = append(u.stack, slot{v: []any{}, depth: 1})
		case opMark:
			u.marks = append(u.marks, len(u.stack))
		case opTuple1, opTuple2, opTuple3, opTuple, opFrozenSet:
			n := width(op == opTuple || op == opFrozenSet, -1, int(op-opTuple1+1))
			var items []slot
			var depth int
			if items, depth, err = u.popItems(n); err == nil {
				err = u.tuple(items, depth)
			}
		case opAppend, opAppends, opSetItem, opSetItems, opAddItems:
			err = u.add(op)
		case opMemoize:
			var s slot
			if s, err = u.top(); err == nil {
				u.memo = grown(u.memo, s)
			}
		case opBinPut, opLongBinPut:
			err = u.put(op)
		case opBinGet, opLongBinGet:
			var i uint64
			if i, err = u.uint(width(op == opBinGet, 1, 4)); err == nil {
				if i >= uint64(len(u.memo)) {
					return nil, fmt.Errorf("memo %d unset", i)
				}
				u.stack = append(u.stack, u.memo[i])
			}
		case opPop:
			_, _, err = u.popItems(1)
		case opPopMark:
			_, _, err = u.popItems(-1)
		case opDup:
			var s slot
			if s, err = u.top(); err == nil {
				u.stack = append(u.stack, s)
			}
		default:
			return nil, fmt.Errorf("opcode 0x%02x at %d is not plain data", op, u.pos-1)
		}
		if err != nil {
			return nil, err
		}
	}
}

// put runs BINPUT and LONG_BINPUT: the top of the stack at a memo index.
func (u *unpickler) put(op byte) error {
	i, err := u.uint(width(op == opBinPut, 1, 4))
	if err != nil {
		return err
	}
	s, err := u.top()
	if err != nil {
		return err
	}
	if i >= uint64(len(u.data)) {
		return fmt.Errorf("memo index %d", i)
	}
	for uint64(len(u.memo)) <= i {
		u.memo = grown(u.memo, slot{})
	}
	u.memo[i] = s
	return nil
}

// grown appends v, doubling the capacity when it is full. append grows a long slice by a
// quarter at a time, and Python's pickler memoizes nearly every object: the memo's copies
// then came to five times its size, most of what decoding allocated.
func grown[T any](s []T, v T) []T {
	if len(s) == cap(s) {
		s = append(make([]T, 0, 2*cap(s)+64), s...)
	}
	return append(s, v)
}

// add runs APPEND(S), SETITEM(S) and ADDITEMS on the container under the items.
func (u *unpickler) add(op byte) error {
	n := -1
	if op == opAppend || op == opSetItem {
		n = width(op == opAppend, 1, 2)
	}
	items, depth, err := u.popItems(n)
	if err != nil {
		return err
	}
	under, err := u.top()
	if err != nil {
		return err
	}
	c, ok := under.v.(*container)
	if !ok || c.used {
		return fmt.Errorf("opcode %q at %d on a %s", op, u.pos-1, describe(under.v))
	}
	if depth+1 > maxDepth {
		return fmt.Errorf("nested more than %d levels deep", maxDepth)
	}
	c.depth = max(c.depth, depth+1)
	switch {
	case c.kind == opEmptyList && (op == opAppend || op == opAppends),
		c.kind == opEmptySet && op == opAddItems:
		if need := len(c.items) + len(items); cap(c.items) == 0 {
			c.items = u.boxes.items.many(need, slabMax)[:0]
		} else if need > cap(c.items) {
			// Doubling: append's own growth (1.25x when large) copies a long list many times.
			c.items = slices.Grow(c.items, max(need, 2*cap(c.items))-len(c.items))
		}
		for _, s := range items {
			c.items = append(c.items, s.v)
		}
		return nil
	case c.kind == opEmptyDict && (op == opSetItem || op == opSetItems) && len(items)%2 == 0:
		return c.setItems(items)
	}
	return fmt.Errorf("opcode %q at %d on a %s", op, u.pos-1, describe(under.v))
}

// setItems stores key, value pairs: in a map[string]any until a key is not a str.
func (c *container) setItems(pairs []slot) error {
	for i := 0; i < len(pairs); i += 2 {
		k, v := pairs[i].v, pairs[i+1].v
		if s, ok := k.(string); ok && c.anys == nil {
			if c.strs == nil {
				c.strs = make(map[string]any, len(pairs)/2)
			}
			c.strs[s] = v
			continue
		}
		if k != nil && !reflect.TypeOf(k).Comparable() {
			return &Error{Code: CodeArgument, Op: "decode", Message: fmt.Sprintf("a dict key of Go type %T cannot be a map key", k)}
		}
		if c.anys == nil {
			c.anys = make(map[any]any, len(c.strs)+len(pairs)/2)
			for s, x := range c.strs {
				c.anys[s] = x
			}
			c.strs = nil
		}
		c.anys[k] = v
	}
	return nil
}

// describe names what an opcode found under its items, for errors.
func describe(v any) string {
	c, ok := v.(*container)
	switch {
	case !ok:
		return fmt.Sprintf("%T", v)
	case c.used:
		return "container already used (a cycle, or a change after use)"
	}
	return width(c.kind == opEmptyList, "list", width(c.kind == opEmptyDict, "dict", "set"))
}
