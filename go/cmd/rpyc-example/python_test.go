package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// `rpyc-example python ...` (rpyc.PythonMain) alone in an empty directory with an empty
// environment (env -i): -c, -m, a script, and a program on stdin all run, and sys.path is
// python -I's: the embedded zip alone, no script directory and no current directory.
func TestPythonMainWithEmptyEnvironment(t *testing.T) {
	_, bin := buildAlone(t)
	empty := t.TempDir()
	scripts := t.TempDir()
	script := filepath.Join(scripts, "hello.py")
	// A module beside the script: `python -I` does not import it, and neither do we.
	must(t, os.WriteFile(filepath.Join(scripts, "beside.py"), []byte("print('imported from the script directory')\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(empty, "incwd.py"), []byte("print('imported from the current directory')\n"), 0o644))
	must(t, os.WriteFile(script, []byte(`import sys
print("script", sys.argv[1:], sys.path)
for name in ("beside", "incwd"):
    try:
        __import__(name)
    except ImportError:
        print("no", name)
`), 0o644))
	zipPath := "['<rpyc-bridge>/stdlib.zip']"
	for _, c := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"-c", []string{"-c", "import sys, rpyc; print(sys.version_info[:2], rpyc.__version__, sys.path)"}, "",
			"(3, 13) 6.0.2 " + zipPath + "\n"},
		{"-m", []string{"-m", "json.tool", "--compact"}, `{"a": [1, 2]}`, `{"a":[1,2]}` + "\n"},
		{"script", []string{script, "x", "y"}, "", "script ['x', 'y'] " + zipPath + "\nno beside\nno incwd\n"},
		{"stdin", []string{"-"}, "import sys\nprint('stdin', sys.path)\n", "stdin " + zipPath + "\n"},
		{"stdin, no argument", nil, "print(6 * 7)\n", "42\n"},
		{"cwd not on sys.path", []string{"-c", "import incwd"}, "", "ModuleNotFoundError: No module named 'incwd'"},
	} {
		cmd := exec.Command(bin, append([]string{"python"}, c.args...)...)
		cmd.Dir = empty
		cmd.Env = []string{} // env -i
		cmd.Stdin = strings.NewReader(c.stdin)
		out, err := cmd.CombinedOutput()
		if strings.HasPrefix(c.want, "ModuleNotFoundError") {
			if err == nil || !strings.Contains(string(out), c.want) {
				t.Errorf("%s: %v\n%s\nwant a failure saying %q", c.name, err, out, c.want)
			}
			continue
		}
		if err != nil || string(out) != c.want {
			t.Errorf("%s: %v\ngot  %q\nwant %q", c.name, err, out, c.want)
		}
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 1 {
		t.Errorf("the working directory has %v, want only incwd.py", entries)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
