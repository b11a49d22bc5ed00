package rpyc_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestSignalsReachGoDuringCalls builds testdata/sigprog, lets it make calls against the
// real server, and sends it SIGINT then SIGTERM while calls are in flight: Go's
// signal.Notify must get both, and the program must wind down and exit 0.
func TestSignalsReachGoDuringCalls(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sigprog")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(goTool, "build", "-o", bin, "./testdata/sigprog")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, serverAddr)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case got, ok := <-lines:
			if !ok || got != want {
				t.Fatalf("sigprog said %q (open: %v), want %q", got, ok, want)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("sigprog did not say %q within 10s", want)
		}
	}
	expect("calling")
	time.Sleep(100 * time.Millisecond) // let the slow calls be in flight
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		expect("got " + sig.String())
	}
	expect("clean exit")
	for range lines {
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("sigprog: %v", err)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("sigprog did not exit")
	}
}
