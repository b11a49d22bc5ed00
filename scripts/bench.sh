#!/usr/bin/env bash
# Benchmarks, each beside its baseline measured in the same run. Not a test: the figures
# vary with the machine's load, so nothing here passes or fails on a number.
#
# Usage: scripts/bench.sh [--cold]
#   --cold  also times a cold build from source (fresh cache and target dirs; ~4 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_toolchain
scripts/setup-venv.sh
scripts/build.sh 2>/dev/null
[[ $(uname -m) == x86_64 ]] && scripts/build.sh x86_64-unknown-linux-musl 2>/dev/null
static=bin/rpyc-example-linux-amd64-musl

cache=${RPYC_BRIDGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rpyc-bridge}
host=$(rustc -vV | sed -n "s/^host: //p")
stock=$(ls -td "$cache"/dist/cpython-*-"$host"-source-*/python/install/bin/python3.13 | head -1)  # the newest: what build.sh just used
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
for whl in "$cache"/downloads/*/rpyc-*.whl "$cache"/downloads/*/plumbum-*.whl; do
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$whl" "$wheels"
done
# The stock interpreter gets its .pyc written once, as an installed Python would have them.
"$stock" -c "import sys; sys.path.insert(0, '$wheels'); import rpyc" >/dev/null

(cd go && go build -o ../bin/rpyc-bench ./cmd/rpyc-bench)
start_server

echo
echo "== sizes"
platform=$(go env GOOS)_$(go env GOARCH)
strip -o "$wheels/stripped" bin/rpyc-example
hello=$wheels/hello
mkdir -p "$hello.src" && cat > "$hello.src/main.go" <<'GO'
package main

// #include <stdio.h>
import "C"

func main() { C.puts(C.CString("hello")) }
GO
(cd "$hello.src" && cat > go.mod <<<'module hello' && go build -o "$hello" . && strip "$hello")
mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1e6 }'; }
printf '%-66s %10s %10s\n' "metric" "ours" "baseline"
printf '%-66s %10s %10s\n' "librpyc_bridge.a, MB" "$(mb "dist/$platform/librpyc_bridge.a")" "-"
out_dir=$(dirname "$(ls -t target/release/build/rpyc-bridge-*/out/stdlib.zip | head -1)")
printf '%-66s %10s %10s\n' "embedded stdlib zip (stdlib + rpyc + plumbum .pyc), MB" "$(mb "$out_dir/stdlib.zip")" "-"
printf '%-66s %10s %10s\n' "  its zstd dictionary (compressed), MB" "$(mb "$out_dir/stdlib.dict.zst")" "-"
printf '%-66s %10s %10s\n' "example binary, MB" "$(mb bin/rpyc-example)" "-"
printf '%-66s %10s %10s\n' "example binary stripped, MB (vs cgo hello world stripped)" "$(mb "$wheels/stripped")" "$(mb "$hello")"
# The budget of issue 6: the full pure-Python stdlib (minus test, idlelib, tkinter,
# ensurepip) in at most 15 MB, stripped.
printf '%-66s %10s %10s\n' "example binary stripped, MB (vs budget)" "$(mb "$wheels/stripped")" "15.0"
if [[ -x $static ]]; then
    strip -o "$wheels/static" "$static"
    printf '%-66s %10s %10s\n' "static musl example stripped, MB (vs budget)" "$(mb "$wheels/static")" "15.0"
fi

echo
echo "== build"
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
t0=$EPOCHREALTIME; cargo build --release --locked 2>/dev/null; t1=$EPOCHREALTIME
t2=$EPOCHREALTIME; cargo --version >/dev/null; t3=$EPOCHREALTIME
printf '%-66s %10s %10s\n' "no-op rebuild (cargo build --release), s (vs cargo --version)" "$(seconds "$t0" "$t1")" "$(seconds "$t2" "$t3")"
if [[ ${1:-} == --cold ]]; then
    cold=$(mktemp -d)
    src=$(ls -d "$cache"/downloads/*/Python-*.tar.xz | head -1)
    mkdir -p "$cold/cache/downloads/$(basename "$(dirname "$src")")"
    cp "$src" "$cold/cache/downloads/$(basename "$(dirname "$src")")/"  # the build, not the download
    t0=$EPOCHREALTIME
    RPYC_BRIDGE_CACHE_DIR=$cold/cache CARGO_TARGET_DIR=$cold/target cargo build --release --locked 2>/dev/null
    t1=$EPOCHREALTIME
    # Baseline: stock CPython's own build, shared, default modules, same machine.
    mkdir "$cold/stock" && tar -xJf "$src" -C "$cold/stock" --strip-components=1
    t2=$EPOCHREALTIME
    (cd "$cold/stock" && ./configure -q >/dev/null && make -s -j"$(nproc)" >/dev/null 2>&1)
    t3=$EPOCHREALTIME
    rm -rf "$cold"
    printf '%-66s %10s %10s\n' "cold build from source, s (vs stock CPython ./configure && make)" "$(seconds "$t0" "$t1")" "$(seconds "$t2" "$t3")"
fi

echo
echo "== run time (server on 127.0.0.1, $(nproc) cores)"
bin/rpyc-bench -addr "127.0.0.1:$SERVER_PORT" -server-pid "$SERVER_PID" -stock-python "$stock" -wheels "$wheels"

# The static binary's embedded Python against stock CPython, the same code in both:
# import rpyc, connect, one call. Median of 15 process runs each (after one warm-up run),
# interleaved, timed in microseconds ($EPOCHREALTIME) and printed in ms to 0.1 ms.
if [[ -x $static ]]; then
    code="import rpyc; c = rpyc.classic.connect('127.0.0.1', $SERVER_PORT); print(c.modules.math.sqrt(16))"
    ours=() base=()
    runs=15
    ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) * 1000 }'; }
    "$static" python -c "$code" >/dev/null
    "$stock" -I -c "import sys; sys.path.insert(0, '$wheels'); $code" >/dev/null
    for _ in $(seq "$runs"); do
        t0=$EPOCHREALTIME; "$static" python -c "$code" >/dev/null; t1=$EPOCHREALTIME
        "$stock" -I -c "import sys; sys.path.insert(0, '$wheels'); $code" >/dev/null; t2=$EPOCHREALTIME
        ours+=("$(ms "$t0" "$t1")") base+=("$(ms "$t1" "$t2")")
    done
    median_ms() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] }'; }
    printf '%-66s %10s %10s\n' "static musl binary: exec to first result, ms (vs stock python3.13 -I)" \
        "$(median_ms "${ours[@]}")" "$(median_ms "${base[@]}")"
fi
