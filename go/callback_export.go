package rpyc

// The callback handler the library calls (RpycCallbackFn in rpyc_bridge.h). Its preamble
// only declares: a file with //export may not define C functions.

// #include <stdint.h>
// #include <stdlib.h>
// #include "rpyc_bridge.h"
import "C"

import (
	"unsafe"
)

//export rpycGoCallback
func rpycGoCallback(event C.RpycCallbackEvent, id C.uint64_t, conn C.uint64_t, argsJSON *C.char, kwargsJSON *C.char, buffers *C.RpycSlice, nbuffers C.size_t, outJSON **C.char, outError **C.char) C.int32_t {
	switch event {
	case C.RPYC_CALLBACK_EVENT_RETAIN:
		if !retainCallback(uint64(id)) {
			return 1
		}
		return 0
	case C.RPYC_CALLBACK_EVENT_RELEASE:
		releaseCallback(uint64(id))
		return 0
	}
	fail := func(status C.int32_t, err error) C.int32_t {
		*outError = C.CString(err.Error()) // malloc'd: the library frees it
		return status
	}
	c := connByHandle(uint64(conn))
	var views [][]byte
	if nbuffers > 0 {
		for _, s := range unsafe.Slice(buffers, int(nbuffers)) {
			views = append(views, unsafe.Slice((*byte)(unsafe.Pointer(s.data)), int(s.len)))
		}
	}
	newRefOf := func(h uint64) *Ref { return newRef(c, h) }
	argsTree, err := decodeTree([]byte(C.GoString(argsJSON)), viewed(views), newRefOf)
	if err != nil {
		return fail(1, err)
	}
	kwargsTree, err := decodeTree([]byte(C.GoString(kwargsJSON)), viewed(views), newRefOf)
	if err != nil {
		return fail(1, err)
	}
	args, _ := argsTree.([]any)
	kwargs, _ := kwargsTree.(map[string]any)
	if c != nil {
		c.callbacks.Add(1)
		defer c.callbacks.Add(-1)
	}
	result, err, panicked := runCallback(uint64(id), args, kwargs)
	if panicked {
		return fail(2, err)
	}
	if err != nil {
		return fail(1, err)
	}
	p := &payload{conn: c}
	err = p.encode(result)
	if err == nil && (len(p.buffers) > 0 || len(p.callbacks) > 0) {
		err = &Error{Code: CodeArgument, Op: "callback", Message: "a callback result cannot hold []byte, Array or Callback values"}
	}
	if err != nil {
		return fail(1, err)
	}
	*outJSON = C.CString(p.json.String())
	return 0
}
