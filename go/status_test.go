package rpyc_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"testing"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// The status codes are defined once, by RpycStatus in src/error.rs; cbindgen writes them
// into the header as RPYC_STATUS_*. Go's Codes are the header's constants (status.go), and
// the runtime's Python code (errors.py) takes them from the native module: both must be
// exactly the header's.
func TestStatusCodesMatchTheHeader(t *testing.T) {
	var header []byte
	for _, path := range []string{"../dist/include/rpyc_bridge.h", "rpyc_bridge.h", "include/rpyc_bridge.h"} {
		if b, err := os.ReadFile(path); err == nil {
			header = b
			break
		}
	}
	if header == nil {
		t.Fatal("rpyc_bridge.h not found")
	}
	inHeader := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^\s*RPYC_STATUS_(\w+) = (\d+),?$`).FindAllSubmatch(header, -1) {
		inHeader[string(m[1])], _ = strconv.Atoi(string(m[2]))
	}
	if len(inHeader) < 9 || inHeader["OK"] != 0 {
		t.Fatalf("the header's RPYC_STATUS_* are not what this test reads: %v", inHeader)
	}

	out := runEmbeddedPython(t, "-c", `
import json
from rpyc_bridge_rt import errors
print(json.dumps({k: v for k, v in vars(errors).items() if k == "OK" or k.startswith("ERR_")}))`)
	var inPython map[string]int
	if err := json.Unmarshal([]byte(out), &inPython); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(inPython) != len(inHeader) {
		t.Errorf("errors.py has %v, the header %v", inPython, inHeader)
	}
	for name, code := range inHeader {
		if got, ok := inPython[name]; !ok || got != code {
			t.Errorf("errors.%s: %d (present: %v), the header's RPYC_STATUS_%s: %d", name, got, ok, name, code)
		}
	}

	for name, code := range map[string]rpyc.Code{
		"ERR_ARGUMENT": rpyc.CodeArgument, "ERR_INIT": rpyc.CodeInit, "ERR_CONNECT": rpyc.CodeConnect,
		"ERR_PYTHON": rpyc.CodePython, "ERR_HANDLE": rpyc.CodeHandle, "ERR_TIMEOUT": rpyc.CodeTimeout,
		"ERR_CLOSED": rpyc.CodeClosed, "ERR_INTERNAL": rpyc.CodeInternal,
	} {
		if int(code) != inHeader[name] {
			t.Errorf("rpyc.Code for %s is %d, the header's %d", name, code, inHeader[name])
		}
	}
}
