// Command rpyc-example is the seed example: it calls math and numpy on a classic RPyC
// server through the embedded Python and prints the seed's expected output.
//
// Usage: rpyc-example [-host H] [-port P]
//
//	rpyc-example python [ARGS...]   runs the embedded Python itself (-c, -m, a script)
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "python" {
		os.Exit(rpyc.PythonMain(os.Args[1:]))
	}
	host := flag.String("host", "localhost", "RPyC server host")
	port := flag.Int("port", 18812, "RPyC server port")
	flag.Parse()
	if err := run(*host, *port); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(host string, port int) error {
	fmt.Println("Go + Rust FFI + RPyC Integration")
	fmt.Println("================================")
	fmt.Println()
	fmt.Println("Connecting to RPyC server...")
	client, err := rpyc.NewRPyCClient(host, port)
	if err != nil {
		return fmt.Errorf("failed to connect to RPyC server: %w", err)
	}
	defer client.Close()
	fmt.Println("  Connected!")

	fmt.Println()
	fmt.Println("Test 1: math.sqrt(16)")
	result, err := client.Call("math", "sqrt", 16)
	if err != nil {
		return err
	}
	fmt.Println("  Result:", pyRepr(result))

	fmt.Println()
	fmt.Println("Test 2: numpy.mean([1,2,3,4,5])")
	result, err = client.Call("numpy", "mean", []float64{1, 2, 3, 4, 5})
	if err != nil {
		return err
	}
	fmt.Println("  Result:", pyRepr(result))

	fmt.Println()
	fmt.Println("Test 3: math.pi")
	pi, err := client.GetAttr("math", "pi")
	if err != nil {
		return err
	}
	fmt.Println("  Result:", pyRepr(pi))

	fmt.Println()
	fmt.Println("================================")
	fmt.Println("All tests passed!")
	return nil
}

// pyRepr prints numbers as Python does: a float always shows a fraction ("4.0").
func pyRepr(v any) string {
	f, ok := v.(float64)
	if !ok {
		return fmt.Sprint(v)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e16 {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
