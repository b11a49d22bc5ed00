package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// valueKind is one kind of by-value data, at three sizes (elements, or bytes for str and
// bytes), with how it decodes in Go.
type valueKind struct {
	name   string
	label  string
	sizes  [3]int
	mb     func(n int) float64 // the payload in MB, for the time per MB
	decode func(v rpyc.Value) (any, error)
}

// The sizes span 1 to 100 MB, or 100k to 10M elements: a dict of 10k entries (0.1 MB)
// fits in the cache and hid a step past 128 MB, the fast pickle's old cap.
var valueKinds = []valueKind{
	{"str", "str", [3]int{1e6, 1e7, 1e8}, bytesMB, func(v rpyc.Value) (any, error) { var s string; return s, decodeInto(v, &s) }},
	{"bytes", "bytes", [3]int{1e6, 1e7, 1e8}, bytesMB, func(v rpyc.Value) (any, error) { var b []byte; return b, decodeInto(v, &b) }},
	{"ints", "list of ints", [3]int{1e5, 1e6, 1e7}, wordsMB, func(v rpyc.Value) (any, error) { var x []int64; err := v.Decode(&x); return x, err }},
	{"floats", "list of floats", [3]int{1e5, 1e6, 1e7}, wordsMB, func(v rpyc.Value) (any, error) { var x []float64; err := v.Decode(&x); return x, err }},
	{"dict", "dict str->int", [3]int{1e5, 1e6, 1e7}, wordsMB, func(v rpyc.Value) (any, error) { var x map[string]int64; err := v.Decode(&x); return x, err }},
	{"nested", "list of records (nested)", [3]int{1e5, 1e6, 1e7}, wordsMB, func(v rpyc.Value) (any, error) { return v.Interface() }},
}

func bytesMB(n int) float64 { return float64(n) / 1e6 }
func wordsMB(n int) float64 { return float64(n) * 8 / 1e6 }

func decodeInto(v rpyc.Value, dst any) error { return v.Decode(dst) }

// sizeLabel is "1 MB", "100k", ...
func sizeLabel(k valueKind, n int) string {
	if k.name == "str" || k.name == "bytes" {
		return fmt.Sprintf("%d MB", n/1_000_000)
	}
	if n >= 1_000_000 {
		return fmt.Sprintf("%dM", n/1_000_000)
	}
	return fmt.Sprintf("%dk", n/1000)
}

// repeats: fewer runs of the large sizes (both clients). Each row is the median run: on a
// shared machine one slow run would move a mean, and the smallest, a few ms each, need
// many runs for a steady median.
func repeats(i int) int { return [3]int{15, 5, 3}[i] }

// warmups: two at every size, so that no size's median holds the process's growth into
// fresh memory, a cost paid once and not per MB. It takes two: Go's heap grows until a
// collection frees the last result, and only then reuses its memory. On this VM a first
// touch of fresh memory costs more than the copy into it (a 100 MB str result: 480 ms in
// fresh memory, 190 ms in reused).
func warmups(i int) int { return [3]int{2, 2, 2}[i] }

// valueRows times each kind and size as a result (Call + Decode) and as an argument,
// beside Python's rpyc client doing the same in the same run, and the time per MB at the
// largest size over the time per MB at the smallest. Each size runs in a process of its
// own ("rpyc-bench value-run"), as Python's client does: in one long process, what the
// sizes before left in Go's heap decided whether a small size's runs paid for a garbage
// collection (100k records: 14 ms after the 10M dict, 25 ms in a new process).
func valueRows(t *table, addr, serverPython string) {
	host, port, _ := strings.Cut(addr, ":")
	self, _ := os.Executable()
	for _, k := range valueKinds {
		var perMB, basePerMB [3]float64
		for i, n := range k.sizes {
			var ours, base valueTimes
			run := exec.Command(self, "value-run", addr, k.name, strconv.Itoa(n), strconv.Itoa(i))
			run.Stderr = os.Stderr
			out, err := run.Output()
			must(err, "value-run "+k.name)
			must(json.Unmarshal(out, &ours), "value-run output")
			out, err = exec.Command(serverPython, "tests/bench/python_client.py", host, port, "values", k.name,
				strconv.Itoa(n), strconv.Itoa(repeats(i)), strconv.Itoa(warmups(i))).Output()
			must(err, "python values baseline "+k.name)
			must(json.Unmarshal(out, &base), "python values baseline output")
			label := sizeLabel(k, n)
			t.row(fmt.Sprintf("%s result, %s, ms (vs Python rpyc client)", k.label, label), ours.ResultMS, base.ResultMS)
			t.row(fmt.Sprintf("%s argument, %s, ms (vs Python rpyc client)", k.label, label), ours.ArgMS, base.ArgMS)
			perMB[i], basePerMB[i] = ours.ResultMS/k.mb(n), base.ResultMS/k.mb(n)
		}
		t.row(fmt.Sprintf("%s result: ms per MB at %s over ms per MB at %s (vs flat)", k.label,
			sizeLabel(k, k.sizes[2]), sizeLabel(k, k.sizes[0])), perMB[2]/perMB[0], 1)
		// What the same growth costs Python's client: how much of it the machine makes.
		t.row("  the same for Python's rpyc client (vs flat)", basePerMB[2]/basePerMB[0], 1)
		if k.name == "dict" {
			// Filling a Go map in the keys' order, whose table outgrows the cache: the step
			// that decoding avoids by filling it in hash order (go/mapfill.go).
			small, large := mapFillMS(k.sizes[0]), mapFillMS(k.sizes[2])
			t.row("  the same for filling a Go map[string]int64 of its keys (vs flat)",
				large/k.mb(k.sizes[2])/(small/k.mb(k.sizes[0])), 1)
		}
	}
}

