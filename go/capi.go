package rpyc

// Every call into the C ABI is in this file. Strings passed in are copied to C memory and
// freed here; strings and errors returned by the library are copied to Go and freed here.

// #cgo CFLAGS: -I${SRCDIR}/../dist/include
// #include <stdlib.h>
// #include "rpyc_bridge.h"
import "C"

import (
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

func capiCall(handle uint64, module, function, argsJSON, kwargsJSON string, timeoutMs int64) (string, error) {
	cmod, cfn, cargs, ckw := cString(module), cString(function), cString(argsJSON), cOptString(kwargsJSON)
	defer free(cmod)
	defer free(cfn)
	defer free(cargs)
	defer free(ckw)
	var out *C.char
	var cerr *C.RpycError
	status := C.rpyc_conn_call(C.uint64_t(handle), cmod, cfn, cargs, ckw, C.int64_t(timeoutMs), &out, &cerr)
	return takeString(out), takeError(status, cerr, "call "+module+"."+function)
}

func capiGetAttr(handle uint64, module, attr string, timeoutMs int64) (string, error) {
	cmod, cattr := cString(module), cString(attr)
	defer free(cmod)
	defer free(cattr)
	var out *C.char
	var cerr *C.RpycError
	status := C.rpyc_conn_getattr(C.uint64_t(handle), cmod, cattr, C.int64_t(timeoutMs), &out, &cerr)
	return takeString(out), takeError(status, cerr, "getattr "+module+"."+attr)
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
