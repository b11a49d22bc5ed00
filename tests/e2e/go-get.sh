#!/usr/bin/env bash
# Someone else's Go program, built the way its author would: a new module outside this
# repository (go mod init example.com/consumer, examples/go-consumer/main.go), the package
# fetched with go get from the release's module proxy tree (scripts/dist.sh writes
# dist/release/goproxy), with an empty module cache and HOME, and a PATH that holds Go, the
# C toolchains and nothing of Rust or Python (checked).
#
# Checks: go get, go mod tidy, go mod verify, go build, go vet; the binary, copied alone
# into an empty folder, runs under env -i against a real RPyC server on 127.0.0.1 and
# prints the right results (the seed's three calls, and an rpyc.Array); the static musl
# build (the commands examples/go-consumer/Dockerfile runs) runs in an empty chroot; the
# arm64 build runs under qemu-user; the glibc and arm64 ones fit 15,000,000 bytes stripped
# (the static one is reported; see below); each module zip
# fits 20,000,000 bytes; a darwin build stops with the message that says where its archive
# comes from. The build commands are the README's, word for word.
# Usage: tests/e2e/go-get.sh   (x86_64 hosts, as root for chroot; runs scripts/dist.sh
#        unless dist/release/goproxy is newer than the archives and the Go sources)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
require_toolchain
[[ $(uname -m) == x86_64 ]] || { say "go-get: skipped (x86_64 hosts only)"; exit 0; }
[[ $(id -u) == 0 ]] || die "chroot needs root"
ensure_apt musl-tools file gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user binutils

version=v$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
module=$(sed -n 's/^module //p' go/go.mod)
proxy=$PWD/dist/release/goproxy
budget=15000000 zip_budget=20000000

# The proxy tree of the last scripts/dist.sh, unless something it was made from is newer.
fresh() {
    local zip=$proxy/$module/@v/$version.zip m
    for m in linux-amd64 linux-amd64-musl linux-arm64; do
        [[ -f $proxy/$module/lib/$m/@v/$version.zip ]] || return 1
    done
    [[ -f $zip && -z $(find go examples dist/linux_amd64 dist/linux_amd64_musl dist/linux_arm64 \
                            -newer "$zip" -type f -print -quit 2>/dev/null) ]]
}
if fresh; then
    say "using the module proxy tree scripts/dist.sh wrote: $proxy"
else
    say "dist/release/goproxy is missing or older than its sources: running scripts/dist.sh"
    scripts/dist.sh
