package rpyc

// Large result buffers in Go memory. The library asks this allocator (RpycAllocFn in
// rpyc_bridge.h) for each buffer the server sends in pieces, writes the pieces into it,
// and hands it back by its token: the decoded value then keeps the buffer as it is. A copy
// out of library memory would cost one more pass over the data, and a fresh allocation of
// the whole on every result, where Go's heap reuses what the last result freed. Its
// preamble only declares: a file with //export may not define C functions.

// #include <stdint.h>
// #include <stdlib.h>
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// pinnedResult is Go memory the library is writing, pinned until it is claimed or released.
type pinnedResult struct {
	data []byte
	pin  runtime.Pinner
}

// pinnedResults are the buffers the library is writing, by token.
var pinnedResults = struct {
	sync.Mutex
	next    uint64
	buffers map[uint64]*pinnedResult
}{buffers: map[uint64]*pinnedResult{}}

//export rpycGoAlloc
func rpycGoAlloc(size C.size_t, token *C.uint64_t) *C.uint8_t {
	n := uint64(size)
	if n == 0 || n > lendable() {
		return nil // the library allocates it, or reports that it cannot
	}
	b := &pinnedResult{data: freshSlice[byte](int(n))}
	b.pin.Pin(unsafe.SliceData(b.data))
	pinnedResults.Lock()
	pinnedResults.next++
	id := pinnedResults.next
	pinnedResults.buffers[id] = b
	pinnedResults.Unlock()
	*token = C.uint64_t(id)
	return (*C.uint8_t)(unsafe.SliceData(b.data))
}

// lendable is the largest buffer lent: the machine's RAM. The size is the server's word,
// and a Go allocation that cannot be had ends the process; a larger one is left to the
// library, which reports that it has no memory for it.
var lendable = sync.OnceValue(physicalMemory)

//export rpycGoRelease
func rpycGoRelease(token C.uint64_t) { claimBuffer(uint64(token)) }

// claimBuffer ends the library's use of a token's buffer and returns it; nil for a token
// that is not lent.
func claimBuffer(token uint64) []byte {
	pinnedResults.Lock()
	b := pinnedResults.buffers[token]
	delete(pinnedResults.buffers, token)
	pinnedResults.Unlock()
	if b == nil {
		return nil
	}
	b.pin.Unpin()
	return b.data
}

// resultBuffers are a value's byte buffers: views of library memory, valid only until
// the value is freed, or Go memory the library filled (owned), which a decoded value may
// keep as it is, once.
type resultBuffers struct {
	data  [][]byte
	owned []bool
}

// viewed are buffers of library (or lent) memory that decoding copies.
func viewed(data [][]byte) resultBuffers { return resultBuffers{data: data} }

func (b *resultBuffers) len() int { return len(b.data) }

// kept is buffer i for a decoded value to keep: an owned one itself, the first time it is
// asked for (a server that names a buffer twice gets a copy the second time), else a copy.
func (b *resultBuffers) kept(i int) []byte {
	if i < len(b.owned) && b.owned[i] {
		b.owned[i] = false
		return b.data[i]
	}
	return copyBuffer(b.data[i])
}

// ownedString is a buffer the value keeps (resultBuffers.kept) as a Go string, over the
// same memory, which nothing writes again.
func ownedString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
