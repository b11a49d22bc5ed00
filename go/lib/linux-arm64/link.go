//go:build linux && arm64 && !musl

// Package linuxarm64 holds librpyc_bridge.a for linux/arm64 (glibc) and the flags that link
// it. The rpyc package imports it on that platform only, so a build fetches no other
// platform's archive.
package linuxarm64

// #cgo LDFLAGS: -L${SRCDIR} -lrpyc_bridge -lm -ldl -lpthread -lutil -static-libgcc
import "C"
