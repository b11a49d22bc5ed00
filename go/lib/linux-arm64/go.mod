module github.com/rpyc-bridge/rpyc-bridge/go/lib/linux-arm64

go 1.24
