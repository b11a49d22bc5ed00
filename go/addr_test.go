package rpyc

import (
	"net"
	"testing"
)

func TestSplitHostPortIsNets(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:18812", "localhost:1", "[::1]:80", "[fe80::1%eth0]:9", ":80", "host:",
		"nohost", "::1:80", "[::1", "[::1]x:80", "a]:1"} {
		host, port, err := splitHostPort(addr)
		wantHost, wantPort, wantErr := net.SplitHostPort(addr)
		if (err != nil) != (wantErr != nil) || host != wantHost || port != wantPort {
			t.Errorf("splitHostPort(%q) = %q, %q, %v; net says %q, %q, %v", addr, host, port, err, wantHost, wantPort, wantErr)
		}
		if err == nil && joinHostPort(host, port) != net.JoinHostPort(host, port) {
			t.Errorf("joinHostPort(%q, %q) = %q, net says %q", host, port, joinHostPort(host, port), net.JoinHostPort(host, port))
		}
	}
}
