package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

const transferSize = 200 << 20

// transferRows times a 200 MB Upload and Download (the server is on this machine, so
// both ends are local files) and the client's peak RSS growth during each, beside
// rpyc.classic.upload and download run by a Python client on the same files.
func transferRows(t *table, addr, serverPython string) {
	dir, err := os.MkdirTemp("", "rpyc-bench-transfer")
	must(err, "temp dir")
	defer os.RemoveAll(dir)
	local := filepath.Join(dir, "local.bin")
	f, err := os.Create(local)
	must(err, "create")
	var seed [32]byte
	_, err = io.Copy(f, io.LimitReader(rand.NewChaCha8(seed), transferSize))
	must(err, "write the test file")
	must(f.Close(), "close")

	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, addr)
	must(err, "dial")
	defer conn.Close()
	remote := filepath.Join(dir, "remote.bin")
	// Warm-up: the first transfer's code paths and buffers, not what grows with size.
	must(conn.Upload(ctx, strings.NewReader(strings.Repeat("x", 4<<20)), remote), "warm-up upload")
	must(conn.Download(ctx, remote, io.Discard), "warm-up download")

	upS, upMB := measure(func() {
		src, err := os.Open(local)
		must(err, "open")
		defer src.Close()
		must(conn.Upload(ctx, src, remote), "upload")
	})
	back := filepath.Join(dir, "back.bin")
	downS, downMB := measure(func() {
		dst, err := os.Create(back)
		must(err, "create")
		must(conn.Download(ctx, remote, dst), "download")
		must(dst.Close(), "close")
	})
	if sum(local) != sum(remote) || sum(local) != sum(back) {
		must(fmt.Errorf("sha256 differs"), "transfer")
	}

	var base struct {
		S     float64 `json:"s"`
		RSSMB float64 `json:"rss_mb"`
		Size  int64   `json:"size"`
	}
	host, port, _ := strings.Cut(addr, ":")
	python := func(mode, src, dst string, extra ...string) {
		args := append([]string{"tests/bench/python_client.py", host, port, mode, "1", src, dst}, extra...)
		out, err := exec.Command(serverPython, args...).Output()
		must(err, "python "+mode)
		must(json.Unmarshal(out, &base), "python "+mode+" output")
		if base.Size != transferSize {
			must(fmt.Errorf("moved %d bytes", base.Size), "python "+mode)
		}
	}
	python("upload", local, remote)
	t.row("200 MB Upload, s (vs Python rpyc.classic.upload)", upS, base.S)
	t.row("  client peak RSS growth, MB (vs that Python client's)", upMB, base.RSSMB)
	python("upload", local, remote, "nodelay")
	t.row("  same, vs that client with TCP_NODELAY (rpyc leaves Nagle on)", upS, base.S)
	python("download", remote, back)
	t.row("200 MB Download, s (vs Python rpyc.classic.download)", downS, base.S)
	t.row("  client peak RSS growth, MB (vs that Python client's)", downMB, base.RSSMB)
	python("download", remote, back, "nodelay")
	t.row("  same, vs that client with TCP_NODELAY (rpyc leaves Nagle on)", downS, base.S)
}

// measure runs f and returns its wall time in seconds and this process's peak RSS growth
// meanwhile in MB (the kernel's peak, VmHWM, reset first through /proc/self/clear_refs).
func measure(f func()) (seconds, growthMB float64) {
	must(os.WriteFile("/proc/self/clear_refs", []byte("5"), 0), "reset the peak RSS")
	before := rssMB()
	start := time.Now()
	f()
	seconds = time.Since(start).Seconds()
	return seconds, statusMB("VmHWM") - before
}

func sum(path string) string {
	f, err := os.Open(path)
	must(err, "open")
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	must(err, "hash")
	return fmt.Sprintf("%x", h.Sum(nil))
}
