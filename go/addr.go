package rpyc

import (
	"errors"
	"strings"
)

// splitHostPort and joinHostPort are net.SplitHostPort and net.JoinHostPort for the
// forms an RPyC address takes ("host:port", "[v6]:port"): the package needs nothing else
// of net, whose resolver would otherwise be linked into every program (~1 MB).
func splitHostPort(addr string) (host, port string, err error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", "", errors.New("address " + addr + ": missing port in address")
	}
	host, port = addr[:i], addr[i+1:]
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return "", "", errors.New("address " + addr + ": missing ']' in address")
		}
		host = host[1 : len(host)-1]
	} else if strings.ContainsAny(host, ":[]") {
		return "", "", errors.New("address " + addr + ": too many colons in address")
	}
	return host, port, nil
}

func joinHostPort(host, port string) string {
	if strings.IndexByte(host, ':') >= 0 {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}
