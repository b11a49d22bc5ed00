package rpyc

// Every call into the C ABI is in this file. Strings passed in are copied to C memory and
// freed here; strings and errors returned by the library are copied to Go and freed here.

// #cgo CFLAGS: -I${SRCDIR}
// #include <stdlib.h>
// #include "rpyc_bridge.h"
//
// extern int32_t rpycGoCallback(RpycCallbackEvent, uint64_t, uint64_t, char *, char *, RpycSlice *, size_t, char **, char **);
// static void rpyc_register_go_callback(void) {
//     rpyc_set_callback_handler((RpycCallbackFn)rpycGoCallback);
// }
// extern uint8_t *rpycGoAlloc(size_t, uint64_t *);
// extern void rpycGoRelease(uint64_t);
// static void rpyc_register_go_allocator(void) {
//     rpyc_set_buffer_allocator((RpycAllocFn)rpycGoAlloc, (RpycReleaseFn)rpycGoRelease);
// }
import "C"

import (
	"bytes"
	"runtime"
	"sync"
	"unsafe"
)

// cString copies s to C memory; the caller frees it with C.free.
func cString(s string) *C.char { return C.CString(s) }

// cOptString is NULL for "".
func cOptString(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

func free(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

// takeString copies a library-owned string to Go and frees it.
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	s := C.GoString(p)
	C.rpyc_free_string(p)
	return s
}

// takeError turns a library error into a Go error and frees it. op names the operation.
func takeError(status C.int32_t, cerr *C.RpycError, op string) error {
	if status == 0 {
		return nil
	}
	if cerr == nil {
		return &Error{Code: Code(status), Op: op, Message: "no details"}
	}
	defer C.rpyc_error_free(cerr)
	code := Code(cerr.code)
	message := C.GoString(cerr.message)
	if code == CodePython {
		e := &PythonError{Op: op, Message: message}
		if cerr.type_name != nil {
			e.Type = C.GoString(cerr.type_name)
		}
		if cerr.traceback != nil {
			e.Traceback = C.GoString(cerr.traceback)
		}
		return e
	}
	return &Error{Code: code, Op: op, Message: message}
}

// Large result buffers are written into Go memory (result_buffers.go) from the start.
func init() { C.rpyc_register_go_allocator() }

func capiInit() error {
	var cerr *C.RpycError
	return takeError(C.rpyc_runtime_init(&cerr), cerr, "init")
}

func capiInfo() (string, error) {
	var out *C.char
	var cerr *C.RpycError
	status := C.rpyc_runtime_info(&out, &cerr)
	return takeString(out), takeError(status, cerr, "info")
}

func capiOpen(host string, port int, optionsJSON string) (uint64, error) {
	chost, copts := cString(host), cOptString(optionsJSON)
	defer free(chost)
	defer free(copts)
	var handle C.uint64_t
	var cerr *C.RpycError
	status := C.rpyc_open(chost, C.int32_t(port), copts, &handle, &cerr)
	return uint64(handle), takeError(status, cerr, "dial")
}

func capiClose(handle uint64) error {
	var cerr *C.RpycError
	return takeError(C.rpyc_close(C.uint64_t(handle), &cerr), cerr, "close")
}

func capiIsConnected(handle uint64) bool {
	return C.rpyc_conn_is_connected(C.uint64_t(handle)) == 1
}

// lentBuffers lends Go byte slices to C for one call: the data is pinned, not copied, and the
// []C.RpycSlice itself is Go memory holding only pinned pointers, as cgo allows.
type lentBuffers struct {
	pinner runtime.Pinner
	items  []C.RpycSlice
}

func lend(buffers [][]byte) *lentBuffers {
	s := &lentBuffers{items: make([]C.RpycSlice, len(buffers))}
	for i, b := range buffers {
		if len(b) == 0 {
			continue
		}
		p := unsafe.SliceData(b)
		s.pinner.Pin(p)
		s.items[i] = C.RpycSlice{data: (*C.uint8_t)(unsafe.Pointer(p)), len: C.size_t(len(b))}
	}
	return s
}

func (s *lentBuffers) ptr() *C.RpycSlice {
	if len(s.items) == 0 {
		return nil
	}
	s.pinner.Pin(&s.items[0])
	return &s.items[0]
}

func (s *lentBuffers) n() C.size_t { return C.size_t(len(s.items)) }

func (s *lentBuffers) release() { s.pinner.Unpin() }

// takeValue decodes a library value (copying its buffers into Go memory, or keeping those
// it wrote into Go memory: result_buffers.go) and frees it.
func takeValue(conn *Conn, v *C.RpycValue) (Value, error) {
	if v == nil {
		return Value{}, &Error{Code: CodeInternal, Op: "decode", Message: "no value"}
	}
	defer C.rpyc_value_free(v)
	text := []byte(C.GoString(v.json))
	var buffers resultBuffers
	unknown := false
	if v.nbuffers > 0 {
		for _, b := range unsafe.Slice(v.buffers, int(v.nbuffers)) {
			data := unsafe.Slice((*byte)(unsafe.Pointer(b.data)), int(b.len))
			if b.token != 0 {
				data = claimBuffer(uint64(b.token)) // Go memory, ours from here on
				unknown = unknown || data == nil
			} // else a view of C memory, valid until rpyc_value_free: decoding copies it
			buffers.data = append(buffers.data, data)
			buffers.owned = append(buffers.owned, b.token != 0)
		}
	}
	if unknown {
		return Value{}, &Error{Code: CodeInternal, Op: "decode", Message: "a result buffer of a token Go did not lend"}
	}
	if later := deferredValue(text, buffers); later != nil {
		return Value{later: later}, nil
	}
	tree, err := decodeTree(text, buffers, func(h uint64) *Ref { return newRef(conn, h) })
	if err != nil {
		return Value{}, err
	}
	if bytes.Contains(text, []byte(`{"$str":`)) || bytes.Contains(text, []byte(`{"$list":`)) ||
		bytes.Contains(text, []byte(`{"$pickle":`)) {
		text = nil // Value.JSON writes the value out when asked
	}
	return Value{raw: text, tree: tree}, nil
}

// The operations of rpyc_request, as the header numbers them.
const (
	opCall       = C.RPYC_OP_CALL
	opGetAttr    = C.RPYC_OP_GETATTR
	opImport     = C.RPYC_OP_IMPORT
	opRoot       = C.RPYC_OP_ROOT
	opRefGetAttr = C.RPYC_OP_REF_GETATTR
	opRefSetAttr = C.RPYC_OP_REF_SETATTR
	opRefCall    = C.RPYC_OP_REF_CALL
	opRefGetItem = C.RPYC_OP_REF_GETITEM
	opRefSetItem = C.RPYC_OP_REF_SETITEM
	opRefLen     = C.RPYC_OP_REF_LEN
	opRefRepr    = C.RPYC_OP_REF_REPR
	opRefStr     = C.RPYC_OP_REF_STR
	opRefValue   = C.RPYC_OP_REF_VALUE
	opRefIter    = C.RPYC_OP_REF_ITER
	opIterNext   = C.RPYC_OP_ITER_NEXT
)

// capiRequest runs one request (rpyc_request); every operation on a Conn or a Ref is one.
func capiRequest(conn *Conn, handle uint64, req *request, timeoutMs int64, cancelFd int32) (Value, error) {
	cmod, cname, ca, cb := cOptString(req.module), cOptString(req.name), cOptString(req.a), cOptString(req.b)
	defer free(cmod)
	defer free(cname)
	defer free(ca)
	defer free(cb)
	lent := lend(req.buffers)
	defer lent.release()
	creq := C.RpycRequest{
		op:          C.int32_t(req.op),
		conn:        C.uint64_t(handle),
		target:      C.uint64_t(req.target),
		module:      cmod,
		name:        cname,
		args_json:   ca,
		kwargs_json: cb,
		buffers:     lent.ptr(),
		nbuffers:    lent.n(),
		timeout_ms:  C.int64_t(timeoutMs),
		cancel_fd:   C.int32_t(cancelFd),
	}
	var out *C.RpycValue
	var cerr *C.RpycError
	status := C.rpyc_request(&creq, &out, &cerr)
	if err := takeError(status, cerr, req.what); err != nil {
		return Value{}, err
	}
	return takeValue(conn, out)
}

func capiRefCount(handle uint64) (uint64, error) {
	var out C.uint64_t
	var cerr *C.RpycError
	status := C.rpyc_conn_ref_count(C.uint64_t(handle), &out, &cerr)
	return uint64(out), takeError(status, cerr, "ref count")
}

func capiDiscover(service, host string, port int, tcp bool, timeoutMs int64) (string, error) {
	cservice, chost := cString(service), cString(host)
	defer free(cservice)
	defer free(chost)
	flag := C.int32_t(0)
	if tcp {
		flag = 1
	}
	var out *C.char
	var cerr *C.RpycError
	status := C.rpyc_discover(cservice, chost, C.int32_t(port), flag, C.int64_t(timeoutMs), &out, &cerr)
	return takeString(out), takeError(status, cerr, "discover "+service)
}

var registerHandler sync.Once

// capiRegisterCallbacks installs the Go handler (callback_export.go), once, before the
// first request that passes a Callback.
func capiRegisterCallbacks() {
	registerHandler.Do(func() { C.rpyc_register_go_callback() })
}

func capiServeBackground(conn uint64, on bool) error {
	flag := C.int32_t(0)
	if on {
		flag = 1
	}
	var cerr *C.RpycError
	return takeError(C.rpyc_conn_serve_background(C.uint64_t(conn), flag, &cerr), cerr, "serve")
}

func capiRefRelease(ref uint64) error {
	var cerr *C.RpycError
	return takeError(C.rpyc_ref_release(C.uint64_t(ref), &cerr), cerr, "release")
}

func capiPythonMain(args []string) int {
	argv := make([]*C.char, len(args))
	for i, a := range args {
		argv[i] = cString(a)
		defer free(argv[i])
	}
	var p **C.char
	if len(argv) > 0 {
		p = &argv[0]
	}
	return int(C.rpyc_python_main(C.int(len(args)), p))
}
