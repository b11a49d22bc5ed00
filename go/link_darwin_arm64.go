//go:build darwin && arm64

package rpyc

// The archive scripts/build.sh puts in dist/darwin_arm64 (python-build-standalone's CPython).
// Written for the release workflow's macOS jobs; no macOS machine has linked it yet.

// #cgo LDFLAGS: ${SRCDIR}/../dist/darwin_arm64/librpyc_bridge.a -lm -ldl -framework CoreFoundation
import "C"
