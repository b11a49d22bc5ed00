//go:build linux && arm64 && !musl

package rpyc

// The archive scripts/build.sh puts in dist/linux_arm64. archiveSHA256 (zz_archive_linux_arm64.go,
// written by the same script) changes with it, so go build relinks a rebuilt archive.

// #cgo LDFLAGS: ${SRCDIR}/../dist/linux_arm64/librpyc_bridge.a -lm -ldl -lpthread -lutil -static-libgcc
import "C"
