#!/usr/bin/env bash
# Release artifacts, in dist/release/ (version: Cargo.toml's, as v<version> for Go):
#   goproxy/   a Go module proxy tree (GOPROXY=file://.../goproxy): the rpyc module
#              github.com/rpyc-bridge/rpyc-bridge/go and one module per platform
#              (.../go/lib/<os>-<arch>[-musl]), zipped by tools/modproxy (golang.org/x/mod/zip).
#              A platform module built here carries its archive, debug sections stripped; one
#              not built here (darwin, on Linux) is published without it, and a build for that
#              platform stops with a message that says where its archive comes from.
#   rpyc-bridge-<version>-<target>.tar.gz, one per target: README.md (how to build a Go
#              program from it), goproxy/ (the rpyc module and this platform's module, and
#              the go.mod of the others), lib/ (the same stripped archive, and libunwind.a
#              for musl) and include/rpyc_bridge.h for C, licenses/, SHA256SUMS
#   SHA256SUMS over the tarballs; sizes.txt (each archive before and after strip, each zip).
# Each target's example binary runs the seed example against a real RPyC server on 127.0.0.1
# (qemu-user for aarch64) before anything is packed.
# Builds go through scripts/build.sh, so targets built before (scripts/test.sh) are not
# built again.
#
# Usage: scripts/dist.sh [TARGET...]   (default: the four Linux targets below)
#   RPYC_BRIDGE_DIST_NO_BUILD=1: pack what scripts/build.sh left in dist/ and bin/ as it is
#   (no cargo; the CPython notices come from the newest cached source build for the target)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_toolchain

