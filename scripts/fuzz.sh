#!/usr/bin/env bash
# Fuzzes for a bounded time, each target from its committed corpus:
#   the C ABI (fuzz/, cargo +nightly fuzz, target c_abi): arbitrary handles, strings, buffers;
#   the reply reader (target wire_reply): arbitrary bytes from the server, as frames of brine;
#   the Go value encoding (go test -fuzz): FuzzDecode and FuzzEncodeRoundTrip;
#   the Go unpickler, general and typed, on arbitrary pickles (FuzzPickle);
#   values through a real classic server and back (FuzzRoundTrip).
# A crash fails the script; cargo-fuzz leaves the input in fuzz/artifacts/, go test in
# go/testdata/fuzz/. Installs nightly and cargo-fuzz if missing.
# Usage: scripts/fuzz.sh [SECONDS per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_toolchain
seconds=${1:-60}
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

say "fuzz: C ABI, ${seconds}s"
# libFuzzer adds what it finds to the first corpus dir: a scratch one, so that git keeps
# only the committed seeds (the second dir). Leak detection is off: the interpreter, started
# once, lives to the end of the process and LeakSanitizer would count it on the first input;
# leaks are tests/e2e/leaks.sh's job (valgrind, with every result freed).
found=$(mktemp -d)
trap 'rm -rf "$found"' EXIT
ASAN_OPTIONS=detect_leaks=0 cargo +nightly fuzz run c_abi "$found" fuzz/corpus/c_abi -- -max_total_time="$seconds" -max_len=4096 -detect_leaks=0

# The committed seeds (real frames, scripts/fuzz-seeds.py) are replayed first, each one
# (-runs=0 runs the corpus only), then fuzzed from. No single allocation may pass 64 MB: a
# length prefix claiming 4 GiB must not be believed.
say "fuzz: reply reader, corpus replay, then ${seconds}s"
wire_opts=(-max_len=4096 -detect_leaks=0 -malloc_limit_mb=64)
rm -rf "${found:?}"/* # what c_abi found is no seed for this target
ASAN_OPTIONS=detect_leaks=0 cargo +nightly fuzz run wire_reply "$found" fuzz/corpus/wire_reply -- -runs=0 "${wire_opts[@]}"
ASAN_OPTIONS=detect_leaks=0 cargo +nightly fuzz run wire_reply "$found" fuzz/corpus/wire_reply -- -max_total_time="$seconds" "${wire_opts[@]}"

# FuzzRoundTrip needs the test server (.venv, scripts/setup-venv.sh), as go test does.
# Go before 1.27 can end a -fuzztime run with a bare "context deadline exceeded" and no
# failing input (golang/go#75804: its coordinator races its own deadline). That alone is no
# finding; a failing input (written to go/testdata/fuzz/) or any other failure is.
for target in FuzzDecode FuzzEncodeRoundTrip FuzzPickle FuzzRoundTrip; do
    say "fuzz: Go $target, ${seconds}s"
    out=$(mktemp)
    status=0
    (cd go && CGO_ENABLED=1 go test -run '^$' -fuzz "^$target\$" -fuzztime "${seconds}s" .) 2>&1 | tee "$out" || status=$?
    if ((status)); then
        if grep -Eqx '[[:space:]]*context deadline exceeded' "$out" \
            && ! grep -Eq 'Failing input written|panic:|--- FAIL: .*/' "$out"; then
            say "fuzz: Go $target: Go's own fuzztime race (golang/go#75804), no failing input: not a finding"
        else
            rm -f "$out"
            die "fuzz: Go $target failed"
        fi
    fi
    rm -f "$out"
done
say "fuzz: no crashes"
