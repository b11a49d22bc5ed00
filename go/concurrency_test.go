package rpyc_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

const goroutines, callsEach = 16, 500

// hammer runs goroutines × callsEach calls of math.sqrt(i*i), each checked.
func hammer(t *testing.T, connFor func(g int) *rpyc.Conn) {
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn := connFor(g)
			for i := range callsEach {
				v, err := conn.Call(context.Background(), "math", "sqrt", i*i)
				if err != nil {
					errs <- err
					return
				}
				if want := fmt.Sprintf("%d.0", i); v.String() != want {
					errs <- fmt.Errorf("sqrt(%d) = %s, want %s", i*i, v, want)
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
}

func TestManyGoroutinesOneConn(t *testing.T) {
	conn := dial(t)
	hammer(t, func(int) *rpyc.Conn { return conn })
}

func TestManyGoroutinesManyConns(t *testing.T) {
	conns := make([]*rpyc.Conn, goroutines)
	for i := range conns {
		conns[i] = dial(t)
	}
	hammer(t, func(g int) *rpyc.Conn { return conns[g] })
}