targets=("$@")
((${#targets[@]})) || targets=(x86_64-unknown-linux-gnu x86_64-unknown-linux-musl
                               aarch64-unknown-linux-gnu aarch64-unknown-linux-musl)
host=$(rustc -vV | sed -n 's/^host: //p')
version=v$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
root_module=$(sed -n 's/^module //p' go/go.mod)
cache=${RPYC_BRIDGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rpyc-bridge}
scripts/setup-venv.sh
start_server
out=dist/release
proxy=$out/goproxy
# GNU tools (macOS: brew install coreutils gnu-tar).
sha256=(sha256sum); command -v sha256sum >/dev/null || sha256=(shasum -a 256)
tar=tar; command -v gtar >/dev/null && tar=gtar
work=$(mktemp -d)
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$work"' EXIT
# The time every module version is stamped with: the commit's, so a rerun writes the same .info.
stamp=$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)

say "building tools/modproxy (golang.org/x/mod/zip)"
(cd tools/modproxy && go build -o "$work/modproxy" .)
modproxy() { "$work/modproxy" "$@"; }
size_of() { wc -c < "$1" | tr -d ' '; }

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

# stage_module SRC DEST [PATHSPEC...]: the files git knows (tracked, or new and not
# ignored) in the folder SRC, copied into DEST: what a tag of this tree would hold there.
stage_module() {
    local src=$1 dest=$2; shift 2
    rm -rf "$dest" && mkdir -p "$dest"
    (cd "$src" && git ls-files -z --cached --others --exclude-standard -- . "$@" |
        while IFS= read -r -d '' f; do [[ -f $f ]] && printf '%s\0' "$f"; done |
        "$tar" --null -T - -cf -) | "$tar" -xf - -C "$dest"
}

# ship_archive IN OUT: librpyc_bridge.a as the platform module ships it. ELF: debug sections
# and LLVM bitcode stripped, then prelinked into one object (ld -r --gc-sections from the C
# API's functions, rpyc_*) whose other symbols are made local. cgo then links only the code
# that API reaches, as -Wl,--gc-sections would (which a #cgo LDFLAGS line may not ask for,
# and a user's go build does not pass), and no symbol of CPython, OpenSSL or zlib inside
# can clash with, or be taken from, another library of the program. macOS: strip -S only.
ship_archive() {
    local in=$1 out=$2 tmp
    tmp=$(mktemp -d)
    "${STRIP[@]}" -o "$tmp/stripped.a" "$in"
    if [[ $BINUTILS == none ]]; then
        mv "$tmp/stripped.a" "$out"
    else
        "${BINUTILS}nm" -g --defined-only "$tmp/stripped.a" 2>/dev/null | awk '$3 ~ /^rpyc_/ {print $3}' | sort -u > "$tmp/api"
        [[ -s $tmp/api ]] || die "$in defines no rpyc_ function"
        local roots=()
        mapfile -t roots < <(sed 's/^/--require-defined=/' "$tmp/api")
        "${BINUTILS}ld" -r --gc-sections "${roots[@]}" "$tmp/stripped.a" -o "$tmp/rpyc_bridge.o"
        "${BINUTILS}objcopy" --keep-global-symbols="$tmp/api" "$tmp/rpyc_bridge.o"
        rm -f "$out" && "${BINUTILS}ar" rcsD "$out" "$tmp/rpyc_bridge.o"
    fi
    rm -rf "$tmp"
}

rm -rf "$out" && mkdir -p "$out" "$proxy"
: > "$out/sizes.txt"
declare -A python_roots=() module_dirs=() built=()

for target in "${targets[@]}"; do
    arg=$target
    [[ $target == "$host" ]] && arg=""   # the host build is scripts/build.sh with no target
    log=$(mktemp)
    if [[ ${RPYC_BRIDGE_DIST_NO_BUILD:-} == 1 ]]; then
        say "$target: not building (RPYC_BRIDGE_DIST_NO_BUILD=1): packing dist/ and bin/ as they are"
        newest=$(find "$cache/dist" -maxdepth 1 -name "cpython-*-$target-source-*" ! -name '*.partial' \
                     -printf '%T@ %p\n' 2>/dev/null | sort -rn | head -1 | cut -d' ' -f2-)
        echo "rpyc-bridge: using the cached build (Python, $target, at $newest)" > "$log"
    else
        scripts/build.sh $arg 2>&1 | tee "$log" >&2
    fi
    # (subshell: cross-env.sh sets variables for this target only)
    eval "$(. scripts/cross-env.sh "$arg" >/dev/null
            declare -p PLATFORM GO_LIB EXAMPLE RUN_PREFIX EXTRA_LIBS STRIP BINUTILS)"
    # The CPython this build used, as the build script reported it.
    python_root=$(sed -n 's/.*rpyc-bridge: using .* at \(.*\))$/\1/p' "$log" | tail -1)
    rm -f "$log"
    [[ -f $python_root/python/PYTHON.json ]] || die "cannot tell which CPython $target used"
    [[ -f dist/$PLATFORM/librpyc_bridge.a && -x $EXAMPLE ]] || die "$target: no archive or example: run scripts/build.sh $arg"

    say "$target: running $EXAMPLE ${RUN_PREFIX[*]:+under ${RUN_PREFIX[*]}}"
    got=$("${RUN_PREFIX[@]}" "$EXAMPLE" python -c 'import sys, rpyc, platform; print(platform.machine(), sys.version.split()[0], rpyc.__version__)')
    say "$target: $got"
    "${RUN_PREFIX[@]}" "$EXAMPLE" -host 127.0.0.1 -port "$SERVER_PORT" | grep -q '^All tests passed!$' \
        || die "$target: the seed example failed against the RPyC server"
    say "$target: seed example passed against the RPyC server"

    # The platform module as published: its committed files, the stripped archives, and
    # zz_archive.go with the stripped archive's hash.
    mod=${GO_LIB#go/}
    stage=$work/modules/$mod
    stage_module "$GO_LIB" "$stage"
    command -v "${STRIP[0]}" >/dev/null || die "${STRIP[0]} not found: apt-get install binutils (binutils-aarch64-linux-gnu for aarch64)"
    how="${STRIP[*]}"
    [[ $BINUTILS == none ]] || how+=", then ${BINUTILS}ld -r --gc-sections from rpyc_*, other symbols local"
    say "$target: the shipped librpyc_bridge.a: $how"
    ship_archive "dist/$PLATFORM/librpyc_bridge.a" "$stage/librpyc_bridge.a"
    for lib in "${EXTRA_LIBS[@]}"; do "${STRIP[@]}" -o "$stage/${lib##*/}" "$lib"; done
    before=$(size_of "dist/$PLATFORM/librpyc_bridge.a") after=$(size_of "$stage/librpyc_bridge.a")
    write_archive_go "$stage" "$("${sha256[@]}" "$stage/librpyc_bridge.a" | cut -d' ' -f1)" \
        "librpyc_bridge.a in this folder (release $version, debug sections stripped)"
    say "$target: librpyc_bridge.a $before bytes, shipped $after bytes"
    echo "archive $PLATFORM $before shipped $after" >> "$out/sizes.txt"
    python_roots[$target]=$python_root module_dirs[$target]=$mod built[$mod]=1
done

# Every platform module goes into the proxy, so that go get (which looks at the imports of
# every platform) and go mod tidy find a complete module graph; the ones not built here
# carry no archive.
for dir in go/lib/*/; do
    mod=lib/$(basename "$dir")
    if [[ -z ${built[$mod]:-} ]]; then
        stage_module "go/$mod" "$work/modules/$mod"
        say "$mod: not built here; published without its archive (a build for it stops and says where the archive comes from)"
    fi
    line=$(modproxy add -proxy "$proxy" -module "$root_module/$mod" -version "$version" -dir "$work/modules/$mod" -time "$stamp")
    echo "zip ${line#"$root_module/"}" >> "$out/sizes.txt"
    say "goproxy: $line"
done

# The rpyc module: go/ without the platform modules, its go.mod requiring them at this
# version instead of replacing them with folders.
stage_module go "$work/root" ':!lib'
edits=()
for dir in go/lib/*/; do
    m=$root_module/lib/$(basename "$dir")
    edits+=(-dropreplace="$m" -require="$m@$version")
done
(cd "$work/root" && go mod edit "${edits[@]}")
line=$(modproxy add -proxy "$proxy" -module "$root_module" -version "$version" -dir "$work/root" -time "$stamp")
echo "zip (rpyc module) ${line#"$root_module "}" >> "$out/sizes.txt"
say "goproxy: $line"
modproxy check -proxy "$proxy" > /dev/null
say "goproxy: every module zip follows Go's rules (golang.org/x/mod/zip), each .mod is its zip's go.mod"

# readme TARGET MODULE_DIR: the tarball's README, whose two sh blocks are what
# tests/e2e/release-artifacts.sh runs on the unpacked tarball.
readme() {
    local target=$1 mod=$2 goenv build run needs
    # The build's settings are exported before go get, which checks the package's imports
    # for them: this module set holds no other platform's archive.
    goenv="export CGO_ENABLED=1"
    build="go build -o hello ."
    run="./hello -addr 127.0.0.1:18812"
    case $target in
    x86_64-unknown-linux-gnu)
        needs="Go 1.24 or newer and a C compiler (Debian: apt-get install gcc)"
        run+="   # needs only libc"
        ;;
    x86_64-unknown-linux-musl)
        needs="Go 1.24 or newer and musl-gcc (Debian: apt-get install musl-tools)"
        goenv+=" CC=musl-gcc GOFLAGS=-tags=musl"
        build="go build -ldflags '-linkmode external -extldflags -static' -o hello ."
        run+="   # fully static: runs anywhere, FROM scratch too"
        ;;
    aarch64-unknown-linux-gnu)
        needs="Go 1.24 or newer and a C compiler for arm64 (cross from amd64 Debian: apt-get install gcc-aarch64-linux-gnu)"
        goenv+=" GOARCH=arm64 CC=aarch64-linux-gnu-gcc"
        run+="   # on arm64 (elsewhere: qemu-aarch64 -L /usr/aarch64-linux-gnu ./hello ...)"
        ;;
    aarch64-unknown-linux-musl)
        needs="Go 1.24 or newer and a musl C compiler for arm64 (on an arm64 Debian: apt-get install musl-tools)"
        goenv+=" GOARCH=arm64 CC=musl-gcc GOFLAGS=-tags=musl"
        build="go build -ldflags '-linkmode external -extldflags -static' -o hello ."
        run+="   # on arm64, fully static (elsewhere: qemu-aarch64 ./hello ...)"
        ;;
    *-apple-darwin)
        needs="Go 1.24 or newer and Xcode's command line tools"
        ;;
    esac
    cat <<MD
