"""Baselines for rpyc-bench: a plain Python rpyc client against the same server.

Usage: python python_client.py HOST PORT latency N
         microseconds per math.sqrt(16): naive (`conn.modules.math.sqrt(16)`, module and
         function looked up on every call) and with the function netref cached
       python python_client.py HOST PORT sum_bytes N COUNT [nocompress]
         milliseconds per numpy.sum of COUNT float64 sent as one bytes object (the best a
         Python client can do: one round trip, bytes by value, numpy.frombuffer there);
         with nocompress, RPyC's zlib compression of what the client sends is off
       python python_client.py HOST PORT result_bytes N COUNT
         milliseconds per call returning numpy.arange(COUNT) (float64) as one bytes object
       python python_client.py HOST PORT upload 1 LOCAL REMOTE
       python python_client.py HOST PORT download 1 REMOTE LOCAL
         seconds for rpyc.classic.upload (download) of one file, with its default chunk
         size, and the client's peak RSS growth meanwhile in MB (the peak is reset first)
         (with a trailing nodelay: TCP_NODELAY on the client's socket, as the bridge sets it;
         rpyc leaves Nagle's algorithm on, which stalls its many 64 kB writes)
       python python_client.py HOST PORT callbacks N
         microseconds per callback when the server calls a client function N times
         (bridge_fixtures.ping_many) and the client passes a Python function
       python python_client.py HOST PORT first_call NAME...
         microseconds per first call of each math.NAME(0.5), as a Python user writes it
         (conn.modules.math.NAME(0.5)), after the module itself was reached once
       python python_client.py HOST PORT values KIND COUNT REPEAT WARMUP
         milliseconds (the median of REPEAT runs) per by-value result and per argument
         of bench_fixtures.make(KIND, COUNT): a str or bytes result as RPyC returns it,
         containers with rpyc.classic.obtain; arguments as a str, bytes or tuple by
         value, dicts and nested values with rpyc.classic.deliver (RPyC passes dicts by
         reference)
Prints JSON.
"""

import json
import os
import struct
import sys
import time

import rpyc


def per_call(fn, n, warmup=200):
    for _ in range(min(warmup, n) if warmup else 0):
        fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def median_call(fn, n, warmup):
    """Seconds of the median of n runs of fn, after `warmup` runs (rpyc-bench's timeMS)."""
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return sorted(runs)[n // 2]


def rss_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no %s in /proc/self/status" % field)


def transfer(fn, src, dst):
    """(seconds, peak RSS growth in MB) of fn(src, dst)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS
    before = rss_mb("VmRSS")
    start = time.perf_counter()
    fn(src, dst)
    return time.perf_counter() - start, rss_mb("VmHWM") - before


def main():
    host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    n = int(sys.argv[4]) if sys.argv[4].isdigit() else 0
    conn = rpyc.classic.connect(host, port)
    if mode == "latency":
        sqrt = conn.modules.math.sqrt
        naive = per_call(lambda: conn.modules.math.sqrt(16), n)
        cached = per_call(lambda: sqrt(16), n)
        print(json.dumps({"naive_us": naive * 1e6, "cached_us": cached * 1e6}))
    elif mode == "sum_bytes":
        count = int(sys.argv[5])
        if sys.argv[6:] == ["nocompress"]:
            conn._channel.compress = False
        data = struct.pack("<%dd" % count, *(float(i % 1000) for i in range(count)))
        conn.execute("import numpy\ndef _sum_bytes(b): return float(numpy.frombuffer(b).sum())")
        sum_bytes = conn.namespace["_sum_bytes"]
        print(json.dumps({"ms": per_call(lambda: sum_bytes(data), n, warmup=2) * 1e3}))
    elif mode == "result_bytes":
        count = int(sys.argv[5])
        conn.execute("import numpy\ndef _arange_bytes(n): return numpy.arange(float(n)).tobytes()")
        arange_bytes = conn.namespace["_arange_bytes"]
        print(json.dumps({"ms": per_call(lambda: arange_bytes(count), n, warmup=2) * 1e3}))
    elif mode == "first_call":
        math = conn.modules.math
        math.sqrt(4.0)
        start = time.perf_counter()
        for name in sys.argv[4:]:
            getattr(conn.modules.math, name)(0.5)
        print(json.dumps({"us": (time.perf_counter() - start) / len(sys.argv[4:]) * 1e6}))
    elif mode == "values":
        kind, count, repeat, warmup = sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
        conn._config["sync_request_timeout"] = None  # a 10M-element tuple takes RPyC minutes
        bench = conn.modules.bench_fixtures
        make, size = bench.make, bench.size
        by_value = kind in ("str", "bytes")
        fetch = (lambda: make(kind, count)) if by_value else (lambda: rpyc.classic.obtain(make(kind, count)))
        value = fetch()
        result_ms = median_call(fetch, repeat, warmup) * 1e3
        if kind in ("ints", "floats"):
            value = tuple(value)
        if kind in ("dict", "nested"):
            send = lambda: size(rpyc.classic.deliver(conn, value))  # noqa: E731
        else:
            send = lambda: size(value)  # noqa: E731
        print(json.dumps({"result_ms": result_ms, "arg_ms": median_call(send, repeat, warmup) * 1e3}))
    elif mode in ("upload", "download"):
        if sys.argv[7:] == ["nodelay"]:
            import socket
            conn._channel.stream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        fn = getattr(rpyc.classic, mode)
        seconds, growth = transfer(lambda src, dst: fn(conn, src, dst), sys.argv[5], sys.argv[6])
        print(json.dumps({"s": seconds, "rss_mb": growth, "size": os.path.getsize(sys.argv[6] if mode == "download" else sys.argv[5])}))
    elif mode == "callbacks":
        ping_many = conn.modules.bridge_fixtures.ping_many
        ping_many(lambda i: i, 100)
        start = time.perf_counter()
        ping_many(lambda i: i, n)
        print(json.dumps({"us": (time.perf_counter() - start) / n * 1e6}))


if __name__ == "__main__":
    main()
