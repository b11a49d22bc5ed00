module github.com/rpyc-bridge/rpyc-bridge/go/lib/linux-arm64-musl

go 1.24
