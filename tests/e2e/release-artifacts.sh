#!/usr/bin/env bash
# scripts/dist.sh end to end: builds x86_64 and aarch64, gnu and musl (aarch64 cross-
# compiled, its binaries run under qemu-user against a real RPyC server), then checks the
# module proxy tree, each tarball's content and both levels of SHA256SUMS, and builds a Go
# program from each unpacked tarball alone, by the steps of the README inside it (its go
# and sh blocks), and runs it against the server; then runs the publish step
# (scripts/release-publish.sh, no push) in a throwaway clone.
# Usage: tests/e2e/release-artifacts.sh   (x86_64 hosts; about 8 minutes on a cold cache)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
require_toolchain
[[ $(uname -m) == x86_64 ]] || { say "release-artifacts: skipped (x86_64 hosts only)"; exit 0; }

scripts/dist.sh
version=v$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
module=$(sed -n 's/^module //p' go/go.mod)
expected=$(cat examples/go-consumer/expected.txt)
start_server
work=$(mktemp -d)
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$work"' EXIT
(cd tools/modproxy && go build -o "$work/modproxy" .)
"$work/modproxy" check -proxy dist/release/goproxy >&2
cd dist/release
sha256sum -c --quiet SHA256SUMS

count=0
for archive in rpyc-bridge-*.tar.gz; do
    target=${archive#rpyc-bridge-"${version#v}"-}
    target=${target%.tar.gz}
    # (subshell: cross-env.sh sets variables for this target only)
    eval "$(cd ../.. && . scripts/cross-env.sh "$([[ $target == x86_64-unknown-linux-gnu ]] || echo "$target")" >/dev/null
            declare -p GO_LIB RUN_PREFIX GO_ENV)"
    mod=${GO_LIB#go/}
    unpacked=$work/unpacked
    mkdir -p "$unpacked"
    tar -xzf "$archive" -C "$unpacked"
    dir=$unpacked/${archive%.tar.gz}
    (cd "$dir" && sha256sum -c --quiet SHA256SUMS)
    for f in README.md lib/librpyc_bridge.a include/rpyc_bridge.h licenses/LICENSE.cpython.txt \
             licenses/LICENSE.rpyc.txt licenses/LICENSE.plumbum.txt licenses/LICENSE.zlib.txt \
             licenses/NOTICE.txt "goproxy/$module/@v/$version.zip" "goproxy/$module/$mod/@v/$version.zip"; do
        [[ -s $dir/$f ]] || die "$archive has no $f"
    done
    ls "$dir"/licenses/LICENSE.openssl*.txt >/dev/null 2>&1 || die "$archive has no OpenSSL license"
    if [[ $archive == *musl* ]]; then
        [[ -s $dir/lib/libunwind.a ]] || die "$archive has no libunwind.a"
    fi
    others=$(find "$dir/goproxy" -name '*.zip' | grep -v -e "/$module/@v/" -e "/$module/$mod/@v/" || true)
    [[ -z $others ]] || die "$archive carries other platforms' zips: $others"
    # The archive holds code for its own machine.
    member=$(ar t "$dir/lib/librpyc_bridge.a" | head -1)
    (cd "$work" && ar x "$dir/lib/librpyc_bridge.a" "$member")
    machine=$(file -b "$work/$member")
    rm -f "$work/$member"
    case $archive in
        *x86_64*) [[ $machine == *x86-64* ]] ;;
        *aarch64*) [[ $machine == *aarch64* ]] ;;
    esac || die "$archive: objects are $machine"
    say "$archive: content and SHA256SUMS ok ($machine)"

    # A Go program from this tarball alone, by its README: the go block is main.go, the
    # first sh block builds (in a new folder), the second runs.
    app=$work/app-$target home=$work/home-$target
    mkdir -p "$app" "$home"
    awk '/^```go$/{on=1; next} /^```$/{on=0} on' "$dir/README.md" > "$app/main.go"
    build=$(awk '/^```sh$/{n++; on=(n==1); next} /^```$/{on=0} on' "$dir/README.md")
    runline=$(awk '/^```sh$/{n++; on=(n==2); next} /^```$/{on=0} on' "$dir/README.md")
    [[ -s $app/main.go && -n $build && -n $runline ]] || die "$archive: README.md has no main.go, build or run block"
    build=${build/release=\/path\/to\/${archive%.tar.gz}/release=$dir}
    [[ $build == *"release=$dir"* ]] || die "$archive: the README's build block does not start from release=/path/to/${archive%.tar.gz}"
    if [[ $target == aarch64-unknown-linux-musl ]]; then
        # musl-gcc there is the arm64 one; here it is cross-env.sh's wrapper around Debian's aarch64 gcc.
        for kv in "${GO_ENV[@]}"; do [[ $kv == CC=* ]] && build=${build//CC=musl-gcc/$kv}; done
    fi
    say "$target: building the README's program from the unpacked tarball"
    (cd "$app" && env -i PATH="$PATH" HOME="$home" GOMODCACHE="$home/go/pkg/mod" GOCACHE="$(go env GOCACHE)" \
        GOFLAGS=-modcacherw GOTOOLCHAIN=local bash -euo pipefail -c "$build") >&2 ||
        die "$archive: the README's build steps failed"
    read -r -a cmd <<<"${runline%%#*}"
    [[ ${cmd[0]} == ./hello && ${cmd[1]} == -addr ]] || die "$archive: unexpected run line: $runline"
    out=$(cd "$app" && env -i "${RUN_PREFIX[@]}" ./hello -addr "127.0.0.1:$SERVER_PORT")
    [[ $out == "$expected" ]] || die "$archive: the program printed: $out"
    say "$target: the README's program, built from the tarball alone, printed the right results"
    chmod -R u+w "$home"; rm -rf "$unpacked" "$home"
    count=$((count + 1))
done
[[ $count == 4 ]] || die "expected 4 archives, found $count"

# The workflow's publish step, in a throwaway clone (its tags stay there; nothing is pushed):
# the release commit's trees must zip, as a module proxy zips a tag, to the published hashes.
clone=$work/clone
git clone -q "$(cd ../.. && pwd)" "$clone"
"$clone/scripts/release-publish.sh" "$work/published" "$PWD" >&2
[[ $(git -C "$clone" tag -l "go/*" | wc -l) == 7 ]] || die "the publish step did not tag the 7 Go modules"
say "publish step: release commit tagged for the rpyc module and 6 platform modules, trees zip to the published hashes"
say "release-artifacts: ok"
