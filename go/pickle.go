package rpyc

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
)

// Large results of plain Python data (lists, dicts, str, numbers...) come as one pickle,
// {"$pickle": i}: the server's C pickler makes it far faster than any per-object
// encoding, and it refuses every type outside that set (server_side.py), so only these
// opcodes of protocols 2 to 5 occur. They decode to the values of decode.go's table.

// pickle-time containers, mutable and shared through the memo until the end.
type (
	pList struct {
		items []any
		built
	}
	pDict struct {
		keys, values []any
		built
	}
	pSet struct {
		items []any
		built
	}
)

// built is what a container became (finish), shared by every reference to it.
type built struct {
	state int8 // 0: not yet, 1: being made (a reference now is a cycle), 2: made
	made  any
}

func (b *built) at() *built { return b }

type unpickler struct {
	data  []byte
	pos   int
	stack []any
	marks []int
	memo  []any
}

// width picks an operand's width by opcode.
func width(first bool, a, b int) int {
	if first {
		return a
	}
	return b
}

// unpickle decodes one pickle of plain data.
func unpickle(data []byte) (any, error) {
	u := &unpickler{data: data}
	v, err := u.run()
	if err != nil {
		return nil, &Error{Code: CodeInternal, Op: "decode", Message: "pickle: " + err.Error()}
	}
	return finish(v, 0)
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

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 {
		return nil, fmt.Errorf("stack underflow at %d", u.pos)
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

// popMark returns the items above the last mark.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, fmt.Errorf("no mark at %d", u.pos)
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := clone(u.stack[m:])
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 {
		return nil, fmt.Errorf("stack underflow at %d", u.pos)
	}
	return u.stack[len(u.stack)-1], nil
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

func (u *unpickler) run() (any, error) {
	for u.pos < len(u.data) {
		op := u.data[u.pos]
		u.pos++
		var err error
		switch op {
		case 0x80: // PROTO
			_, err = u.take(1)
		case 0x95: // FRAME
			_, err = u.take(8)
		case '.': // STOP
			if len(u.stack) != 1 {
				return nil, fmt.Errorf("%d values at STOP", len(u.stack))
			}
			return u.stack[0], nil
		case 'N':
			u.stack = append(u.stack, nil)
		case 0x88:
			u.stack = append(u.stack, true)
		case 0x89:
			u.stack = append(u.stack, false)
		case 'K':
			if u.pos >= len(u.data) {
				return nil, fmt.Errorf("truncated at %d", u.pos)
			}
			u.stack = append(u.stack, int64(u.data[u.pos]))
			u.pos++
		case 'M':
			var x uint64
			x, err = u.uint(2)
			u.stack = append(u.stack, int64(x))
		case 'J':
			var x uint64
			x, err = u.uint(4)
			u.stack = append(u.stack, int64(int32(uint32(x))))
		case 0x8a, 0x8b: // LONG1, LONG4
			var b []byte
			if b, err = u.sized(width(op == 0x8a, 1, 4)); err == nil {
				u.stack = append(u.stack, long(b))
			}
		case 'G':
			var b []byte
			if b, err = u.take(8); err == nil {
				u.stack = append(u.stack, math.Float64frombits(binary.BigEndian.Uint64(b)))
			}
		case 0x8c, 'X', 0x8d: // SHORT_BINUNICODE, BINUNICODE, BINUNICODE8
			var b []byte
			if b, err = u.sized(width(op == 0x8c, 1, width(op == 'X', 4, 8))); err == nil {
				u.stack = append(u.stack, string(b))
			}
		case 'C', 'B', 0x8e, 0x96: // SHORT_BINBYTES, BINBYTES, BINBYTES8, BYTEARRAY8
			var b []byte
			if b, err = u.sized(width(op == 'C', 1, width(op == 'B', 4, 8))); err == nil {
				u.stack = append(u.stack, append([]byte{}, b...)) // b"" is []byte{}, as in JSON
			}
		case ']':
			u.stack = append(u.stack, &pList{})
		case '}':
			u.stack = append(u.stack, &pDict{})
		case 0x8f:
			u.stack = append(u.stack, &pSet{})
		case ')':
			u.stack = append(u.stack, []any{})
		case '(':
			u.marks = append(u.marks, len(u.stack))
		case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
			n := int(op - 0x84)
			if len(u.stack) < n {
				return nil, fmt.Errorf("stack underflow at %d", u.pos)
			}
			t := clone(u.stack[len(u.stack)-n:])
			u.stack = append(u.stack[:len(u.stack)-n], t)
		case 't':
			var items []any
			if items, err = u.popMark(); err == nil {
				u.stack = append(u.stack, items)
			}
		case 0x91: // FROZENSET
			var items []any
			if items, err = u.popMark(); err == nil {
				u.stack = append(u.stack, &pSet{items: items})
			}
		case 'a', 'e', 's', 'u', 0x90: // APPEND, APPENDS, SETITEM, SETITEMS, ADDITEMS
			err = u.add(op)
		case 0x94: // MEMOIZE
			var v any
			if v, err = u.top(); err == nil {
				u.memo = append(u.memo, v)
			}
		case 'q', 'r': // BINPUT, LONG_BINPUT
			var i uint64
			var v any
			if i, err = u.uint(width(op == 'q', 1, 4)); err == nil {
				if v, err = u.top(); err == nil {
					if i >= uint64(len(u.data)) {
						return nil, fmt.Errorf("memo index %d", i)
					}
					for uint64(len(u.memo)) <= i {
						u.memo = append(u.memo, nil)
					}
					u.memo[i] = v
				}
			}
		case 'h', 'j': // BINGET, LONG_BINGET
			var i uint64
			if i, err = u.uint(width(op == 'h', 1, 4)); err == nil {
				if i >= uint64(len(u.memo)) {
					return nil, fmt.Errorf("memo %d unset", i)
				}
				u.stack = append(u.stack, u.memo[i])
			}
		case '0':
			_, err = u.pop()
		case '1':
			_, err = u.popMark()
		case '2':
			var v any
			if v, err = u.top(); err == nil {
				u.stack = append(u.stack, v)
			}
		default:
			return nil, fmt.Errorf("opcode 0x%02x at %d is not plain data", op, u.pos-1)
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("no STOP")
}

// add runs APPEND(S), SETITEM(S) and ADDITEMS on the container under the items.
func (u *unpickler) add(op byte) error {
	var items []any
	if op == 'a' || op == 's' {
		n := width(op == 'a', 1, 2)
		if len(u.stack) < n+1 {
			return fmt.Errorf("stack underflow at %d", u.pos)
		}
		items = clone(u.stack[len(u.stack)-n:])
		u.stack = u.stack[:len(u.stack)-n]
	} else {
		var err error
		if items, err = u.popMark(); err != nil {
			return err
		}
	}
	target, err := u.top()
	if err != nil {
		return err
	}
	switch c := target.(type) {
	case *pList:
		if op == 'a' || op == 'e' {
			c.items = append(c.items, items...)
			return nil
		}
	case *pSet:
		if op == 0x90 {
			c.items = append(c.items, items...)
			return nil
		}
	case *pDict:
		if (op == 's' || op == 'u') && len(items)%2 == 0 {
			for i := 0; i < len(items); i += 2 {
				c.keys = append(c.keys, items[i])
				c.values = append(c.values, items[i+1])
			}
			return nil
		}
	}
	return fmt.Errorf("opcode %q on a %T at %d", op, target, u.pos)
}

// long is a LONG1/LONG4 payload: little-endian two's complement.
func long(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var x uint64
		for i := len(b) - 1; i >= 0; i-- {
			x = x<<8 | uint64(b[i])
		}
		shift := 64 - 8*uint(len(b))
		return int64(x<<shift) >> shift
	}
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if n.IsInt64() {
		return n.Int64()
	}
	return n
}

// finish turns pickle-time containers into decode.go's values.
func finish(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, &Error{Code: CodeInternal, Op: "decode", Message: fmt.Sprintf("pickle nested more than %d levels deep", maxDepth)}
	}
	var b *built
	switch c := v.(type) {
	case []any:
		return finishItems(c, depth)
	case *pList:
		b = c.at()
	case *pSet:
		b = c.at()
	case *pDict:
		b = c.at()
	default:
		return v, nil
	}
	switch b.state {
	case 1:
		return nil, &Error{Code: CodeInternal, Op: "decode", Message: "a container holds itself"}
	case 2:
		return b.made, nil
	}
	b.state = 1
	var made any
	var err error
	switch c := v.(type) {
	case *pList:
		made, err = finishItems(c.items, depth)
	case *pSet:
		made, err = finishItems(c.items, depth)
	case *pDict:
		made, err = finishDict(c, depth)
	}
	if err != nil {
		return nil, err
	}
	b.state, b.made = 2, made
	return made, nil
}

// finishItems finishes a list's items in place: they are the pickle's own copy.
func finishItems(items []any, depth int) (any, error) {
	for i, x := range items {
		switch x.(type) {
		case []any, *pList, *pSet, *pDict:
			var err error
			if items[i], err = finish(x, depth+1); err != nil {
				return nil, err
			}
		}
	}
	if items == nil {
		items = []any{}
	}
	return items, nil
}

// finishDict finishes a dict's keys and values in place, as finishItems does.
func finishDict(d *pDict, depth int) (any, error) {
	for i := range d.keys {
		var err error
		if d.keys[i], err = finish(d.keys[i], depth+1); err != nil {
			return nil, err
		}
		if d.values[i], err = finish(d.values[i], depth+1); err != nil {
			return nil, err
		}
	}
	return goMap(d.keys, d.values)
}

func clone[T any](s []T) []T { return append([]T(nil), s...) }