// valueTimes is one size's median ms, as value-run and python_client.py print it.
type valueTimes struct {
	ResultMS float64 `json:"result_ms"`
	ArgMS    float64 `json:"arg_ms"`
}

// valueRun is the child of valueRows: it prints kind's valueTimes at size n, the i-th of
// its sizes.
func valueRun(addr, kind string, n, i int) int {
	k := findKind(kind)
	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, addr)
	must(err, "dial")
	defer conn.Close()
	_, err = conn.Import(ctx, "bench_fixtures")
	must(err, "import bench_fixtures")
	// The server makes and caches the value first (Python's client fetches it once
	// before timing): what is timed is the transfer and decoding, not the making.
	_, err = conn.Call(ctx, "bench_fixtures", "prepare", k.name, n)
	must(err, "prepare "+k.name)
	var value any
	var times valueTimes
	times.ResultMS = timeMS(repeats(i), warmups(i), func() {
		// Python's client drops each run's result before the next; so does this one (the
		// last is kept, for the argument runs).
		value = nil
		v, err := conn.Call(ctx, "bench_fixtures", "make", k.name, n)
		must(err, "make "+k.name)
		value, err = k.decode(v)
		must(err, "decode "+k.name)
	})
	times.ArgMS = timeMS(repeats(i), warmups(i), func() {
		v, err := conn.Call(ctx, "bench_fixtures", "size", value)
		must(err, "size "+k.name)
		var got int
		must(v.Decode(&got), "size result")
	})
	out, err := json.Marshal(times)
	must(err, "value-run output")
	fmt.Println(string(out))
	return 0
}

func findKind(name string) valueKind {
	for _, k := range valueKinds {
		if k.name == name {
			return k
		}
	}
	panic("no value kind " + name)
}

// mapFillMS is the median ms to fill a map[string]int64 (sized ahead, as Decode sizes it)
// with n keys made beforehand, in their order.
func mapFillMS(n int) float64 {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "key" + strconv.Itoa(i)
	}
	var m map[string]int64
	ms := timeMS(max(3, 1_000_000/n), 2, func() {
		m = make(map[string]int64, n)
		for i, k := range keys {
			m[k] = int64(i)
		}
	})
	runtime.KeepAlive(m)
	return ms
}

// timeMS is the median ms per run of f, after `warmup` runs.
func timeMS(n, warmup int, f func()) float64 {
	for range warmup {
		f()
	}
	runs := make([]float64, n)
	for i := range runs {
		start := time.Now()
		f()
		runs[i] = float64(time.Since(start).Microseconds()) / 1000
	}
	slices.Sort(runs)
	return runs[n/2]
}

// peakRSSRows runs "rpyc-bench peak-rss ADDR KIND N" in a child process per kind: the
// peak RSS growth while one large result is decoded, over its payload.
func peakRSSRows(t *table, addr string) {
	self, _ := os.Executable()
	for _, k := range valueKinds {
		if k.name == "dict" || k.name == "nested" {
			continue // the rows are for flat payloads: str, bytes and lists of numbers
		}
		n := k.sizes[2]
		out, err := exec.Command(self, "peak-rss", addr, k.name, strconv.Itoa(n)).Output()
		must(err, "peak-rss "+k.name)
		growth, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		must(err, "peak-rss output")
		t.row(fmt.Sprintf("peak RSS growth decoding a %s result, %s, over its payload (vs 3)", k.label, sizeLabel(k, n)),
			growth/k.mb(n), 3)
	}
}

// peakRSS is the child of peakRSSRows: it prints the growth of its peak RSS, in MB, over
// one Call + Decode of kind at size n, after a warm-up with a small value.
func peakRSS(addr, kind string, n int) int {
	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, addr)
	must(err, "dial")
	k := findKind(kind)
	v, err := conn.Call(ctx, "bench_fixtures", "make", kind, 1000)
	must(err, "warm-up")
	_, err = k.decode(v)
	must(err, "warm-up decode")
	// The server makes the value first, so that only its transfer is measured.
	_, err = conn.Call(ctx, "bench_fixtures", "prepare", kind, n)
	must(err, "prepare")
	must(os.WriteFile("/proc/self/clear_refs", []byte("5"), 0), "reset the peak RSS")
	before := status("VmRSS:")
	v, err = conn.Call(ctx, "bench_fixtures", "make", kind, n)
	must(err, "make")
	value, err := k.decode(v)
	must(err, "decode")
	fmt.Printf("%.1f\n", status("VmHWM:")-before)
	runtime.KeepAlive(value)
	return 0
}

// status reads a field of /proc/self/status, in MB.
func status(field string) float64 {
	f, err := os.Open("/proc/self/status")
	must(err, "read /proc/self/status")
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			must(err, "parse "+field)
			return kb / 1024
		}
	}
	return 0
}
