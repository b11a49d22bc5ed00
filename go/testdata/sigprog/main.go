// Command sigprog is built and run by TestSignalsReachGoDuringCalls: it keeps calls in
// flight on a real server and must still see SIGINT and SIGTERM through signal.Notify,
// since the embedded Python installs no signal handlers of its own.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

func main() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := rpyc.Dial(ctx, os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var wg sync.WaitGroup
	started := make(chan struct{}, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				// Half the goroutines sit in a slow remote call, half make quick ones.
				var err error
				if i%2 == 0 {
					_, err = conn.Call(ctx, "time", "sleep", 0.2)
				} else {
					_, err = conn.Call(ctx, "math", "sqrt", 16)
				}
				if err != nil && ctx.Err() == nil {
					fmt.Fprintln(os.Stderr, "call:", err)
					os.Exit(3)
				}
				select {
				case started <- struct{}{}:
				default:
				}
			}
		}()
	}
	<-started
	fmt.Println("calling")
	for _, want := range []os.Signal{syscall.SIGINT, syscall.SIGTERM} {
		if got := <-sigs; got != want {
			fmt.Fprintln(os.Stderr, "got", got, "want", want)
			os.Exit(4)
		}
		fmt.Println("got", want)
	}
	cancel()
	wg.Wait()
	if err := conn.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		os.Exit(5)
	}
	fmt.Println("clean exit")
}
