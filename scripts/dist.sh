#!/usr/bin/env bash
# Release artifacts: one archive per target in dist/release/, each holding
#   lib/librpyc_bridge.a (and Rust's libunwind.a for musl), include/rpyc_bridge.h,
#   go/ (the per-platform cgo file and its archive-hash file), licenses/, SHA256SUMS
# and dist/release/SHA256SUMS over the archives. Each target's example binary runs the
# seed example against a real RPyC server on 127.0.0.1 (qemu-user for aarch64) before its
# archive is packed.
#
# Usage: scripts/dist.sh [TARGET...]   (default: the four Linux targets below)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_toolchain

targets=("$@")
((${#targets[@]})) || targets=(x86_64-unknown-linux-gnu x86_64-unknown-linux-musl
                               aarch64-unknown-linux-gnu aarch64-unknown-linux-musl)
host=$(rustc -vV | sed -n 's/^host: //p')
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
cache=${RPYC_BRIDGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rpyc-bridge}
scripts/setup-venv.sh
start_server
out=dist/release
# GNU tools (macOS: brew install coreutils gnu-tar).
sha256=(sha256sum); command -v sha256sum >/dev/null || sha256=(shasum -a 256)
tar=tar; command -v gtar >/dev/null && tar=gtar

# licenses PYTHON_ROOT DIR: the notices of what the archive contains.
licenses() {
    cp "$1"/python/licenses/* "$2/"
    local whl
    for whl in "$cache"/downloads/*/rpyc-*.whl "$cache"/downloads/*/plumbum-*.whl; do
        python3 - "$whl" "$2" <<'PY'
import sys, zipfile
whl, out = sys.argv[1:]
z = zipfile.ZipFile(whl)
name = whl.rsplit("/", 1)[1].split("-")[0]
for entry in z.namelist():
    if ".dist-info/licenses/" in entry or entry.endswith(".dist-info/LICENSE"):
        open(f"{out}/LICENSE.{name}.txt", "wb").write(z.read(entry))
PY
    done
    local zlib
    zlib=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/libz-sys-"$(sed -n '/^name = "libz-sys"$/{n;s/version = "\(.*\)"/\1/p}' Cargo.lock)"/src/zlib/LICENSE | head -1)
    cp "$zlib" "$2/LICENSE.zlib.txt"
    cat > "$2/NOTICE.txt" <<TXT
librpyc_bridge.a contains CPython $(sed -n 's/^version = "\(.*\)"/\1/p' vendor-python/python.lock.toml | head -1) (LICENSE.cpython.txt and the
other LICENSE.* files of its distribution), OpenSSL for CPython's _ssl and _hashlib
(LICENSE.openssl*.txt, Apache-2.0), rpyc and plumbum as bytecode (LICENSE.rpyc.txt,
LICENSE.plumbum.txt), zlib (LICENSE.zlib.txt), and Rust crates under MIT or Apache-2.0
(pyo3, serde_json, libc, libz-sys, zstd; rpyc-bridge itself is MIT). The musl archives also
ship libunwind.a, LLVM's unwinder from the Rust toolchain (Apache-2.0 WITH LLVM-exception).
TXT
}
rm -rf "$out" && mkdir -p "$out"

for target in "${targets[@]}"; do
    arg=$target
    [[ $target == "$host" ]] && arg=""   # the host build is scripts/build.sh with no target
    log=$(mktemp)
    scripts/build.sh $arg 2>&1 | tee "$log" >&2
    # (subshell: cross-env.sh sets variables for this target only)
    eval "$(. scripts/cross-env.sh "$arg" >/dev/null
            declare -p PLATFORM EXAMPLE RUN_PREFIX EXTRA_LIBS)"
    # The CPython this build used, as the build script reported it.
    python_root=$(sed -n 's/.*rpyc-bridge: using .* at \(.*\))$/\1/p' "$log" | tail -1)
    rm -f "$log"
    [[ -f $python_root/python/PYTHON.json ]] || die "cannot tell which CPython $target used"

    say "$target: running $EXAMPLE ${RUN_PREFIX[*]:+under ${RUN_PREFIX[*]}}"
    got=$("${RUN_PREFIX[@]}" "$EXAMPLE" python -c 'import sys, rpyc, platform; print(platform.machine(), sys.version.split()[0], rpyc.__version__)')
    say "$target: $got"
    "${RUN_PREFIX[@]}" "$EXAMPLE" -host 127.0.0.1 -port "$SERVER_PORT" | grep -q '^All tests passed!$' \
        || die "$target: the seed example failed against the RPyC server"
    say "$target: seed example passed against the RPyC server"

    name=rpyc-bridge-$version-$target
    stage=$out/$name
    mkdir -p "$stage"/{lib,include,go,licenses}
    cp "dist/$PLATFORM/librpyc_bridge.a" "$stage/lib/"
    for extra in "${EXTRA_LIBS[@]}"; do cp "$extra" "$stage/lib/"; done
    cp dist/include/rpyc_bridge.h "$stage/include/"
    cp "go/link_$PLATFORM.go" "go/zz_archive_$PLATFORM.go" "$stage/go/"
    licenses "$python_root" "$stage/licenses"
    (cd "$stage" && find . -type f ! -name SHA256SUMS | sort | xargs "${sha256[@]}" > SHA256SUMS)
    "$tar" -C "$out" --owner=0 --group=0 --sort=name -czf "$out/$name.tar.gz" "$name"
    rm -rf "$stage"
done
(cd "$out" && "${sha256[@]}" ./*.tar.gz > SHA256SUMS)
say "release artifacts in $out:"
cat "$out/SHA256SUMS" >&2
