//go:build linux && amd64 && musl

package rpyc

// The fully static build (scripts/build.sh x86_64-unknown-linux-musl): go build -tags musl with
// CC=musl-gcc and -ldflags '-linkmode external -extldflags -static'. libunwind.a is Rust's
// own unwinder for musl, copied from rustlib next to the archive.

// #cgo LDFLAGS: ${SRCDIR}/../dist/linux_amd64_musl/librpyc_bridge.a ${SRCDIR}/../dist/linux_amd64_musl/libunwind.a -lm -lpthread
import "C"
