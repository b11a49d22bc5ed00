package rpyc

// #cgo CFLAGS: -I${SRCDIR}
// #include "rpyc_bridge.h"
import "C"

// Code says what kind of failure an *Error is. The values are RpycStatus of rpyc_bridge.h
// (generated from src/error.rs), taken from the header itself.
type Code int32

const (
	CodeArgument Code = C.RPYC_STATUS_ERR_ARGUMENT // bad argument: invalid JSON, unsupported value, bad address
	CodeInit     Code = C.RPYC_STATUS_ERR_INIT     // the embedded Python did not start
	CodeConnect  Code = C.RPYC_STATUS_ERR_CONNECT  // could not connect, or the peer is not an RPyC server
	CodePython   Code = C.RPYC_STATUS_ERR_PYTHON   // the remote code raised (see PythonError)
	CodeHandle   Code = C.RPYC_STATUS_ERR_HANDLE   // unknown or closed connection handle
	CodeTimeout  Code = C.RPYC_STATUS_ERR_TIMEOUT  // no reply in time
	CodeClosed   Code = C.RPYC_STATUS_ERR_CLOSED   // the connection is closed or broken
	CodeInternal Code = C.RPYC_STATUS_ERR_INTERNAL // a bug in the bridge
)
