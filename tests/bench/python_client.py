"""Baseline for the call-latency benchmark: a plain Python rpyc client against the same server.

Usage: python python_client.py HOST PORT N
Prints JSON: microseconds per math.sqrt(16) call, naive (module and function looked up on
every call, as `conn.modules.math.sqrt(16)` does) and with the function netref cached.
"""

import json
import sys
import time

import rpyc


def per_call_us(fn, n):
    for _ in range(min(200, n)):
        fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    conn = rpyc.classic.connect(host, port)
    sqrt = conn.modules.math.sqrt
    naive = per_call_us(lambda: conn.modules.math.sqrt(16), n)
    cached = per_call_us(lambda: sqrt(16), n)
    print(json.dumps({"naive_us": naive, "cached_us": cached}))


if __name__ == "__main__":
    main()
