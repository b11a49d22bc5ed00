module github.com/rpyc-bridge/rpyc-bridge/go/lib/darwin-amd64

go 1.24
