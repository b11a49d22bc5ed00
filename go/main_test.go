package rpyc_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// serverAddr is a real RPyC classic server on 127.0.0.1, started for this test binary.
var serverAddr string

func TestMain(m *testing.M) {
	stop, addr, err := startServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start the RPyC server:", err)
		os.Exit(1)
	}
	serverAddr = addr
	code := m.Run()
	stop()
	os.Exit(code)
}

// startServer runs tests/fixtures/classic_server.py with the project's venv
// (scripts/setup-venv.sh makes it; RPYC_BRIDGE_SERVER_PYTHON overrides).
func startServer() (stop func(), addr string, err error) {
	python := os.Getenv("RPYC_BRIDGE_SERVER_PYTHON")
	if python == "" {
		python, _ = filepath.Abs("../.venv/bin/python")
	}
	if _, err := os.Stat(python); err != nil {
		return nil, "", fmt.Errorf("%s is missing: run scripts/setup-venv.sh", python)
	}
	cmd := exec.Command(python, "../tests/fixtures/classic_server.py")
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
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	return stop, "127.0.0.1:" + strings.TrimSpace(line), nil
}
