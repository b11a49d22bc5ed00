package rpyc_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// fakePythonDir is a directory with a `python` and a `python3` that only print who they
// are: first on PATH, they are what a PATH lookup of "python" would find.
func fakePythonDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"python", "python3", "python3.13"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\necho fake python\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const printInfoEnv = "RPYC_BRIDGE_TEST_PRINT_EXECUTABLE"

// TestHelperPrintExecutable is run by TestSysExecutableIsThisBinary in a child process, to
// see library mode's sys.executable with a PATH the child started with.
func TestHelperPrintExecutable(t *testing.T) {
	if os.Getenv(printInfoEnv) != "1" {
		t.Skip("run by TestSysExecutableIsThisBinary")
	}
	info, err := rpyc.Info()
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("executable=" + info.Executable + "\n")
}

func TestSysExecutableIsThisBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe, _ = filepath.EvalSymlinks(exe)
	path := "PATH=" + fakePythonDir(t) + string(os.PathListSeparator) + os.Getenv("PATH")
	env := func(extra ...string) []string {
		var out []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "PATH=") {
				out = append(out, kv)
			}
		}
		return append(append(out, path), extra...)
	}

	// Library mode: the bridge started by the first use (rpyc.Info).
	cmd := exec.Command(exe, "-test.run=^TestHelperPrintExecutable$", "-test.v")
	cmd.Env = env(printInfoEnv + "=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "executable="+exe+"\n") {
		t.Errorf("library mode: want sys.executable = %s, got:\n%s", exe, out)
	}

	// Program mode (PythonMain), with argv[0] a bare name as a shell passes it: a PATH
	// lookup of "python" would find the fake one.
	code := "import sys, subprocess; print(sys.executable); " +
		"print(subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True, text=True).stdout.strip())"
	for _, argv0 := range []string{exe, "python"} {
		cmd = exec.Command(exe, "-c", code)
		cmd.Args[0] = argv0
		cmd.Env = env(asPythonEnv + "=1")
		out, err = cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if want := exe + "\n42\n"; string(out) != want {
			t.Errorf("program mode, argv[0] %q: got %q, want %q (sys.executable, then it run as a Python)", argv0, out, want)
		}
	}
}
