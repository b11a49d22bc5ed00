package main

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// rssMB is this process's resident set (VmRSS of /proc/self/status), in MB.
func rssMB() float64 { return statusMB("VmRSS") }

// statusMB is the field (VmRSS, VmHWM, ...) of /proc/self/status, in MB.
func statusMB(field string) float64 {
	f, err := os.Open("/proc/self/status")
	must(err, "read /proc/self/status")
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			must(err, "parse "+field)
			return kb / 1024
		}
	}
	must(s.Err(), "read /proc/self/status")
	return 0
}

// rssRows measures RSS around 100k calls and 10k Ref creations and releases, after a
// warm-up, beside the same process before Python started. Run it first: other benchmarks
// would raise the idle figure.
func rssRows(t *table, addr string, start float64) {
	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, addr)
	must(err, "dial")
	defer conn.Close()
	math, err := conn.Import(ctx, "math")
	must(err, "import math")
	defer math.Close()
	round := func(calls, refs int) {
		for range calls {
			_, err := conn.Call(ctx, "math", "sqrt", 16)
			must(err, "call")
		}
		for range refs {
			pi, err := math.Attr(ctx, "pi")
			must(err, "attr")
			must(pi.Close(), "release")
		}
	}
	round(10_000, 1_000)
	idle := rssMB()
	round(100_000, 0)
	afterCalls := rssMB()
	round(0, 10_000)
	final := rssMB()
	t.row("RSS idle (connected, warmed up), MB (vs before Python started)", idle, start)
	t.row("RSS after 100k calls, MB (vs idle, same process)", afterCalls, idle)
	t.row("RSS growth over 100k calls + 10k Refs, MB (vs goal < 1)", final-idle, 1)
}
