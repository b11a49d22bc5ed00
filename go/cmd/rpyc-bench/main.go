// Command rpyc-bench measures the bridge beside its baselines, in one run, and prints a
// table: metric, ours, baseline, ratio. scripts/bench.sh builds everything and runs it.
//
// Baselines: a plain Python rpyc client against the same server (call latency), and the
// same CPython 3.13 run as an ordinary interpreter with its stdlib on disk (start-up).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

func main() {
	startRSS := rssMB() // before anything starts Python
	if len(os.Args) > 1 && os.Args[1] == "first-result" {
		os.Exit(firstResult(os.Args[2]))
	}
	if len(os.Args) > 5 && os.Args[1] == "value-run" {
		n, err := strconv.Atoi(os.Args[4])
		must(err, "value-run size")
		i, err := strconv.Atoi(os.Args[5])
		must(err, "value-run size index")
		os.Exit(valueRun(os.Args[2], os.Args[3], n, i))
	}
	if len(os.Args) > 4 && os.Args[1] == "peak-rss" {
		n, err := strconv.Atoi(os.Args[4])
		must(err, "peak-rss size")
		os.Exit(peakRSS(os.Args[2], os.Args[3], n))
	}
	addr := flag.String("addr", "", "RPyC classic server host:port")
	serverPython := flag.String("server-python", ".venv/bin/python", "Python with rpyc, for the client baseline")
	stockPython := flag.String("stock-python", "", "the same CPython 3.13 as a plain interpreter")
	wheels := flag.String("wheels", "", "directory with rpyc and plumbum unpacked, for the stock Python")
	example := flag.String("example", "bin/rpyc-example", "the example binary")
	calls := flag.Int("calls", 5000, "calls per latency measurement")
	runs := flag.Int("runs", 15, "process starts per start-up measurement")
	serverPID := flag.Int("server-pid", 0, "the server's process id, to read its CPU time")
	only := flag.String("only", "", "run only this group of rows: values")
	kinds := flag.String("kinds", "", "with -only values: only these kinds (comma-separated: str,bytes,ints,floats,dict,nested)")
	flag.Parse()

	t := &table{}
	host, port, _ := strings.Cut(*addr, ":")
	if *only == "values" {
		if *kinds != "" {
			valueKinds = slices.DeleteFunc(valueKinds, func(k valueKind) bool {
				return !slices.Contains(strings.Split(*kinds, ","), k.name)
			})
		}
		valueRows(t, *addr, *serverPython)
		peakRSSRows(t, *addr)
		t.print()
		return
	}
	rssRows(t, *addr, startRSS)

	ours := latency(*addr, *calls)
	var base struct {
		NaiveUS  float64 `json:"naive_us"`
		CachedUS float64 `json:"cached_us"`
	}
	out, err := exec.Command(*serverPython, "tests/bench/python_client.py", host, port, "latency", fmt.Sprint(*calls)).Output()
	must(err, "python baseline")
	must(json.Unmarshal(out, &base), "python baseline output")
	t.row("call latency math.sqrt(16), µs (vs Python rpyc, naive)", ours, base.NaiveUS)
	t.row("call latency math.sqrt(16), µs (vs Python rpyc, cached netref)", ours, base.CachedUS)
	// The same client on the very CPython the bridge embeds (from disk): the bridge's own cost.
	out, err = exec.Command(*stockPython, "-I", "-c", fmt.Sprintf("import sys; sys.path.insert(0, %q); sys.argv = ['python_client.py', %q, %q, 'latency', %q]; exec(open('tests/bench/python_client.py').read())", *wheels, host, port, fmt.Sprint(*calls))).Output()
	must(err, "python3.13 baseline")
	must(json.Unmarshal(out, &base), "python3.13 baseline output")
	t.row("  same, vs that client on the embedded CPython 3.13 (cached netref)", ours, base.CachedUS)

	// The first call of a function: one round trip (the helper returns the function too).
	names := []string{"sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "log1p",
		"expm1", "erf", "erfc", "gamma", "lgamma", "fabs", "floor", "ceil", "trunc"}
	var firstBase struct {
		US float64 `json:"us"`
	}
	out, err = exec.Command(*serverPython, append([]string{"tests/bench/python_client.py", host, port, "first_call"}, names...)...).Output()
	must(err, "python first-call baseline")
	must(json.Unmarshal(out, &firstBase), "python first-call baseline output")
	t.row("first call of a new function (math.sin...), µs (vs Python rpyc, conn.modules.math.sin)", firstCallUS(*addr, names), firstBase.US)

	// 1M float64 to numpy.sum: as an Array (raw bytes), beside a Python client that sends
	// bytes, and beside the JSON path (a []float64 argument becomes a tuple of floats).
	const count = 1_000_000
	data := make([]float64, count)
	for i := range data {
		data[i] = float64(i % 1000)
	}
	var sumBase struct {
		MS float64 `json:"ms"`
	}
	out, err = exec.Command(*serverPython, "tests/bench/python_client.py", host, port, "sum_bytes", "20", fmt.Sprint(count)).Output()
	must(err, "python sum baseline")
	must(json.Unmarshal(out, &sumBase), "python sum baseline output")
	arrayMS, arrayServerMS := sumMS(*addr, func() any { a, _ := rpyc.NewArray(data); return a }(), 20, *serverPID)
	t.row("1M float64 to numpy.sum as Array, ms (vs Python client sending bytes)", arrayMS, sumBase.MS)
	out, err = exec.Command(*serverPython, "tests/bench/python_client.py", host, port, "sum_bytes", "20", fmt.Sprint(count), "nocompress").Output()
	must(err, "python sum baseline")
	must(json.Unmarshal(out, &sumBase), "python sum baseline output")
	t.row("  same, vs that client with RPyC's compression off too", arrayMS, sumBase.MS)
	jsonMS, _ := sumMS(*addr, data, 3, 0)
	t.row("1M float64 to numpy.sum as Array, ms (vs a []float64: a packed list, made a tuple)", arrayMS, jsonMS)
	if *serverPID != 0 {
		// The stock server's own work on the 8 MB: what sending them in pieces saves there.
		t.row("  the server's CPU time in that Array call, ms (vs the call)", arrayServerMS, arrayMS)
	}

	// The other way: 1M float64 made on the server, back as an Array.
	out, err = exec.Command(*serverPython, "tests/bench/python_client.py", host, port, "result_bytes", "20", fmt.Sprint(count)).Output()
	must(err, "python result baseline")
	must(json.Unmarshal(out, &sumBase), "python result baseline output")
	t.row("1M float64 from numpy.arange as Array, ms (vs Python client getting bytes)", arangeMS(*addr, count, 20), sumBase.MS)

	// Throughput: 8 goroutines on a pool of 8 connections, and on one connection, beside
	// 1 goroutine on one connection. Higher is better here. Two calls: math.sqrt(16), where
	// both processes only burn CPU (on 2 cores, client and server contend for them), and a
	// call that spends 2 ms on the server, as a model's predict does: the overlap of
	// network waits that the pool is for.
	sqrt := func(ctx context.Context, p *rpyc.Pool) error { _, err := p.Call(ctx, "math", "sqrt", 16); return err }
	one := throughput(*addr, 1, 1, *calls, sqrt)
	t.row("throughput sqrt, 8 goroutines, Pool of 8, calls/s (vs 1 goroutine)", throughput(*addr, 8, 8, *calls, sqrt), one)
	t.row("throughput sqrt, 8 goroutines, one Conn, calls/s (vs 1 goroutine)", throughput(*addr, 8, 1, *calls, sqrt), one)
	work := func(ctx context.Context, p *rpyc.Pool) error {
		_, err := p.Call(ctx, "time", "sleep", 0.002)
		return err
	}
	const workCalls = 800
	one = throughput(*addr, 1, 1, workCalls, work)
	t.row("throughput 2 ms call, 8 goroutines, Pool of 8, calls/s (vs 1 goroutine)", throughput(*addr, 8, 8, workCalls, work), one)
	t.row("throughput 2 ms call, 8 goroutines, one Conn, calls/s (vs 1 goroutine)", throughput(*addr, 8, 1, workCalls, work), one)

	// Callbacks: the server calls a client function N times in one call.
	var cbBase struct {
		US float64 `json:"us"`
	}
	out, err = exec.Command(*serverPython, "tests/bench/python_client.py", host, port, "callbacks", "5000").Output()
	must(err, "python callback baseline")
	must(json.Unmarshal(out, &cbBase), "python callback baseline output")
	t.row("callback round trip, µs (vs Python client passing a Python function)", callbackUS(*addr, 5000), cbBase.US)
	transferRows(t, *addr, *serverPython)

	valueRows(t, *addr, *serverPython)
	peakRSSRows(t, *addr)

	self, _ := os.Executable()
	stockPrelude := fmt.Sprintf("import sys; sys.path.insert(0, %q); ", *wheels)
	t.row("exec to first result, ms (vs stock python3.13 -I)",
		median(*runs, func() { run(self, "first-result", *addr) }),
		median(*runs, func() {
			run(*stockPython, "-I", "-c", stockPrelude+fmt.Sprintf(
				"import rpyc; c = rpyc.classic.connect(%q, %s); print(c.modules.math.sqrt(16))", host, port))
		}))
	t.row("exec to `import rpyc` done, ms (vs stock python3.13 -I)",
		median(*runs, func() { run(*example, "python", "-c", "import rpyc") }),
		median(*runs, func() { run(*stockPython, "-I", "-c", stockPrelude+"import rpyc") }))
	t.print()
}

