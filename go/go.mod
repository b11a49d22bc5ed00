module github.com/rpyc-bridge/rpyc-bridge/go

go 1.24
