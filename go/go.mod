module github.com/rpyc-bridge/rpyc-bridge/go

go 1.24

// The per-platform archive modules (lib/*). Inside the repository, replace directives use
// those folders, where scripts/build.sh links the archives it builds; the go.mod published
// by scripts/dist.sh requires the release version (Cargo.toml's) and replaces nothing.
require (
	github.com/rpyc-bridge/rpyc-bridge/go/lib/darwin-amd64 v0.0.0-00010101000000-000000000000
	github.com/rpyc-bridge/rpyc-bridge/go/lib/darwin-arm64 v0.0.0-00010101000000-000000000000
	github.com/rpyc-bridge/rpyc-bridge/go/lib/linux-amd64 v0.0.0-00010101000000-000000000000
	github.com/rpyc-bridge/rpyc-bridge/go/lib/linux-amd64-musl v0.0.0-00010101000000-000000000000
	github.com/rpyc-bridge/rpyc-bridge/go/lib/linux-arm64 v0.0.0-00010101000000-000000000000
	github.com/rpyc-bridge/rpyc-bridge/go/lib/linux-arm64-musl v0.0.0-00010101000000-000000000000
)

replace (
	github.com/rpyc-bridge/rpyc-bridge/go/lib/darwin-amd64 => ./lib/darwin-amd64
	github.com/rpyc-bridge/rpyc-bridge/go/lib/darwin-arm64 => ./lib/darwin-arm64
	github.com/rpyc-bridge/rpyc-bridge/go/lib/linux-amd64 => ./lib/linux-amd64
	github.com/rpyc-bridge/rpyc-bridge/go/lib/linux-amd64-musl => ./lib/linux-amd64-musl
	github.com/rpyc-bridge/rpyc-bridge/go/lib/linux-arm64 => ./lib/linux-arm64
	github.com/rpyc-bridge/rpyc-bridge/go/lib/linux-arm64-musl => ./lib/linux-arm64-musl
)
