package rpyc

import (
	"hash/maphash"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// A large map is filled in the order of its own hash. Go's map keeps its entries in
// tables of 1024 slots, picked by the top bits of the key's hash, so inserting keys in
// the order they came touches the whole map at random: once it outgrows the cache, each
// insert is a cache miss (10M str keys: 33 ns per insert in hash order, 329 in the
// pickle's). Ordering them costs a hash and two passes over the items.
//
// The order needs the map's hash seed, which Go does not export: mapSeed reads it from
// the map's header, and hashOrderWorks checks once per process that this gives the
// map's own order (its iteration order), else the items go in as they came. The order
// is only a hint: a wrong one costs speed, never an entry (maphash hashes a key over 128
// bytes in blocks, unlike the map, so such keys go in out of place).

// hashOrderMin: smaller maps fit in the cache, where the ordering costs more than it saves.
const hashOrderMin = 1 << 17

// mapItem is one entry to insert: its key as data[at:at+n], and its value.
type mapItem[T any] struct {
	hash  uint64
	at, n uint32
	value T
}

// itemChunks holds many items without moving them as they come: a slice that doubled to
// 10M items took 18% of a dict's decoding, and the copy holds up the collector.
type itemChunks[T any] struct {
	chunks [][]T
	n      int
}

const chunkBits = 14

// add appends v. The first chunk grows as a slice does, so that a few items take little.
func (c *itemChunks[T]) add(v T) {
	if c.n&(1<<chunkBits-1) == 0 {
		c.chunks = append(c.chunks, make([]T, 0, min(c.n, 1<<chunkBits)))
	}
	last := len(c.chunks) - 1
	c.chunks[last] = append(c.chunks[last], v)
	c.n++
}

func (c *itemChunks[T]) at(i int) *T { return &c.chunks[i>>chunkBits][i&(1<<chunkBits-1)] }

// fillMap makes the map of the items, whose keys are in data.
func fillMap[T any](data []byte, items *itemChunks[mapItem[T]]) map[string]T {
	m := make(map[string]T, items.n)
	if seed, ok := mapSeed(m); ok && items.n >= hashOrderMin && hashOrderWorks() {
		hashOrder(data, items, seed)
	}
	// The keys are copied a chunk at a time before they go in: a loop of copies alone
	// waits for many cache misses at once (10M in hash order: 128 -> 90 ns per item).
	var keys [256]string
	var text slab[byte]
	for _, chunk := range items.chunks {
		for len(chunk) > 0 {
			block := chunk[:min(len(chunk), len(keys))]
			for i, e := range block {
				keys[i] = copyText(&text, data[e.at:e.at+e.n])
			}
			for i, e := range block {
				m[keys[i]] = e.value
			}
			chunk = chunk[len(block):]
		}
	}
	return m
}

// hashOrder sorts the items by the top 16 bits of their keys' hash with seed, 8 bits a
// pass (a least significant digit radix sort): a table's entries come together for up
// to 64k tables, 58M entries.
func hashOrder[T any](data []byte, items *itemChunks[mapItem[T]], seed maphash.Seed) {
	var starts [2][256]int // where the items of each digit go, low then high
	for _, chunk := range items.chunks {
		for i := range chunk {
			e := &chunk[i]
			e.hash = maphash.Bytes(seed, data[e.at:e.at+e.n])
			starts[0][e.hash>>48&0xff]++
			starts[1][e.hash>>56]++
		}
	}
	for d := range starts {
		sum := 0
		for i, n := range starts[d] {
			starts[d][i], sum = sum, sum+n
		}
	}
	byLow := make([]mapItem[T], items.n)
	for _, chunk := range items.chunks {
		for _, e := range chunk {
			next := &starts[0][e.hash>>48&0xff]
			byLow[*next] = e
			*next++
		}
	}
	for _, e := range byLow {
		next := &starts[1][e.hash>>56]
		*items.at(*next) = e
		*next++
	}
}

// mapSeed is the hash seed of m, read from its header: the runtime's map begins
// {used uint64; seed uintptr} (internal/runtime/maps.Map, Go 1.24 to 1.26). False when
// the first word is not its length, as then the layout is not that one.
func mapSeed[K comparable, V any](m map[K]V) (maphash.Seed, bool) {
	// SAFETY: a map value is a pointer to its header, which is at least two words long.
	header := *(*unsafe.Pointer)(unsafe.Pointer(&m))
	if header == nil || *(*uint64)(header) != uint64(len(m)) {
		return maphash.Seed{}, false
	}
	seed := *(*uint64)(unsafe.Add(header, 8))
	if seed == 0 {
		return maphash.Seed{}, false
	}
	// SAFETY: maphash.Seed is struct{ s uint64 }, as the array bound below checks.
	return *(*maphash.Seed)(unsafe.Pointer(&seed)), true
}

// A compile error here means maphash.Seed is no longer one uint64.
var _ = [1]struct{}{}[unsafe.Sizeof(maphash.Seed{})-8]

// hashOrderWorks checks that mapSeed gives a map's own hash.
var hashOrderWorks = sync.OnceValue(func() bool {
	if !strings.HasPrefix(runtime.Version(), "go1.") { // a development build
		return false
	}
	m := probeMap()
	seed, ok := mapSeed(m)
	return ok && iteratesInHashOrder(m, seed)
})

// probeMap is a map of 16 tables.
func probeMap() map[string]bool {
	const n = 8192
	m := make(map[string]bool, n)
	for i := range n {
		m[strconv.Itoa(i)] = true
	}
	return m
}

// iteratesInHashOrder: a map returns its entries table by table, so the top 4 bits of
// their hashes with its seed change about 16 times as a map of 16 tables is iterated,
// and thousands of times with any other seed.
func iteratesInHashOrder(m map[string]bool, seed maphash.Seed) bool {
	changes, last := 0, uint64(16)
	for k := range m {
		if top := maphash.String(seed, k) >> 60; top != last {
			changes, last = changes+1, top
		}
	}
	return changes <= 64
}
