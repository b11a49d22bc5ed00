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
// Arguments travel as JSON and arrive in Python as tuples (Go slices and arrays) and
// dicts (maps, structs). Results come back as JSON; numpy scalars and arrays are turned
// into numbers and nested lists on the server, so the client needs no numpy.
//
// Everything is safe for concurrent use. Calls on one Conn are serialised; calls on
// different Conns run in parallel (the Python GIL is released while waiting on the network).
package rpyc
