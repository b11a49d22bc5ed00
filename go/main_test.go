package rpyc_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// Real RPyC servers on 127.0.0.1, started for this test binary: a classic one, and one
// that serves a custom service (tests/fixtures/service_server.py).
var serverAddr, serviceAddr string

func TestMain(m *testing.M) {
	if os.Getenv(asPythonEnv) == "1" {
		// This test binary as the embedded Python (see runEmbeddedPython).
		os.Exit(rpyc.PythonMain(os.Args))
	}
	stop, addr, err := startServer("classic_server.py")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start the RPyC server:", err)
		os.Exit(1)
	}
	stopService, addr2, err := startServer("service_server.py")
	if err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "cannot start the RPyC service server:", err)
		os.Exit(1)
	}
	serverAddr, serviceAddr = addr, addr2
	code := m.Run()
	stop()
	stopService()
	os.Exit(code)
}

// startServer runs a script of tests/fixtures with the project's venv
// (scripts/setup-venv.sh makes it; RPYC_BRIDGE_SERVER_PYTHON overrides).
func startServer(script string, args ...string) (stop func(), addr string, err error) {
	python := os.Getenv("RPYC_BRIDGE_SERVER_PYTHON")
	if python == "" {
		python, _ = filepath.Abs("../.venv/bin/python")
	}
	if _, err := os.Stat(python); err != nil {
		return nil, "", fmt.Errorf("%s is missing: run scripts/setup-venv.sh", python)
	}
	cmd := exec.Command(python, append([]string{"../tests/fixtures/" + script}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, "", fmt.Errorf("server printed no port: %w", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	return stop, "127.0.0.1:" + strings.TrimSpace(line), nil
}

func splitPort(addr string) (host, port string, err error) { return net.SplitHostPort(addr) }

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

func sleep() { time.Sleep(100 * time.Millisecond) }

const asPythonEnv = "RPYC_BRIDGE_TEST_AS_PYTHON"

// runEmbeddedPython runs this test binary as the embedded Python with args ("-c", ...)
// and returns what it printed.
func runEmbeddedPython(t *testing.T, args ...string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), asPythonEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("embedded python %v: %v\n%s", args, err, out)
	}
	return string(out)
}
