package rpyc

import "encoding/json"

// Init starts the embedded Python. It is optional (first use starts it), idempotent and
// safe for concurrent use; a failure is returned every time.
func Init() error { return capiInit() }

// RuntimeInfo says what the embedded Python carries.
type RuntimeInfo struct {
	PythonVersion  string   `json:"python_version"`
	RPyCVersion    string   `json:"rpyc_version"`
	BuiltinModules []string `json:"builtin_modules"`
	Path           []string `json:"path"`
	// Executable is sys.executable: this binary itself (never a python found on PATH), so
	// that code which starts sys.executable (multiprocessing, subprocess helpers) starts
	// this program.
	Executable string `json:"executable"`
}

// Info reports the embedded Python's version, rpyc version and built-in modules.
func Info() (RuntimeInfo, error) {
	var info RuntimeInfo
	text, err := capiInfo()
	if err != nil {
		return info, err
	}
	err = json.Unmarshal([]byte(text), &info)
	return info, err
}

// PythonMain runs the embedded Python as a program, like `python` with args (args[0] is
// the program name): "-c", code; "-m", module; a script path; or the REPL. It returns the
// exit status. Call it before anything else in this package, at most once: the
// interpreter is finalised when it returns.
func PythonMain(args []string) int { return capiPythonMain(args) }

// ArchiveSHA256 is the sha256 of the librpyc_bridge.a this binary was linked with.
func ArchiveSHA256() string { return archiveSHA256 }
