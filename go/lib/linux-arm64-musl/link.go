//go:build linux && arm64 && musl

// Package linuxarm64musl holds librpyc_bridge.a for linux/arm64 with musl (go build -tags
// musl, a musl C compiler, -ldflags '-linkmode external -extldflags -static'), with Rust's
// libunwind.a beside it (musl has no unwinder), and the flags that link them. The rpyc
// package imports it with the musl tag only.
package linuxarm64musl

// #cgo LDFLAGS: -L${SRCDIR} -lrpyc_bridge -lunwind -lm -lpthread
import "C"
