package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const expectedOutput = `Go + Rust FFI + RPyC Integration
================================

Connecting to RPyC server...
  Connected!

Test 1: math.sqrt(16)
  Result: 4.0

Test 2: numpy.mean([1,2,3,4,5])
  Result: 3.0

Test 3: math.pi
  Result: 3.141592653589793

================================
All tests passed!
`

// buildAlone builds the example and copies it alone into an empty directory.
func buildAlone(t *testing.T) (dir, bin string) {
	t.Helper()
	build := t.TempDir()
	out := filepath.Join(build, "rpyc-example")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, msg)
	}
	dir = t.TempDir()
	bin = filepath.Join(dir, "rpyc-example")
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, bin
}

func startServer(t *testing.T) (host, port string) {
	t.Helper()
	python := os.Getenv("RPYC_BRIDGE_SERVER_PYTHON")
	if python == "" {
		python, _ = filepath.Abs("../../../.venv/bin/python")
	}
	script, _ := filepath.Abs("../../../tests/fixtures/classic_server.py")
	cmd := exec.Command(python, script)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start server (%s; run scripts/setup-venv.sh): %v", python, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("server printed no port: %v", err)
	}
	return "127.0.0.1", strings.TrimSpace(line)
}

// The example alone in an empty directory, with an empty environment, prints exactly the
// seed's expected output.
func TestExampleAloneWithEmptyEnvironment(t *testing.T) {
	dir, bin := buildAlone(t)
	host, port := startServer(t)
	cmd := exec.Command(bin, "-host", host, "-port", port)
	cmd.Dir = dir
	cmd.Env = []string{} // env -i
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if string(out) != expectedOutput {
		t.Fatalf("output:\n%s\nwant:\n%s", out, expectedOutput)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the example wrote files next to itself: %v", entries)
	}
}

// ldd lists only libc-family libraries: no libpython, libgcc_s or libz.
func TestExampleLinksOnlyLibc(t *testing.T) {
	_, bin := buildAlone(t)
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("ldd: %v\n%s", err, out)
	}
	allowed := []string{"linux-vdso", "libc.so", "libm.so", "libdl.so", "libpthread.so", "ld-linux", "libutil.so"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name := strings.Fields(line)[0]
		ok := false
		for _, a := range allowed {
			ok = ok || strings.Contains(name, a)
		}
		if !ok {
			t.Errorf("unexpected dynamic dependency %q\n%s", name, out)
		}
	}
}

func TestExampleRunsTheEmbeddedPython(t *testing.T) {
	_, bin := buildAlone(t)
	cmd := exec.Command(bin, "python", "-c", "import sys, rpyc; print(sys.version.split()[0], rpyc.__version__)")
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "3.13.") || !strings.Contains(string(out), "6.0.2") {
		t.Fatalf("%v: %s", err, out)
	}
}
