package rpyc

import (
	"sync"
	"syscall"
)

// wake is a connection's wake-up pipe. A request whose context can end passes its read
// end to the library, whose wait for the reply also polls it; when the context ends, Go
// writes a byte, and the wait returns at once. The byte is drained before the next request.
type wake struct {
	once sync.Once
	r, w int
}

func newWake() (*wake, error) {
	var p [2]int
	syscall.ForkLock.RLock()
	err := syscall.Pipe(p[:])
	if err == nil {
		syscall.CloseOnExec(p[0])
		syscall.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, &Error{Code: CodeInternal, Op: "dial", Message: "wake-up pipe: " + err.Error()}
	}
	for _, fd := range p {
		if err := syscall.SetNonblock(fd, true); err != nil {
			_ = syscall.Close(p[0])
			_ = syscall.Close(p[1])
			return nil, &Error{Code: CodeInternal, Op: "dial", Message: "wake-up pipe: " + err.Error()}
		}
	}
	return &wake{r: p[0], w: p[1]}, nil
}

func (w *wake) signal() { _, _ = syscall.Write(w.w, []byte{1}) }

func (w *wake) drain() {
	var buf [16]byte
	for {
		if n, err := syscall.Read(w.r, buf[:]); n <= 0 || err != nil {
			return
		}
	}
}

func (w *wake) close() {
	w.once.Do(func() {
		_ = syscall.Close(w.r)
		_ = syscall.Close(w.w)
	})
}
