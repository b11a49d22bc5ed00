package rpyc_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// randomData is size pseudo-random bytes, made as they are read (nothing held).
func randomData(size int64, seed uint64) io.Reader {
	var s [32]byte
	s[0] = byte(seed)
	return io.LimitReader(rand.NewChaCha8(s), size)
}

// peakRSS samples this process's RSS every 5 ms until stop is called, which returns the
// highest value seen, in MB.
func peakRSS(t *testing.T) (stop func() float64) {
	t.Helper()
	// A collection first: an earlier test's large heap sets the next collection's goal,
	// and garbage would pile up to it, whatever this transfer holds.
	runtime.GC()
	var peak atomic.Uint64
	peak.Store(uint64(rssMB(t) * 1024))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if kb := uint64(rssMB(t) * 1024); kb > peak.Load() {
					peak.Store(kb)
				}
			}
		}
	}()
	return func() float64 {
		close(done)
		wg.Wait()
		return float64(peak.Load()) / 1024
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// leftovers lists what is in dir besides the names in keep.
func leftovers(t *testing.T, dir string, keep ...string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !strings.Contains(strings.Join(keep, "\x00"), e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// Test200MBRoundTrip uploads 200 MB to the server (on this machine: the test reads what it
// wrote) and downloads it again: equal sha256 at both ends, and the client's RSS does not
// grow with the size.
func Test200MBRoundTrip(t *testing.T) {
	size := int64(200 << 20)
	if testing.Short() {
		size = 20 << 20
	}
	ctx := context.Background()
	conn := dial(t)
	dir := t.TempDir()
	remote := filepath.Join(dir, "big.bin")
	// Warm up: the first transfer's code paths and buffers are not what grows with size.
	if err := conn.Upload(ctx, randomData(4<<20, 9), remote); err != nil {
		t.Fatal(err)
	}
	if err := conn.Download(ctx, remote, io.Discard); err != nil {
		t.Fatal(err)
	}

	sent := sha256.New()
	var calls, lastDone, lastTotal int64
	stop := peakRSS(t)
	before := rssMB(t)
	start := time.Now()
	err := conn.Upload(ctx, io.TeeReader(randomData(size, 1), sent), remote,
		rpyc.WithProgress(func(done, total int64) { calls++; lastDone, lastTotal = done, total }))
	upTime := time.Since(start)
	upPeak := stop()
	if err != nil {
		t.Fatal(err)
	}
	want := hex.EncodeToString(sent.Sum(nil))
	if got := sha256File(t, remote); got != want {
		t.Fatalf("the server's file has sha256 %s, want %s", got, want)
	}
	if lastDone != size || lastTotal != -1 || calls < size/rpyc.DefaultChunkSize {
		t.Errorf("progress: %d calls, last (%d, %d); want (%d, -1) after every chunk", calls, lastDone, lastTotal, size)
	}
	if left := leftovers(t, dir, "big.bin"); len(left) != 0 {
		t.Errorf("the upload left %v beside the file", left)
	}

	received := sha256.New()
	calls, lastDone, lastTotal = 0, 0, 0
	stop = peakRSS(t)
	start = time.Now()
	err = conn.Download(ctx, remote, received,
		rpyc.WithProgress(func(done, total int64) { calls++; lastDone, lastTotal = done, total }))
	downTime := time.Since(start)
	downPeak := stop()
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(received.Sum(nil)); got != want {
		t.Fatalf("downloaded sha256 %s, want %s", got, want)
	}
	if lastDone != size || lastTotal != size {
		t.Errorf("download progress ended at (%d, %d), want (%d, %d)", lastDone, lastTotal, size, size)
	}
	mb := float64(size) / (1 << 20)
	t.Logf("%.0f MB: upload %v (%.0f MB/s), peak RSS +%.1f MB; download %v (%.0f MB/s), peak RSS +%.1f MB",
		mb, upTime.Round(time.Millisecond), mb/upTime.Seconds(), upPeak-before,
		downTime.Round(time.Millisecond), mb/downTime.Seconds(), downPeak-before)
	for what, growth := range map[string]float64{"upload": upPeak - before, "download": downPeak - before} {
		if growth >= 32 {
			t.Errorf("the client's peak RSS grew %.1f MB during the %s of %.0f MB, want < 32", growth, what, mb)
		}
	}
}

// errAfter is a reader that fails after n bytes.
type errAfter struct {
	n   int64
	err error
}

func (r *errAfter) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, r.err
	}
	n := int(min(int64(len(p)), r.n))
	clear(p[:n])
	r.n -= int64(n)
	return n, nil
}

func TestFailedOrCancelledUploadLeavesNoFile(t *testing.T) {
	ctx := context.Background()
	conn := dial(t)
	dir := t.TempDir()
	remote := filepath.Join(dir, "target.bin")

	// A reader that fails midway: the error says so, and nothing is left behind.
	broken := errors.New("disk on fire")
	err := conn.Upload(ctx, &errAfter{n: 3 << 20, err: broken}, remote)
	if !errors.Is(err, rpyc.ErrArgument) || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("a failing reader: %v, want ErrArgument with the reader's error", err)
	}
	if left := leftovers(t, dir); len(left) != 0 {
		t.Errorf("a failed upload left %v", left)
	}

	// An existing file stays as it was when an upload over it is cancelled.
	if err := os.WriteFile(remote, []byte("the old content"), 0o644); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	err = conn.Upload(cctx, randomData(64<<20, 2), remote, rpyc.WithProgress(func(done, _ int64) {
		if done >= 5<<20 {
			cancel()
		}
	}))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled upload: %v, want context.Canceled", err)
	}
	if b, _ := os.ReadFile(remote); string(b) != "the old content" {
		t.Errorf("after a cancelled upload the file holds %d bytes, want the old content", len(b))
	}
	if left := leftovers(t, dir, "target.bin"); len(left) != 0 {
		t.Errorf("a cancelled upload left %v", left)
	}

	// A deadline that passes mid-transfer is the same.
	dctx, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	err = conn.Upload(dctx, randomData(1<<40, 3), filepath.Join(dir, "never.bin"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("an upload past its deadline: %v, want DeadlineExceeded", err)
	}
	if left := leftovers(t, dir, "target.bin"); len(left) != 0 {
		t.Errorf("an upload past its deadline left %v", left)
	}

	// A directory that does not exist on the server: the server's error.
	var pyErr *rpyc.PythonError
	if err := conn.Upload(ctx, strings.NewReader("x"), filepath.Join(dir, "no", "such", "dir")); !errors.As(err, &pyErr) || pyErr.Type != "FileNotFoundError" {
		t.Errorf("upload into a missing directory: %v, want FileNotFoundError", err)
	}
	// The connection is fine after all that.
	if err := conn.Upload(ctx, strings.NewReader("fine"), remote); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(remote); string(b) != "fine" {
		t.Errorf("the file holds %q, want %q", b, "fine")
	}
}

