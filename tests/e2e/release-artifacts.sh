#!/usr/bin/env bash
# scripts/dist.sh end to end: builds x86_64 and aarch64, gnu and musl (aarch64 cross-
# compiled, its binaries run under qemu-user against a real RPyC server), then checks each
# archive's content and both levels of SHA256SUMS.
# Usage: tests/e2e/release-artifacts.sh   (x86_64 hosts; about 8 minutes on a cold cache)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
require_toolchain
[[ $(uname -m) == x86_64 ]] || { say "release-artifacts: skipped (x86_64 hosts only)"; exit 0; }

scripts/dist.sh
cd dist/release
sha256sum -c --quiet SHA256SUMS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count=0
for archive in rpyc-bridge-*.tar.gz; do
    tar -xzf "$archive" -C "$work"
    dir=$work/${archive%.tar.gz}
    (cd "$dir" && sha256sum -c --quiet SHA256SUMS)
    for f in lib/librpyc_bridge.a include/rpyc_bridge.h licenses/LICENSE.cpython.txt \
             licenses/LICENSE.rpyc.txt licenses/LICENSE.plumbum.txt licenses/LICENSE.zlib.txt \
             licenses/NOTICE.txt; do
        [[ -s $dir/$f ]] || die "$archive has no $f"
    done
    ls "$dir"/licenses/LICENSE.openssl*.txt >/dev/null 2>&1 || die "$archive has no OpenSSL license"
    ls "$dir"/go/link_*.go "$dir"/go/zz_archive_*.go >/dev/null || die "$archive has no Go per-platform files"
    if [[ $archive == *musl* ]]; then
        [[ -s $dir/lib/libunwind.a ]] || die "$archive has no libunwind.a"
    fi
    # The archive holds code for its own machine.
    machine=$(cd "$work" && ar x "$dir/lib/librpyc_bridge.a" "$(ar t "$dir/lib/librpyc_bridge.a" | grep '\.o$' | head -1)" --output "$work" && file -b "$work"/*.o | head -1)
    rm -f "$work"/*.o
    case $archive in
        *x86_64*) [[ $machine == *x86-64* ]] ;;
        *aarch64*) [[ $machine == *aarch64* ]] ;;
    esac || die "$archive: objects are $machine"
    say "$archive: content and SHA256SUMS ok ($machine)"
    count=$((count + 1))
done
[[ $count == 4 ]] || die "expected 4 archives, found $count"
say "release-artifacts: ok"
