//go:build linux && amd64 && musl

// Package linuxamd64musl holds librpyc_bridge.a for linux/amd64 with musl (go build -tags
// musl, CC=musl-gcc, -ldflags '-linkmode external -extldflags -static'), with Rust's
// libunwind.a beside it (musl has no unwinder), and the flags that link them. The rpyc
// package imports it with the musl tag only.
package linuxamd64musl

// #cgo LDFLAGS: -L${SRCDIR} -lrpyc_bridge -lunwind -lm -lpthread
import "C"
