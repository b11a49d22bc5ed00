#!/usr/bin/env bash
# Builds librpyc_bridge.a into dist/<platform>/, links it into the platform's Go module
# (go/lib/<os>-<arch>/, with zz_archive.go: its hash) for cgo, and builds the example
# binary into bin/.
#
# Usage: scripts/build.sh [TARGET]
#   (none)                      this machine (x86_64 or aarch64 linux-gnu): bin/rpyc-example
#   x86_64-unknown-linux-musl   fully static (musl, -extldflags -static): bin/rpyc-example-linux-amd64-musl
#   aarch64-unknown-linux-gnu   cross-compiled:                           bin/rpyc-example-linux-arm64
#   aarch64-unknown-linux-musl  cross-compiled, fully static:             bin/rpyc-example-linux-arm64-musl
# Other targets' toolchains are installed as needed (scripts/cross-env.sh).
#
# A cold build compiles CPython from source once per target (about 2 minutes on 2 cores)
# and caches it outside target/ (RPYC_BRIDGE_CACHE_DIR, default ~/.cache/rpyc-bridge).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

require_toolchain
target=${1:-}
. scripts/cross-env.sh "$target"   # PLATFORM, ARCHIVE, CARGO_FLAGS, GO_ENV, GO_FLAGS, EXAMPLE...

cache=${RPYC_BRIDGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rpyc-bridge}
if ! ls -d "$cache"/dist/*/python/PYTHON.json >/dev/null 2>&1 && [[ -z ${RPYC_BRIDGE_PYTHON_DIST:-} ]]; then
    say "cold cache ($cache): this build fetches or compiles CPython (about 2 minutes on 2 cores);"
    say "cargo build -vv shows its progress"
fi
say "building librpyc_bridge.a for ${target:-this machine} (cargo build --release ${CARGO_FLAGS[*]})"
cargo build --release --locked "${CARGO_FLAGS[@]}"
mkdir -p "dist/$PLATFORM"
cp "$ARCHIVE" "dist/$PLATFORM/librpyc_bridge.a.tmp"
mv "dist/$PLATFORM/librpyc_bridge.a.tmp" "dist/$PLATFORM/librpyc_bridge.a"
for extra in "${EXTRA_LIBS[@]}"; do cp "$extra" "dist/$PLATFORM/"; done
sha256=(sha256sum); command -v sha256sum >/dev/null || sha256=(shasum -a 256)   # macOS
sum=$("${sha256[@]}" "dist/$PLATFORM/librpyc_bridge.a" | cut -d' ' -f1)

# The platform's Go module (go/lib/<platform>, which go/go.mod replaces with its folder)
# links the archives from its own folder: symlinks to dist/, never committed.
for lib in dist/"$PLATFORM"/*.a; do
    ln -sfn "../../../$lib" "$GO_LIB/${lib##*/}"
done
rm -f go/zz_archive_*.go   # where the archive's hash was before the platform modules
write_archive_go "$GO_LIB" "$sum" "dist/$PLATFORM/librpyc_bridge.a"

say "building $EXAMPLE"
mkdir -p bin
(cd go && env "${GO_ENV[@]}" go build "${GO_FLAGS[@]}" -o "../$EXAMPLE" ./cmd/rpyc-example)
say "built $EXAMPLE ($(du -h "$EXAMPLE" | cut -f1)), archive sha256 ${sum:0:16}"