fi
for zip in "$proxy/$module"/@v/"$version".zip "$proxy/$module"/lib/*/@v/"$version".zip; do
    size=$(wc -c < "$zip")
    ((size <= zip_budget)) || die "${zip#"$proxy"/} is $size bytes, over $zip_budget"
    say "module zip ${zip#"$proxy"/}: $size bytes"
done

scripts/setup-venv.sh >/dev/null
start_server
work=$(mktemp -d)
root=$(mktemp -d)
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$work" "$root"' EXIT
case $work in "$PWD"/*) die "the consumer must live outside the repository" ;; esac

# A PATH of symlinks to just what building needs: Go, gcc and binutils (host and aarch64),
# musl-gcc, a shell. No cargo, rustc or Python of any kind.
bin=$work/bin
mkdir -p "$bin"
for tool in go gofmt bash sh gcc cc as ld ld.bfd ar strip musl-gcc x86_64-linux-gnu-gcc \
            aarch64-linux-gnu-gcc aarch64-linux-gnu-as aarch64-linux-gnu-ld aarch64-linux-gnu-ld.bfd; do
    path=$(command -v "$tool") || die "$tool not found (apt-get install gcc binutils musl-tools gcc-aarch64-linux-gnu)"
    ln -s "$path" "$bin/$tool"
done
for tool in cargo rustc rustup python3 python python3.13 pip pip3; do
    if env -i PATH="$bin" bash -c "command -v $tool" >/dev/null; then
        die "$tool is visible on the consumer's PATH"
    fi
done
say "consumer PATH ($bin): go, gcc, binutils, musl-gcc; command -v cargo rustc python3 python: not found"

home=$work/home consumer=$work/consumer
mkdir -p "$home" "$consumer"
cp examples/go-consumer/main.go "$consumer/"
gocache=$(go env GOCACHE)   # compiled packages only (keyed by content); sources come from the proxy
# run CMD: a shell command in the consumer's folder, with nothing of this machine's setup.
run() {
    say "consumer: $1"
    (cd "$consumer" && env -i PATH="$bin" HOME="$home" GOMODCACHE="$home/go/pkg/mod" GOCACHE="$gocache" \
        GOPROXY="file://$proxy" GOSUMDB=off GOFLAGS=-modcacherw GOTOOLCHAIN=local \
        RPYC_BRIDGE_VERSION="$version" bash -c "$1")
}
[[ -z $(ls -A "$home") ]] || die "HOME is not empty"

# The Dockerfile's build stage, after WORKDIR: its RUN commands, in order, are the steps.
dockerfile=examples/go-consumer/Dockerfile
grep -qx "ARG RPYC_BRIDGE_VERSION=$version" "$dockerfile" || die "$dockerfile: ARG RPYC_BRIDGE_VERSION is not $version"
mapfile -t steps < <(awk '/^WORKDIR /{on=1; next} /^FROM /{on=0} on && /^RUN /{sub(/^RUN /, ""); print}' "$dockerfile")
((${#steps[@]} == 4)) || die "$dockerfile: expected 4 RUN steps after WORKDIR, found ${#steps[@]}"
# The README's lines for the other two builds.
glibc_build="CGO_ENABLED=1 go build -o consumer ."
arm64_build="GOARCH=arm64 CC=aarch64-linux-gnu-gcc CGO_ENABLED=1 go build -o consumer ."
for cmd in "${steps[@]:1:2}" "$glibc_build" "$arm64_build"; do
    cmd=${cmd//\$\{RPYC_BRIDGE_VERSION\}/$version}
    grep -qF -- "$cmd" README.md || die "README.md does not give the build command: $cmd"
done

run "${steps[0]}"                        # go mod init example.com/consumer
run "${steps[1]}"                        # go get github.com/rpyc-bridge/rpyc-bridge/go@VERSION
run "go mod tidy && go mod verify"
grep -Eq "^(require)?[[:space:]]+$module $version\$|^require $module $version\$" "$consumer/go.mod" ||
    die "go.mod does not require $module $version: $(cat "$consumer/go.mod")"
[[ -f $home/go/pkg/mod/$module@$version/rpyc_bridge.h ]] || die "the module cache has no $module@$version"

expected=examples/go-consumer/expected.txt
check_output() { # WHAT OUTPUT
    [[ $2 == "$(cat "$expected")" ]] || die "$1 printed:
$2
instead of:
$(cat "$expected")"
    say "$1: right results ($(tr '\n' ';' <<<"$2"))"
}
stripped_size() { # FILE [STRIP]: its size after strip
    "${2:-strip}" -o "$work/stripped" "$1"
    wc -c < "$work/stripped"
}
sizes=()

# glibc: the binary alone in an empty folder, with an empty environment.
run "$glibc_build"
run "CGO_ENABLED=1 go vet ./..."
mkdir "$work/alone"
mv "$consumer/consumer" "$work/alone/consumer"
out=$(cd "$work/alone" && env -i ./consumer -addr "127.0.0.1:$SERVER_PORT")
[[ $(ls -A "$work/alone") == consumer ]] || die "the consumer wrote files next to itself"
check_output "glibc consumer, alone, env -i" "$out"
size=$(stripped_size "$work/alone/consumer")
((size <= budget)) || die "the glibc consumer is $size bytes stripped, over $budget"
sizes+=("glibc $size")

# musl, static: the Dockerfile's last two steps, then an empty chroot.
run "${steps[2]}"
run "${steps[3]}"
kind=$(file -b "$consumer/consumer")
[[ $kind == *"statically linked"* ]] || die "the musl consumer is not static: $kind"
mv "$consumer/consumer" "$root/consumer"
out=$(env -i "$(command -v chroot)" "$root" /consumer -addr "127.0.0.1:$SERVER_PORT")
check_output "static musl consumer in an empty chroot" "$out"
size=$(wc -c < "$root/consumer")   # stripped by the Dockerfile's step
((size <= budget)) || die "the static musl consumer is $size bytes stripped, over $budget"
sizes+=("musl-static $size")

# arm64 (glibc), under qemu-user.
run "$arm64_build"
kind=$(file -b "$consumer/consumer")
[[ $kind == *aarch64* ]] || die "the arm64 consumer is $kind"
out=$(env -i "$(command -v qemu-aarch64)" -L /usr/aarch64-linux-gnu "$consumer/consumer" -addr "127.0.0.1:$SERVER_PORT")
check_output "arm64 consumer under qemu-aarch64" "$out"
size=$(stripped_size "$consumer/consumer" aarch64-linux-gnu-strip)
((size <= budget)) || die "the arm64 consumer is $size bytes stripped, over $budget"
sizes+=("arm64 $size")
rm "$consumer/consumer"

# darwin: no archive in this module set; the build must stop on the name that says where it
# comes from, before any link (cgo is off: there is no macOS C compiler here; the archive
# module's guard is in a file without cgo, so it stops the same with cgo on).
if out=$(run "GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 go build -o /dev/null ./..." 2>&1); then
    die "a darwin build without its archive succeeded"
fi
grep -q "undefined: no_librpyc_bridge_a_here__it_is_built_on_macOS" <<<"$out" || die "the darwin build failed otherwise: $out"
say "darwin without its archive: stops with $(grep -o 'undefined: [A-Za-z_]*' <<<"$out" | head -1)"

say "stripped consumer sizes (budget $budget bytes): ${sizes[*]}"
say "go-get: ok"
