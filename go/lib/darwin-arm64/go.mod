module github.com/rpyc-bridge/rpyc-bridge/go/lib/darwin-arm64

go 1.24