func TestDownloadErrorsAndSmallFiles(t *testing.T) {
	ctx := context.Background()
	conn := dial(t)
	dir := t.TempDir()
	var pyErr *rpyc.PythonError
	if err := conn.Download(ctx, filepath.Join(dir, "missing"), io.Discard); !errors.As(err, &pyErr) || pyErr.Type != "FileNotFoundError" {
		t.Errorf("a missing file: %v, want FileNotFoundError", err)
	}
	for _, size := range []int{0, 1, 4095, 4096, 4097, 3*4096 + 5} {
		data := bytes.Repeat([]byte{byte(size)}, size)
		path := filepath.Join(dir, "small")
		if err := conn.Upload(ctx, bytes.NewReader(data), path, rpyc.WithChunkSize(4096)); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		var total int64 = -2
		if err := conn.Download(ctx, path, &got, rpyc.WithChunkSize(4096), rpyc.WithProgress(func(_, t int64) { total = t })); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), data) || total != int64(size) {
			t.Errorf("%d bytes: got %d back, total %d", size, got.Len(), total)
		}
	}
	// A cancelled download stops between chunks.
	big := filepath.Join(dir, "big")
	if err := conn.Upload(ctx, randomData(8<<20, 4), big); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	var n int64
	err := conn.Download(cctx, big, io.Discard, rpyc.WithProgress(func(done, _ int64) {
		if n = done; done >= 2<<20 {
			cancel()
		}
	}))
	if !errors.Is(err, context.Canceled) || n >= 8<<20 {
		t.Errorf("a cancelled download: %v after %d bytes, want context.Canceled before the end", err, n)
	}
	// A writer that fails.
	if err := conn.Download(ctx, big, failingWriter{}); !errors.Is(err, rpyc.ErrArgument) || !strings.Contains(err.Error(), "full") {
		t.Errorf("a failing writer: %v", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("device full") }
