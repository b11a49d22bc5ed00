#!/usr/bin/env bash
# The build script's rules, tested with real builds (in their own target dir, so they never
# fight the main build), each with its own cache directory:
#  1. a warm cache builds inside a network namespace with no network, and downloads nothing;
#  2. a no-op rebuild does not re-run the build script;
#  3. a corrupted cached wheel, and a corrupted CPython tarball, are rejected by sha256;
#  4. offline with a cold cache fails and says how to provide a distribution;
#  5. a distribution in python-build-standalone layout, packed as .tar.zst and served from
#     127.0.0.1, is downloaded, verified, unpacked, linked and run; a wrong hash is refused;
#     a failed download (HTTP 404, a closed port) says why;
#  6. a distribution whose core lacks a needed extension module (as python-build-standalone
#     ships many) is linked from its object files with a regenerated inittab.
# Needs the source-built CPython in the cache (scripts/build.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
require_toolchain

export CARGO_TARGET_DIR=$PWD/target/build-rules
real_cache=${RPYC_BRIDGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rpyc-bridge}
source_dist=$(ls -d "$real_cache"/dist/cpython-*-x86_64-unknown-linux-gnu-source-* 2>/dev/null | grep -v partial | head -1)
[[ -n $source_dist ]] || die "no source-built CPython in $real_cache: run scripts/build.sh first"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
log=$scratch/cargo.log
pin() { grep -A3 "name = \"$1\"" vendor-python/python.lock.toml | sed -n 's/^sha256 = "\(.*\)"/\1/p'; }
expect_fail() { # expect_fail WHAT PATTERN...: the last cargo run failed, and said each PATTERN
    local what=$1; shift
    for p in "$@"; do grep -qF -- "$p" "$log" || { cat "$log" >&2; die "$what: the error does not say: $p"; }; done
    say "$what: refused, with a clear message"
}
check() { cargo check --offline --lib -vv "$@" >"$log" 2>&1; }

say "1. warm cache, no network at all (unshare -n)"
command -v unshare >/dev/null || die "unshare not found: apt-get install util-linux"
# Cargo itself may not fetch crates in there: fetch them first.
cargo fetch --locked >/dev/null
unshare --net env RPYC_BRIDGE_CACHE_DIR="$real_cache" cargo check --offline --lib -vv >"$log" 2>&1 ||
    { cat "$log" >&2; die "the warm-cache build failed without network"; }
grep -q 'rpyc-bridge: downloading' "$log" && die "a warm-cache build tried to download"
say "warm cache: built with no network, nothing downloaded"

say "2. no-op rebuild"
RPYC_BRIDGE_CACHE_DIR="$real_cache" cargo check --offline --lib -v >"$log" 2>&1
grep -q 'Fresh rpyc-bridge' "$log" || { cat "$log" >&2; die "a no-op rebuild re-ran the build"; }
say "no-op rebuild: fresh"

say "3. corrupted downloads"
cache=$scratch/cache-wheel
mkdir -p "$cache/dist" "$cache/downloads/$(pin rpyc)"
ln -s "$source_dist" "$cache/dist/"
echo "not a wheel" > "$cache/downloads/$(pin rpyc)/rpyc-6.0.2-py3-none-any.whl"
RPYC_BRIDGE_CACHE_DIR=$cache check && die "a corrupted wheel was accepted"
expect_fail "corrupted wheel" "sha256 mismatch for rpyc-6.0.2-py3-none-any.whl" "expected $(pin rpyc)" \
    "actual   $(echo "not a wheel" | sha256sum | cut -d' ' -f1)"
src_sha=$(sed -n '/^\[cpython-source\]/,/^\[/s/^sha256 = "\(.*\)"/\1/p' vendor-python/python.lock.toml)
cache=$scratch/cache-source
mkdir -p "$cache/downloads/$src_sha"
echo "not a tarball" > "$cache/downloads/$src_sha/Python-3.13.5.tar.xz"
RPYC_BRIDGE_CACHE_DIR=$cache RPYC_BRIDGE_PYTHON_FROM_SOURCE=1 check && die "a corrupted tarball was accepted"
expect_fail "corrupted CPython tarball" "sha256 mismatch for Python-3.13.5.tar.xz" "expected $src_sha"

