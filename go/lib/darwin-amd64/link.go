//go:build darwin && amd64

// Package darwinamd64 holds librpyc_bridge.a for macOS amd64 (with python-build-standalone's
// CPython) and the flags that link it. The archive is built on macOS only: by the release
// workflow's macOS job, or scripts/build.sh on a Mac. No macOS machine has linked it yet.
package darwinamd64

// #cgo LDFLAGS: -L${SRCDIR} -lrpyc_bridge -lm -ldl -framework CoreFoundation
import "C"
