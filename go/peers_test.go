package rpyc_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// startRPyC5Server runs tests/fixtures/classic_server.py with rpyc 5.3.1, from .venv-rpyc5
// (scripts/setup-venv.sh makes it; RPYC_BRIDGE_SERVER5_PYTHON overrides).
func startRPyC5Server(t *testing.T) string {
	t.Helper()
	python := os.Getenv("RPYC_BRIDGE_SERVER5_PYTHON")
	if python == "" {
		python, _ = filepath.Abs("../.venv-rpyc5/bin/python")
	}
	version, err := exec.Command(python, "-c", "import rpyc; print(rpyc.__version__)").Output()
	if err != nil {
		t.Fatalf("%s cannot import rpyc (run scripts/setup-venv.sh): %v", python, err)
	}
	if v := strings.TrimSpace(string(version)); v != "5.3.1" {
		t.Fatalf("%s has rpyc %s, want 5.3.1", python, v)
	}
	cmd := exec.Command(python, "../tests/fixtures/classic_server.py")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the rpyc 5 server printed no port: %v", err)
	}
	return "127.0.0.1:" + strings.TrimSpace(line)
}

// peer accepts connections on 127.0.0.1 and hands each to serve, until the test ends.
func peer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); serve(c) }()
		}
	}()
	return l.Addr().String()
}

// dialFails dials addr with a connect timeout and returns the error, which must be
// ErrConnect within the timeout (plus slack for a loaded machine).
func dialFails(t *testing.T, what, addr string, timeout time.Duration, opts ...rpyc.DialOption) string {
	t.Helper()
	start := time.Now()
	conn, err := rpyc.Dial(context.Background(), addr, append(opts, rpyc.WithConnectTimeout(timeout))...)
	took := time.Since(start)
	if err == nil {
		conn.Close()
		t.Fatalf("%s: Dial succeeded", what)
	}
	if !errors.Is(err, rpyc.ErrConnect) {
		t.Errorf("%s: %v, want ErrConnect", what, err)
	}
	if took > timeout+time.Second {
		t.Errorf("%s: the Dial took %v, connect timeout %v", what, took, timeout)
	}
	t.Logf("%s (%v): %v", what, took.Round(time.Millisecond), err)
	return err.Error()
}

func wantAll(t *testing.T, what, msg string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("%s: the error does not say %q: %s", what, p, msg)
		}
	}
}

func TestRPyC5ServerNamesBothProtocols(t *testing.T) {
	addr := startRPyC5Server(t)
	for _, opts := range [][]rpyc.DialOption{nil, {rpyc.WithCustomService()}} {
		msg := dialFails(t, "rpyc 5.3.1 server", addr, 5*time.Second, opts...)
		wantAll(t, "rpyc 5.3.1 server", msg, addr, "RPyC 5 protocol", "RPyC 6 protocol (RPyC 6.0.2)", "run rpyc 6 on the server")
	}
}

func TestNonRPyCPeersEachSayWhatTheyAre(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello"))
	}))
	defer web.Close()
	httpAddr := strings.TrimPrefix(web.URL, "http://")
	closes := peer(t, func(net.Conn) {})
	silent := peer(t, func(c net.Conn) { _, _ = c.Read(make([]byte, 1)); time.Sleep(3 * time.Second) })
	garbage := peer(t, func(c net.Conn) {
		_, _ = c.Write([]byte("\x00\x00\x00\x05\x00garbage, not brine\xff\xfe"))
		time.Sleep(3 * time.Second)
	})
	for _, opts := range [][]rpyc.DialOption{nil, {rpyc.WithCustomService()}} {
		wantAll(t, "HTTP server", dialFails(t, "HTTP server", httpAddr, 2*time.Second, opts...),
			httpAddr, "is an HTTP server, not an RPyC server", "HTTP/1.1 400 Bad Request", "check the port")
		wantAll(t, "peer that closes", dialFails(t, "peer that closes", closes, 2*time.Second, opts...),
			closes, "closed the connection without sending anything")
		wantAll(t, "silent peer", dialFails(t, "silent peer", silent, time.Second, opts...),
			silent, "sent nothing within the connect timeout (1.0 s)")
		wantAll(t, "garbage peer", dialFails(t, "garbage peer", garbage, time.Second, opts...),
			garbage, "sent bytes that are not RPyC", "garba")
	}
}
