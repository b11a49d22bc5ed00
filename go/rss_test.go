package rpyc_test

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
)

// rssMB is this process's resident set (VmRSS of /proc/self/status), in MB.
func rssMB(t *testing.T) float64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb / 1024
		}
	}
	t.Fatal("no VmRSS line")
	return 0
}

// TestRSSStaysFlatOverManyCalls makes 100k calls and 10k Ref creations and releases
// after a warm-up. The real figure is in scripts/bench.sh; this bound is loose on purpose
// (machines and the race detector are noisy) and only catches a leak per call.
func TestRSSStaysFlatOverManyCalls(t *testing.T) {
	calls, refs := 100_000, 10_000
	if testing.Short() {
		calls, refs = 10_000, 1_000
	}
	ctx := context.Background()
	conn := dial(t)
	math := ref(t)(conn.Import(ctx, "math"))
	round := func(calls, refs int) {
		for range calls {
			if _, err := conn.Call(ctx, "math", "sqrt", 16); err != nil {
				t.Fatal(err)
			}
		}
		for range refs {
			pi, err := math.Attr(ctx, "pi") // not ref(t): its t.Cleanup would hold every Ref
			if err != nil {
				t.Fatal(err)
			}
			if err := pi.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	round(calls/10, refs/10)
	before := rssMB(t)
	round(calls, refs)
	after := rssMB(t)
	t.Logf("RSS %.1f MB before, %.1f MB after %d calls + %d Refs", before, after, calls, refs)
	bound := 20.0
	if raceDetector {
		bound = 60
	}
	if after-before > bound {
		t.Errorf("RSS grew %.1f MB over %d calls + %d Refs", after-before, calls, refs)
	}
	if n, err := conn.LiveRefs(); err != nil || n != 1 {
		t.Errorf("live Refs: %d, %v; want 1 (math)", n, err)
	}

}
