package rpyc

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
)

// Files to and from a classic server, as rpyc.classic.upload and download do: in chunks,
// through the server's builtins.open, so memory does not grow with the file's size.

// DefaultChunkSize is how much Upload and Download move per round trip.
const DefaultChunkSize = 1 << 20

// TransferOption configures Upload and Download.
type TransferOption func(*transferOptions)

type transferOptions struct {
	progress func(done, total int64)
	chunk    int
}

// WithProgress calls f after every chunk, and once at the start, with the bytes moved so
// far and the total: the file's size for Download, and for Upload the reader's remaining
// length if it tells it (an *os.File, or a reader with a Len method such as
// *bytes.Reader), else -1. f runs on the transferring goroutine; keep it short.
func WithProgress(f func(done, total int64)) TransferOption {
	return func(o *transferOptions) { o.progress = f }
}

// WithChunkSize sets the bytes per round trip (default DefaultChunkSize; at least 4 kB).
func WithChunkSize(n int) TransferOption {
	return func(o *transferOptions) { o.chunk = max(n, 4096) }
}

func newTransferOptions(opts []TransferOption) transferOptions {
	o := transferOptions{chunk: DefaultChunkSize, progress: func(int64, int64) {}}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Upload writes what r yields to the file remotePath on the server, replacing it. The
// bytes go to a temporary file beside it (remotePath + ".part-" + random), renamed over
// remotePath (os.replace) only once all of them are written: a transfer that fails or whose
// context is cancelled leaves remotePath as it was, and removes the temporary file. The
// context is checked before every chunk and bounds each round trip. Classic servers only:
// ErrArgument on a connection dialled WithCustomService. Errors of the server's file
// system (no such directory, no permission) are *PythonError.
func (c *Conn) Upload(ctx context.Context, r io.Reader, remotePath string, opts ...TransferOption) (err error) {
	const op = "upload"
	if err := c.requireClassic(op); err != nil {
		return err
	}
	o := newTransferOptions(opts)
	builtins, err := c.Import(ctx, "builtins")
	if err != nil {
		return err
	}
	defer builtins.Close()
	osmod, err := c.Import(ctx, "os")
	if err != nil {
		return err
	}
	defer osmod.Close()
	tmp := remotePath + ".part-" + randomSuffix()
	file, err := callMethod(ctx, builtins, "open", tmp, "wb")
	if err != nil {
		return err
	}
	defer file.Close() // after the clean-up below, which still uses it
	open := true
	defer func() {
		if err == nil {
			return
		}
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		if open {
			_ = closeRemote(cctx, file)
		}
		if removed, rmErr := callMethod(cctx, osmod, "remove", tmp); rmErr == nil {
			_ = removed.Close()
		}
	}()
	write, err := file.Attr(ctx, "write")
	if err != nil {
		return err
	}
	defer write.Close()

	total := readerSize(r)
	o.progress(0, total)
	buf := make([]byte, o.chunk)
	var done int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, readErr := io.ReadFull(r, buf)
		if n > 0 {
			written, err := write.Call(ctx, buf[:n])
			if err != nil {
				return err
			}
			_ = written.Close()
			done += int64(n)
			o.progress(done, total)
		}
		if readErr == io.EOF || readErr == io.ErrUnexpectedEOF {
			break
		}
		if readErr != nil {
			return &Error{Code: CodeArgument, Op: op, Message: fmt.Sprintf("reading what to upload to %s: %v", remotePath, readErr)}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	open = false
	if err := closeRemote(ctx, file); err != nil {
		return err
	}
	replaced, err := callMethod(ctx, osmod, "replace", tmp, remotePath)
	if err != nil {
		return err
	}
	return replaced.Close()
}

// Download writes the server's file remotePath to w, chunk by chunk. The context is checked
// before every chunk and bounds each round trip; on an error, w has what came before it.
// Classic servers only, as Upload. A missing or unreadable file is a *PythonError.
func (c *Conn) Download(ctx context.Context, remotePath string, w io.Writer, opts ...TransferOption) error {
	const op = "download"
	if err := c.requireClassic(op); err != nil {
		return err
	}
	o := newTransferOptions(opts)
	builtins, err := c.Import(ctx, "builtins")
	if err != nil {
		return err
	}
	defer builtins.Close()
	file, err := callMethod(ctx, builtins, "open", remotePath, "rb")
	if err != nil {
		return err
	}
	defer file.Close()
	closed := false
	defer func() {
		if !closed {
			cctx, cancel := cleanupContext(ctx)
			defer cancel()
			_ = closeRemote(cctx, file)
		}
	}()
	total := c.remoteSize(ctx, file)
	read, err := file.Attr(ctx, "read")
	if err != nil {
		return err
	}
	defer read.Close()
	o.progress(0, total)
	var done int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk, err := read.Call(ctx, o.chunk)
		if err != nil {
			return err
		}
		v, err := chunk.Value(ctx)
		_ = chunk.Close()
		if err != nil {
			return err
		}
		tree, _ := v.Interface()
		data, ok := tree.([]byte)
		if !ok {
			return &Error{Code: CodeInternal, Op: op, Message: fmt.Sprintf("read() of %s returned %T, not bytes", remotePath, tree)}
		}
		if len(data) == 0 {
			break
		}
		if _, err := w.Write(data); err != nil {
			return &Error{Code: CodeArgument, Op: op, Message: fmt.Sprintf("writing what came from %s: %v", remotePath, err)}
		}
		done += int64(len(data))
		o.progress(done, total)
	}
	closed = true
	return closeRemote(ctx, file)
}

// remoteSize is os.fstat(file.fileno()).st_size on the server, or -1.
func (c *Conn) remoteSize(ctx context.Context, file *Ref) int64 {
	osmod, err := c.Import(ctx, "os")
	if err != nil {
		return -1
	}
	defer osmod.Close()
	fd, err := callMethod(ctx, file, "fileno")
	if err != nil {
		return -1
	}
	defer fd.Close()
	stat, err := callMethod(ctx, osmod, "fstat", fd)
	if err != nil {
		return -1
	}
	defer stat.Close()
	size, err := stat.Attr(ctx, "st_size")
	if err != nil {
		return -1
	}
	defer size.Close()
	var n int64
	if size.Decode(ctx, &n) != nil {
		return -1
	}
	return n
}

// callMethod calls obj.name(args...).
func callMethod(ctx context.Context, obj *Ref, name string, args ...any) (*Ref, error) {
	method, err := obj.Attr(ctx, name)
	if err != nil {
		return nil, err
	}
	defer method.Close()
	return method.Call(ctx, args...)
}

// closeRemote calls file.close() on the server.
func closeRemote(ctx context.Context, file *Ref) error {
	result, err := callMethod(ctx, file, "close")
	if err != nil {
		return err
	}
	return result.Close()
}

// readerSize is what r has left to read, if it can tell, else -1.
func readerSize(r io.Reader) int64 {
	switch r := r.(type) {
	case interface{ Len() int }:
		return int64(r.Len())
	case *os.File:
		info, err := r.Stat()
		if err != nil || !info.Mode().IsRegular() {
			return -1
		}
		pos, err := r.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		return info.Size() - pos
	}
	return -1
}

// randomSuffix names an upload's temporary file. It needs to be unique, not secret:
// math/rand/v2 (seeded per process by the runtime), not crypto/rand, which would link
// Go's whole FIPS crypto module into every program.
func randomSuffix() string {
	return fmt.Sprintf("%016x", rand.Uint64())
}