# rpyc-bridge $version for $target

The Go package \`$root_module\` ($version) with its
archive for this platform: call remote Python over RPyC from one Go executable that carries
its own CPython. Building needs $needs; no Rust, no Python, no network.

- \`goproxy/\`: a Go module proxy on disk with the rpyc module, \`$mod\` (the archive), and the
  go.mod files of the other platforms' modules.
- \`lib/\`, \`include/rpyc_bridge.h\`: the same archive and its header, for C programs.
- \`licenses/\`: what the archive contains and under which licenses.

## Build a Go program with it

Put this \`main.go\` in a new folder:

\`\`\`go
$(cat examples/go-consumer/main.go)
\`\`\`

and run, in that folder (\`release\` is where this README is):

\`\`\`sh
release=/path/to/rpyc-bridge-${version#v}-$target
export GOPROXY=file://\$release/goproxy GOSUMDB=off
$goenv
go mod init example.com/hello
go get $root_module@$version
$build
\`\`\`

Then, with a classic RPyC server listening on 127.0.0.1:18812 (\`rpyc_classic --host 127.0.0.1\`,
numpy installed there):

\`\`\`sh
$run
\`\`\`

It prints:

\`\`\`
$(cat examples/go-consumer/expected.txt)
\`\`\`

\`GOSUMDB=off\` (or \`GONOSUMDB=$root_module\`) because this module set is not in the
public checksum database until it is published. \`go mod tidy\` reads every platform's
imports, so it needs the full module set (the release's tags, or a GOPROXY tree with all
platforms); \`go get\`, \`go build\` and \`go vet\` need only what is here.
MD
}

for target in "${targets[@]}"; do
    mod=${module_dirs[$target]}
    name=rpyc-bridge-${version#v}-$target
    stage=$out/$name
    mkdir -p "$stage"/{lib,include,licenses,goproxy}
    # The rpyc module and this platform's module whole; of the others, what the module
    # graph needs (list, .info, .mod) and not their zips.
    (cd "$proxy" && find . -type f \( ! -name '*.zip' -o -path "./${root_module}/@v/*" -o -path "./${root_module}/${mod}/@v/*" \) |
        "$tar" -T - -cf -) | "$tar" -xf - -C "$stage/goproxy"
    cp "$work/modules/$mod"/*.a "$stage/lib/"
    cp go/rpyc_bridge.h "$stage/include/"
    licenses "${python_roots[$target]}" "$stage/licenses"
    readme "$target" "$mod" > "$stage/README.md"
    (cd "$stage" && find . -type f ! -name SHA256SUMS | sort | xargs "${sha256[@]}" > SHA256SUMS)
    "$tar" -C "$out" --owner=0 --group=0 --sort=name --mtime="$stamp" -czf "$out/$name.tar.gz" "$name"
    rm -rf "$stage"
    echo "tarball $name.tar.gz $(size_of "$out/$name.tar.gz")" >> "$out/sizes.txt"
done
(cd "$out" && "${sha256[@]}" ./*.tar.gz > SHA256SUMS)
say "release artifacts in $out (goproxy/, tarballs, SHA256SUMS):"
cat "$out/SHA256SUMS" >&2
say "sizes, in bytes:"
cat "$out/sizes.txt" >&2