// latency is the mean µs per Conn.Call of math.sqrt(16), after a warm-up.
func latency(addr string, n int) float64 {
	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, addr)
	must(err, "dial")
	defer conn.Close()
	for range 200 {
		_, err := conn.Call(ctx, "math", "sqrt", 16)
		must(err, "call")
	}
	start := time.Now()
	for range n {
		if _, err := conn.Call(ctx, "math", "sqrt", 16); err != nil {
			must(err, "call")
		}
	}
	return float64(time.Since(start).Microseconds()) / float64(n)
}

// firstCallUS is the mean µs of the first Conn.Call of each of names (math functions),
// on a connection that has called none of them.
func firstCallUS(addr string, names []string) float64 {
	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, addr)
	must(err, "dial")
	defer conn.Close()
	_, err = conn.Call(ctx, "math", "sqrt", 4.0)
	must(err, "call")
	start := time.Now()
	for _, name := range names {
		_, err := conn.Call(ctx, "math", name, 0.5)
		must(err, "math."+name)
	}
	return float64(time.Since(start).Microseconds()) / float64(len(names))
}

// throughput is calls/s of call by goroutines sharing a Pool of size connections.
func throughput(addr string, goroutines, size, total int, call func(context.Context, *rpyc.Pool) error) float64 {
	ctx := context.Background()
	pool, err := rpyc.NewPool(ctx, addr, size)
	must(err, "pool")
	defer pool.Close()
	for range 100 {
		must(call(ctx, pool), "call")
	}
	var wg sync.WaitGroup
	start := time.Now()
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range total / goroutines {
				must(call(ctx, pool), "call")
			}
		}()
	}
	wg.Wait()
	return float64(total/goroutines*goroutines) / time.Since(start).Seconds()
}

