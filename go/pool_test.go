package rpyc_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

func TestPoolSpreadsGoroutines(t *testing.T) {
	ctx := context.Background()
	pool, err := rpyc.NewPool(ctx, serverAddr, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				v, err := pool.Call(ctx, "operator", "add", g, i)
				if err != nil {
					errs <- err
					return
				}
				if v.String() != fmt.Sprint(g+i) {
					errs <- fmt.Errorf("%d + %d = %s", g, i, v)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Call(ctx, "math", "sqrt", 1); !errors.Is(err, rpyc.ErrClosed) {
		t.Errorf("a closed pool: %v", err)
	}
	if _, err := rpyc.NewPool(ctx, serverAddr, 0); !errors.Is(err, rpyc.ErrArgument) {
		t.Errorf("size 0: %v", err)
	}
}

// Two servers register with a registry; DialService and a service pool spread over both.
func TestDiscoveryRoundRobin(t *testing.T) {
	for _, mode := range []string{"udp", "tcp"} {
		t.Run(mode, func(t *testing.T) {
			stopRegistry, registryAddr, err := startServer("registry_server.py", mode)
			if err != nil {
				t.Fatal(err)
			}
			defer stopRegistry()
			_, registryPort, _ := splitPort(registryAddr)
			var want []string
			for range 2 {
				stop, addr, err := startServer("service_server.py", "0", registryPort, mode)
				if err != nil {
					t.Fatal(err)
				}
				defer stop()
				want = append(want, addr)
			}
			sort.Strings(want)
			registry := rpyc.Registry{Addr: registryAddr, TCP: mode == "tcp"}
			ctx := context.Background()
			var got []string
			for attempt := 0; attempt < 50 && len(got) < 2; attempt++ { // servers register in the background
				got, err = registry.Discover(ctx, "scoring")
				if err != nil {
					t.Fatal(err)
				}
				if len(got) < 2 {
					sleep()
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("discovered %v, want %v", got, want)
			}
			seen := map[string]int{}
			for range 4 {
				conn, err := registry.DialService(ctx, "SCORING", rpyc.WithCustomService())
				if err != nil {
					t.Fatal(err)
				}
				v, err := conn.Call(ctx, "root", "whoami")
				if err != nil {
					t.Fatal(err)
				}
				seen[v.String()]++
				_ = conn.Close()
			}
			if len(seen) != 2 || seen[portOf(want[0])] != 2 {
				t.Errorf("round-robin over the two servers: %v", seen)
			}
			pool, err := rpyc.NewServicePool(ctx, registry, "scoring", 2, rpyc.WithCustomService())
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			if v, err := pool.Call(ctx, "root", "predict", []int{1}); err != nil || v.String() != "[3]" {
				t.Errorf("pool call: %v %v", v, err)
			}
			if _, err := registry.DialService(ctx, "nobody"); !errors.Is(err, rpyc.ErrConnect) {
				t.Errorf("an unknown service: %v", err)
			}
		})
	}
}
