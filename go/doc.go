// Package rpyc calls remote Python over RPyC from Go, through an embedded, static CPython.
//
// The Python runtime and the rpyc client live in librpyc_bridge.a, which cgo links into
// the Go binary: the result needs no system Python and no LD_LIBRARY_PATH.
//
// Two APIs:
//
//   - the idiomatic one: Dial returns a *Conn; every blocking method takes a
//     context.Context; results are Values that Decode into Go values; remote exceptions
//     are *PythonError (errors.As);
//   - the seed's: NewRPyCClient, Call, GetAttr, Close, IsConnected.
//
// Arguments travel as tagged JSON plus byte buffers and arrive in Python as tuples (Go
// slices and arrays), dicts (maps, structs), bytes ([]byte) and numpy arrays (Array).
// Results come back the same way: numpy scalars become bool, int64 or float64, and an
// ndarray comes back as an Array (one buffer with its dtype and shape; Value.Array, or
// Decode into a typed slice or nested slices), so the client needs no numpy.
//
// On classic servers, Execute, Eval and Namespace run code in the connection's namespace
// (WithSetup runs it on every connect), and Upload and Download move files in chunks.
//
// Everything is safe for concurrent use. Calls on one Conn are serialised; calls on
// different Conns run in parallel (the Python GIL is released while waiting on the network).
package rpyc