// callbackUS is the mean µs per call of a Go callback made by the server.
func callbackUS(addr string, n int) float64 {
	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, addr)
	must(err, "dial")
	defer conn.Close()
	cb := rpyc.Func(func(_ context.Context, args []any, _ map[string]any) (any, error) { return args[0], nil })
	_, err = conn.Call(ctx, "bridge_fixtures", "ping_many", cb, 100)
	must(err, "ping_many")
	start := time.Now()
	_, err = conn.Call(ctx, "bridge_fixtures", "ping_many", cb, n)
	must(err, "ping_many")
	return float64(time.Since(start).Microseconds()) / float64(n)
}

// arangeMS is the mean ms per numpy.arange(float(count)) call, decoded into an Array.
func arangeMS(addr string, count, n int) float64 {
	ms, _ := timedCalls(addr, n, 0, func(ctx context.Context, conn *rpyc.Conn) {
		v, err := conn.Call(ctx, "numpy", "arange", float64(count))
		must(err, "numpy.arange")
		a, ok := v.Array()
		if f, _ := a.Float64s(); !ok || len(f) != count || f[count-1] != float64(count-1) {
			must(fmt.Errorf("got %d values", a.Len()), "numpy.arange result")
		}
	})
	return ms
}

// sumMS is the mean ms per numpy.sum(arg) call, and the mean CPU ms that process
// serverPID (0: none) used per call meanwhile.
func sumMS(addr string, arg any, n, serverPID int) (wall, serverCPU float64) {
	const want = 499_500_000 // sum of i % 1000 over 1M
	return timedCalls(addr, n, serverPID, func(ctx context.Context, conn *rpyc.Conn) {
		v, err := conn.Call(ctx, "numpy", "sum", arg)
		must(err, "numpy.sum")
		var got float64
		must(v.Decode(&got), "numpy.sum result")
		if got != want {
			must(fmt.Errorf("got %v, want %v", got, want), "numpy.sum result")
		}
	})
}

// timedCalls runs call once on a new connection to warm it up, then n times: the mean ms
// per call, and the mean CPU ms process serverPID (0: none) used per call meanwhile.
func timedCalls(addr string, n, serverPID int, call func(context.Context, *rpyc.Conn)) (wall, serverCPU float64) {
	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, addr)
	must(err, "dial")
	defer conn.Close()
	call(ctx, conn)
	cpu := processCPU(serverPID)
	start := time.Now()
	for range n {
		call(ctx, conn)
	}
	perCall := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
	return perCall(time.Since(start)), perCall(processCPU(serverPID) - cpu)
}

// firstResult is what "exec to first result" times: start, dial, one call, print.
func firstResult(addr string) int {
	conn, err := rpyc.Dial(context.Background(), addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	v, err := conn.Call(context.Background(), "math", "sqrt", 16)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(v)
	return 0
}

// median runs f n times (after one warm-up) and returns the median wall time in ms.
func median(n int, f func()) float64 {
	f()
	times := make([]float64, n)
	for i := range times {
		start := time.Now()
		f()
		times[i] = float64(time.Since(start).Microseconds()) / 1000
	}
	sort.Float64s(times)
	return times[n/2]
}

func run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	must(err, fmt.Sprintf("%s %v: %s", name, args, out))
}

type table struct{ rows [][4]string }

func (t *table) row(metric string, ours, baseline float64) {
	t.rows = append(t.rows, [4]string{metric, fmt.Sprintf("%.1f", ours), fmt.Sprintf("%.1f", baseline), fmt.Sprintf("%.2f×", ours/baseline)})
}

func (t *table) print() {
	fmt.Printf("%-66s %10s %10s %8s\n", "metric", "ours", "baseline", "ratio")
	for _, r := range t.rows {
		fmt.Printf("%-66s %10s %10s %8s\n", r[0], r[1], r[2], r[3])
	}
}

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "rpyc-bench: %s: %v\n", what, err)
		os.Exit(1)
	}
}