say "4. offline, cold cache"
RPYC_BRIDGE_CACHE_DIR=$scratch/cache-empty RPYC_BRIDGE_OFFLINE=1 check && die "an offline cold build succeeded"
expect_fail "offline cold cache" "downloads are off" "RPYC_BRIDGE_PYTHON_DIST"

say "5. a PBS-layout archive served from 127.0.0.1"
mkdir -p "$scratch/served"
tar -C "$source_dist" -cf - python | zstd -q -T0 -o "$scratch/served/dist.tar.zst"
sha=$(sha256sum "$scratch/served/dist.tar.zst" | cut -d' ' -f1)
python3 -c '
import http.server, functools, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass
handler = functools.partial(Quiet, directory=sys.argv[1])
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()' "$scratch/served" > "$scratch/http.port" &
http_pid=$!
trap 'kill $http_pid 2>/dev/null; rm -rf "$scratch"' EXIT
for _ in $(seq 50); do [[ -s $scratch/http.port ]] && break; sleep 0.1; done
url=http://127.0.0.1:$(cat "$scratch/http.port")/dist.tar.zst
RPYC_BRIDGE_CACHE_DIR=$scratch/cache-url RPYC_BRIDGE_PYTHON_DIST=$url RPYC_BRIDGE_PYTHON_DIST_SHA256=0000000000000000000000000000000000000000000000000000000000000000 check &&
    die "a served archive with the wrong hash was accepted"
expect_fail "served archive, wrong hash" "sha256 mismatch for dist.tar.zst" "actual   $sha"
# A failed download says why, on the line that names the file (cargo shows a warning's
# first line only): the HTTP status, or the connection error.
missing=http://127.0.0.1:$(cat "$scratch/http.port")/missing.tar.zst
RPYC_BRIDGE_CACHE_DIR=$scratch/cache-404 RPYC_BRIDGE_PYTHON_DIST=$missing RPYC_BRIDGE_PYTHON_DIST_SHA256=$sha check &&
    die "a missing archive (HTTP 404) was accepted"
expect_fail "HTTP 404" "could not download missing.tar.zst: $missing: HTTP status 404"
closed_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
refused=http://127.0.0.1:$closed_port/dist.tar.zst
RPYC_BRIDGE_CACHE_DIR=$scratch/cache-refused RPYC_BRIDGE_PYTHON_DIST=$refused RPYC_BRIDGE_PYTHON_DIST_SHA256=$sha check &&
    die "an archive from a closed port was accepted"
expect_fail "closed port" "could not download dist.tar.zst: $refused: connection error:" "refused"
RPYC_BRIDGE_CACHE_DIR=$scratch/cache-url RPYC_BRIDGE_PYTHON_DIST=$url RPYC_BRIDGE_PYTHON_DIST_SHA256=$sha \
    cargo test --offline --test embedded -vv >"$log" 2>&1 || { cat "$log" >&2; die "the served distribution did not build"; }
grep -q "rpyc-bridge: downloaded $url" "$log" || { cat "$log" >&2; die "the served archive was not downloaded"; }
grep -q "using RPYC_BRIDGE_PYTHON_DIST=$url" "$log" || die "the build did not say it used the served archive"
grep -q "test result: ok\. [1-9][0-9]* passed; 0 failed" "$log" || { cat "$log" >&2; die "the interpreter from the served archive did not run"; }
say "served PBS-layout archive: downloaded, verified, linked, ran"
say "6. core objects + an extension outside the core + regenerated inittab"
python3 tests/e2e/synth_pbs_dist.py "$source_dist" "$scratch/synth" _ssl
RPYC_BRIDGE_CACHE_DIR=$scratch/cache-synth RPYC_BRIDGE_PYTHON_DIST=$scratch/synth \
    cargo test --offline --test embedded -vv >"$log" 2>&1 || { cat "$log" >&2; die "the synthesized distribution did not build or run"; }
grep -q "test result: ok\. [1-9][0-9]* passed; 0 failed" "$log" || { cat "$log" >&2; die "the synthesized distribution's tests did not pass"; }
say "extension objects outside the core: linked with its OpenSSL libraries, inittab regenerated, _ssl built in"
say "build-rules: ok"
