module github.com/rpyc-bridge/rpyc-bridge/go/lib/linux-amd64-musl

go 1.24
