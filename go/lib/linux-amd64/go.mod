module github.com/rpyc-bridge/rpyc-bridge/go/lib/linux-amd64

go 1.24
