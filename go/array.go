package rpyc

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// DType names the element type of an Array, as numpy does.
type DType string

// The dtypes that travel as raw bytes. Other numpy dtypes are converted on the server:
// bool and 1-byte unsigned to uint8, other integers to int64, float16 to float32.
const (
	Float64 DType = "float64"
	Float32 DType = "float32"
	Int64   DType = "int64"
	Int32   DType = "int32"
	Uint8   DType = "uint8"
)

// Array is a numpy ndarray by value: C-order data and a shape. Passed as an argument it
// becomes a numpy.ndarray on the server (read-only: call .copy() there to write to it),
// sent as one byte buffer; an ndarray result decodes into it the same way. Numbers never
// go through JSON.
//
// Data is a []float64, []float32, []int64, []int32 or []uint8 matching DType.
type Array struct {
	DType DType
	Shape []int
	Data  any
}

// NewArray wraps a typed slice; with no shape it is one-dimensional.
func NewArray(data any, shape ...int) (Array, error) {
	dtype, n, ok := sliceDType(data)
	if !ok {
		return Array{}, &Error{Code: CodeArgument, Op: "array", Message: fmt.Sprintf("%T is not []float64, []float32, []int64, []int32 or []uint8", data)}
	}
	if len(shape) == 0 {
		shape = []int{n}
	}
	a := Array{DType: dtype, Shape: shape, Data: data}
	return a, a.check()
}

// Len is the number of elements.
func (a Array) Len() int {
	_, n, _ := sliceDType(a.Data)
	return n
}

// Float64s returns the data when DType is Float64.
func (a Array) Float64s() ([]float64, bool) { d, ok := a.Data.([]float64); return d, ok }

// Float32s returns the data when DType is Float32.
func (a Array) Float32s() ([]float32, bool) { d, ok := a.Data.([]float32); return d, ok }

// Int64s returns the data when DType is Int64.
func (a Array) Int64s() ([]int64, bool) { d, ok := a.Data.([]int64); return d, ok }

// Int32s returns the data when DType is Int32.
func (a Array) Int32s() ([]int32, bool) { d, ok := a.Data.([]int32); return d, ok }

// Uint8s returns the data when DType is Uint8.
func (a Array) Uint8s() ([]uint8, bool) { d, ok := a.Data.([]uint8); return d, ok }

func (a Array) check() error {
	dtype, n, ok := sliceDType(a.Data)
	if !ok || dtype != a.DType {
		return &Error{Code: CodeArgument, Op: "array", Message: fmt.Sprintf("dtype %s does not match data %T", a.DType, a.Data)}
	}
	count := 1
	for _, d := range a.Shape {
		if d < 0 {
			return &Error{Code: CodeArgument, Op: "array", Message: fmt.Sprintf("negative dimension in shape %v", a.Shape)}
		}
		count *= d
	}
	if count != n {
		return &Error{Code: CodeArgument, Op: "array", Message: fmt.Sprintf("shape %v holds %d elements, data has %d", a.Shape, count, n)}
	}
	return nil
}

func sliceDType(data any) (DType, int, bool) {
	switch d := data.(type) {
	case []float64:
		return Float64, len(d), true
	case []float32:
		return Float32, len(d), true
	case []int64:
		return Int64, len(d), true
	case []int32:
		return Int32, len(d), true
	case []uint8:
		return Uint8, len(d), true
	}
	return "", 0, false
}

func dtypeSize(d DType) int {
	switch d {
	case Float64, Int64:
		return 8
	case Float32, Int32:
		return 4
	case Uint8:
		return 1
	}
	return 0
}

// The wire format is little-endian; so is every platform this package builds for.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// rawBytes views the array's data as bytes, without copying.
func (a Array) rawBytes() []byte {
	size := dtypeSize(a.DType)
	n := a.Len()
	if n == 0 {
		return nil
	}
	var p unsafe.Pointer
	switch d := a.Data.(type) {
	case []float64:
		p = unsafe.Pointer(&d[0])
	case []float32:
		p = unsafe.Pointer(&d[0])
	case []int64:
		p = unsafe.Pointer(&d[0])
	case []int32:
		p = unsafe.Pointer(&d[0])
	case []uint8:
		p = unsafe.Pointer(&d[0])
	}
	return unsafe.Slice((*byte)(p), n*size)
}

// arrayOver makes an array over raw little-endian data that the value owns (a buffer it
// keeps: resultBuffers.kept), without copying it; only data not aligned for its dtype is
// copied into a new typed slice.
func arrayOver(dtype DType, shape []int, raw []byte) (Array, error) {
	size := dtypeSize(dtype)
	if size == 0 {
		return Array{}, &Error{Code: CodeInternal, Op: "decode", Message: "unknown array dtype " + string(dtype)}
	}
	if len(raw)%size != 0 {
		return Array{}, &Error{Code: CodeInternal, Op: "decode", Message: "array data is not a whole number of elements"}
	}
	var data any
	switch dtype {
	case Float64:
		data = typedView[float64](raw)
	case Float32:
		data = typedView[float32](raw)
	case Int64:
		data = typedView[int64](raw)
	case Int32:
		data = typedView[int32](raw)
	case Uint8:
		data = typedView[uint8](raw)
	}
	a := Array{DType: dtype, Shape: shape, Data: data}
	return a, a.check()
}

// typedView is raw's bytes as a []T over the same memory, or over a copy when raw is not
// aligned for T. T holds no pointers, so the garbage collector keeps raw's memory alive
// through the view as through raw.
func typedView[T float64 | float32 | int64 | int32 | uint8](raw []byte) []T {
	size := int(unsafe.Sizeof(*new(T)))
	n := len(raw) / size
	if n == 0 {
		return []T{}
	}
	p := unsafe.Pointer(unsafe.SliceData(raw))
	if uintptr(p)%unsafe.Alignof(*new(T)) == 0 {
		return unsafe.Slice((*T)(p), n)
	}
	s := freshSlice[T](n)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(raw)), raw)
	return s
}
