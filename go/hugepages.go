package rpyc

import (
	"bytes"
	"unsafe"
)

// largeBuffer: a slice of this many bytes or more is made by freshSlice.
const largeBuffer = 4 << 20

// freshSlice is make([]T, n); a large one is advised to use huge pages (adviseHugePages)
// before it is filled. Large results are copied into such slices: on a virtual machine,
// faulting in fresh memory 4 kB at a time costs more than copying into it.
func freshSlice[T any](n int) []T {
	s := make([]T, n)
	if size := n * int(unsafe.Sizeof(*new(T))); size >= largeBuffer {
		adviseHugePages(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), size))
	}
	return s
}

// copyBuffer is a copy of a result's buffer in Go memory.
func copyBuffer(b []byte) []byte {
	if len(b) < largeBuffer {
		return bytes.Clone(b)
	}
	c := freshSlice[byte](len(b))
	copy(c, b)
	return c
}
