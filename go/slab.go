package rpyc

import (
	"sync"
	"unsafe"
)

// A large pickled result decodes to many small values, and each costs allocations of its
// own: an int, float, str or list in an interface is one (its box), a str's bytes another,
// a container being made a third. The unpickler carves them out of slabs instead, a few
// allocations per thousand values (10k records: 10 allocations each, 2 with slabs).
//
// A value that is kept keeps its whole slab alive: at most slabMax elements, or textMax
// bytes, once the decoding has gone that far.

const (
	slabMin = 16
	slabMax = 1024
	textMax = 16 << 10
	// textShort: longer strs get bytes of their own, so that one long str does not
	// hold on to a slab nor leave most of one unused.
	textShort = 64
)

// slab hands out fresh elements of chunks that double in length up to max.
type slab[T any] struct {
	free []T
	size int
}

func (s *slab[T]) refill(n, limit int) {
	s.size = min(max(2*s.size, slabMin, n), limit)
	s.free = make([]T, s.size)
}

// one is a fresh element.
func (s *slab[T]) one() *T {
	if len(s.free) == 0 {
		s.refill(1, slabMax)
	}
	p := &s.free[0]
	s.free = s.free[1:]
	return p
}

// many is n fresh elements, capped at n: appending to them copies them out.
func (s *slab[T]) many(n, limit int) []T {
	if n > limit/4 {
		return make([]T, n)
	}
	if len(s.free) < n {
		s.refill(n, limit)
	}
	out := s.free[:n:n]
	s.free = s.free[n:]
	return out
}

// boxes are the unpickler's slabs.
type boxes struct {
	ints   slab[int64]
	floats slab[float64]
	strs   slab[string]
	lists  slab[[]any]
	items  slab[any]
	text   slab[byte]
}

// eface is the layout of an interface value with no methods (the runtime's eface): its
// dynamic type, and a pointer to the value for every type that is not pointer-shaped.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

func typeWord(v any) unsafe.Pointer {
	// SAFETY: an `any` is laid out as eface.
	return (*eface)(unsafe.Pointer(&v)).typ
}

var (
	int64Type   = typeWord(int64(0))
	float64Type = typeWord(float64(0))
	stringType  = typeWord("")
	listType    = typeWord([]any(nil))
)

// boxAt is an interface of type typ whose value is *p: what converting *p to `any` makes,
// without copying *p to an allocation of its own. typ must be the type word of *p's type,
// which is not pointer-shaped, and *p must never change afterwards, as a boxed value is
// immutable.
func boxAt(typ, p unsafe.Pointer) any {
	e := eface{typ: typ, data: p}
	// SAFETY: e is laid out as an `any`; the garbage collector sees e.data as a pointer
	// into the slab's chunk, which it then keeps alive.
	return *(*any)(unsafe.Pointer(&e))
}

func (b *boxes) int(i int64) any {
	if 0 <= i && i < 256 {
		return i // the runtime boxes these without allocating
	}
	p := b.ints.one()
	*p = i
	return boxAt(int64Type, unsafe.Pointer(p))
}

func (b *boxes) float(f float64) any {
	p := b.floats.one()
	*p = f
	return boxAt(float64Type, unsafe.Pointer(p))
}

// str copies utf8 (a view of the pickle) to a string, boxed.
func (b *boxes) str(utf8 []byte) any {
	p := b.strs.one()
	*p = copyText(&b.text, utf8)
	return boxAt(stringType, unsafe.Pointer(p))
}

// copyText copies utf8 to a string, a short one into the slab.
func copyText(slab *slab[byte], utf8 []byte) string {
	switch {
	case len(utf8) == 0:
		return ""
	case len(utf8) > textShort:
		return string(utf8)
	}
	text := slab.many(len(utf8), textMax)
	copy(text, utf8)
	// SAFETY: text is this string's own part of the chunk, never written again.
	return unsafe.String(&text[0], len(text))
}

// boxedList is a packed list's n items as a list value, item(i) each, boxed in slabs.
func boxedList[T int64 | float64](n int, item func(i int) T) []any {
	out := make([]any, n)
	var b boxes
	for i := range out {
		switch x := any(item(i)).(type) {
		case int64:
			out[i] = b.int(x)
		case float64:
			out[i] = b.float(x)
		}
	}
	return out
}

func (b *boxes) list(items []any) any {
	p := b.lists.one()
	*p = items
	return boxAt(listType, unsafe.Pointer(p))
}

// scratch is what an unpickler uses only while it runs: its stack, marks and memo, and
// the containers being made (a value never holds one: settle hands out what it made).
// It is kept for the next decode, as making it again was a fifth of what decoding 10k
// records allocated, and fresh memory costs a page fault per 4 kB touched.
type scratch struct {
	stack  []slot
	marks  []int
	memo   []slot
	chunks [][]container // slabMax each
	made   int           // containers handed out
}

// scratchKept: a decode that used more is not kept whole, so that one large result
// does not stay allocated.
const scratchKept = 16 * slabMax

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// withScratch is an unpickler of data from pos, with kept scratch; done gives it back.
func withScratch(data []byte, pos int) (u *unpickler, done func()) {
	u = &unpickler{data: data, pos: pos, scratch: scratchPool.Get().(*scratch)}
	return u, func() {
		u.scratch.reset()
		scratchPool.Put(u.scratch)
	}
}

func (s *scratch) container() *container {
	i := s.made / slabMax
	if i == len(s.chunks) {
		s.chunks = append(s.chunks, make([]container, slabMax))
	}
	c := &s.chunks[i][s.made%slabMax]
	s.made++
	return c
}

// reset drops every reference to the values made, for the next decode.
func (s *scratch) reset() {
	for i := 0; i*slabMax < s.made; i++ {
		clear(s.chunks[i][:min(slabMax, s.made-i*slabMax)])
	}
	s.made = 0
	if len(s.chunks) > scratchKept/slabMax {
		s.chunks = s.chunks[:scratchKept/slabMax]
	}
	clear(s.stack[:cap(s.stack)])
	clear(s.memo[:cap(s.memo)])
	s.stack, s.marks, s.memo = s.stack[:0], s.marks[:0], s.memo[:0]
	if cap(s.stack) > scratchKept || cap(s.memo) > scratchKept {
		s.stack, s.memo = nil, nil
	}
}
