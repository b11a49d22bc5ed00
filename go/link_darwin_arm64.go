//go:build darwin && arm64

package rpyc

// librpyc_bridge.a and its link flags are in a module of their own per platform (lib/*),
// so that go get and go build download only the archive the build needs.
import lib "github.com/rpyc-bridge/rpyc-bridge/go/lib/darwin-arm64"

const archiveSHA256 = lib.ArchiveSHA256
