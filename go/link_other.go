//go:build !((linux || darwin) && (amd64 || arm64))

package rpyc

// librpyc_bridge.a is built for linux and macOS on amd64 and arm64 only.
const archiveSHA256 = rpyc_bridge_has_no_archive_for_this_GOOS_GOARCH__only_linux_and_darwin_on_amd64_and_arm64
