// Command consumer is a program of your own that uses rpyc-bridge from its Go module proxy:
// the seed's three calls on a classic RPyC server, and an rpyc.Array sent as one buffer.
// The Dockerfile beside it builds it FROM scratch with Go and musl-tools only;
// tests/e2e/go-get.sh and tests/e2e/release-artifacts.sh build and run it.
//
// Usage: consumer [-addr 127.0.0.1:18812]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18812", "a classic RPyC server (rpyc_classic)")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := rpyc.Dial(ctx, addr)
	if err != nil {
		return err
	}
	defer conn.Close()

	var sqrt, mean, pi float64
	v, err := conn.Call(ctx, "math", "sqrt", 16)
	if err == nil {
		err = v.Decode(&sqrt)
	}
	if err != nil {
		return err
	}
	fmt.Println("math.sqrt(16) =", sqrt)

	if v, err = conn.Call(ctx, "numpy", "mean", []float64{1, 2, 3, 4, 5}); err == nil {
		err = v.Decode(&mean)
	}
	if err != nil {
		return err
	}
	fmt.Println("numpy.mean([1 2 3 4 5]) =", mean)

	if v, err = conn.GetAttr(ctx, "math", "pi"); err == nil {
		err = v.Decode(&pi)
	}
	if err != nil {
		return err
	}
	fmt.Println("math.pi =", pi)

	// A 2x3 float64 matrix, a numpy.ndarray on the server; the column sums come back.
	x, err := rpyc.NewArray([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	if err != nil {
		return err
	}
	var sums []float64
	if v, err = conn.CallKw(ctx, "numpy", "sum", []any{x}, map[string]any{"axis": 0}); err == nil {
		err = v.Decode(&sums)
	}
	if err != nil {
		return err
	}
	fmt.Println("numpy.sum([[1 2 3] [4 5 6]], axis=0) =", sums)
	return nil
}
