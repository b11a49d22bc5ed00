//go:build linux && amd64 && !musl

// Package linuxamd64 holds librpyc_bridge.a for linux/amd64 (glibc) and the flags that link
// it. The rpyc package imports it on that platform only, so a build fetches no other
// platform's archive.
package linuxamd64

// #cgo LDFLAGS: -L${SRCDIR} -lrpyc_bridge -lm -ldl -lpthread -lutil -static-libgcc
import "C"
