# Sourced by scripts/build.sh (and dist.sh): what building for TARGET ($1, empty for this
# machine) takes, and installs the toolchain it needs (apt, rustup) if it is missing.
# Sets: PLATFORM (dist/ name), GO_LIB (the platform's Go module folder, go/lib/<os>-<arch>),
# ARCHIVE, EXTRA_LIBS, CARGO_FLAGS, GO_ENV, GO_FLAGS, EXAMPLE, RUN_PREFIX (how to run the
# target's binaries here), STRIP (strips debug sections from the target's archives),
# BINUTILS (the prefix of the target's GNU binutils; "none" on macOS).

# A host CPython 3.13 for cross builds (configure --with-build-python, the stdlib's .pyc):
# the one the host build put in the cache, built first if needed.
host_python() {
    local cache=${RPYC_BRIDGE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rpyc-bridge}
    local host py
    host=$(rustc -vV | sed -n 's/^host: //p')
    find_py() { ls -d "$cache"/dist/cpython-*-"$host"-source-*/python/install/bin/python3.13 \
                       "$cache"/dist/pbs-*/python/install/bin/python3.13 2>/dev/null | head -1; }
    py=$(find_py)
    if [[ -z $py ]]; then
        say "building for this machine first: its CPython is the build Python of cross builds"
        cargo build --release --locked >&2
        py=$(find_py)
    fi
    [[ -n $py ]] || die "no host CPython 3.13 in $cache/dist; set RPYC_BRIDGE_BUILD_PYTHON"
    echo "$py"
}

# rustlib's self-contained libunwind.a: Rust's unwinder for musl, which the final static
# link needs (the staticlib does not bundle it, and musl has none).
rust_libunwind() {
    echo "$(rustc --print sysroot)/lib/rustlib/$1/lib/self-contained/libunwind.a"
}

# aarch64 musl C compiler: Debian's aarch64 gcc with musl's arm64 specs (what musl-gcc
# is on x86_64), as a wrapper script under target/. Its -L dir holds only the cross gcc's
# libatomic.a, so that -latomic (CPython's configure asks for it on aarch64) is linked
# statically instead of from the glibc-only libatomic.so next to it. -mno-outline-atomics:
# gcc's outline atomics call __getauxval, which Debian's musl 1.2.3 does not have.
aarch64_musl_gcc() {
    local dir=$PWD/target/cross-bin
    local atomic
    atomic=$(aarch64-linux-gnu-gcc -print-file-name=libatomic.a)
    mkdir -p "$dir/aarch64-musl-lib"
    ln -sf "$atomic" "$dir/aarch64-musl-lib/libatomic.a"
    printf '#!/bin/sh\nexec aarch64-linux-gnu-gcc -mno-outline-atomics "$@" -L%s -specs /usr/lib/aarch64-linux-musl/musl-gcc.specs\n' \
        "$dir/aarch64-musl-lib" > "$dir/aarch64-linux-musl-gcc"
    chmod +x "$dir/aarch64-linux-musl-gcc"
    echo "$dir/aarch64-linux-musl-gcc"
}

# --gc-sections drops the archive's unused code (about 0.9 MB of the example); cgo refuses
# it in #cgo LDFLAGS, so it is given to the external linker here (-dead_strip on macOS).
gc_flag=-Wl,--gc-sections
[[ $(uname -s) == Darwin ]] && gc_flag=-Wl,-dead_strip
# What the shipped archive can lose: debug sections, and the LLVM bitcode Rust's std objects
# carry for cross-language LTO (the linker never reads it). GNU strip for this machine's ELF
# (aarch64's below); on macOS Apple's strip, -S.
strip_flags=(--strip-debug --remove-section=.llvmbc --remove-section=.llvmcmd --enable-deterministic-archives)
STRIP=(strip "${strip_flags[@]}") BINUTILS=
[[ $(uname -s) == Darwin ]] && STRIP=(strip -S) BINUTILS=none
CARGO_FLAGS=() EXTRA_LIBS=() GO_FLAGS=(-ldflags "-extldflags $gc_flag") GO_ENV=(CGO_ENABLED=1) RUN_PREFIX=()
STATIC_GO=(-ldflags "-linkmode external -extldflags '-static -Wl,--gc-sections'")
case ${1:-} in
"")
    PLATFORM=$(go env GOOS)_$(go env GOARCH)
    ARCHIVE=target/release/librpyc_bridge.a
    EXAMPLE=bin/rpyc-example
    ;;
x86_64-unknown-linux-musl)
    ensure_apt musl-tools
    ensure_rust_target "$1"
    export CC_x86_64_unknown_linux_musl=musl-gcc
    export RPYC_BRIDGE_BUILD_PYTHON=${RPYC_BRIDGE_BUILD_PYTHON:-$(host_python)}
    PLATFORM=linux_amd64_musl
    CARGO_FLAGS=(--target "$1")
    EXTRA_LIBS=("$(rust_libunwind "$1")")
    GO_ENV+=(GOOS=linux GOARCH=amd64 CC=musl-gcc)
    GO_FLAGS=(-tags musl "${STATIC_GO[@]}")
    ;;
aarch64-unknown-linux-gnu)
    ensure_apt gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
    ensure_rust_target "$1"
    export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
    export RPYC_BRIDGE_BUILD_PYTHON=${RPYC_BRIDGE_BUILD_PYTHON:-$(host_python)}
    # python-build-standalone's aarch64 objects are LLVM bitcode: the source build is the
    # one that needs nothing beyond the cross gcc.
    export RPYC_BRIDGE_PYTHON_FROM_SOURCE=${RPYC_BRIDGE_PYTHON_FROM_SOURCE:-1}
    PLATFORM=linux_arm64
    CARGO_FLAGS=(--target "$1")
    GO_ENV+=(GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc)
    RUN_PREFIX=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
    STRIP=(aarch64-linux-gnu-strip "${strip_flags[@]}") BINUTILS=aarch64-linux-gnu-
    ;;
aarch64-unknown-linux-musl)
    if ! dpkg -s musl-dev:arm64 >/dev/null 2>&1; then
        dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
        ensure_apt gcc-aarch64-linux-gnu qemu-user musl-dev:arm64
    fi
    ensure_apt gcc-aarch64-linux-gnu qemu-user
    ensure_rust_target "$1"
    musl_cc=$(aarch64_musl_gcc)
    export CC_aarch64_unknown_linux_musl=$musl_cc AR_aarch64_unknown_linux_musl=aarch64-linux-gnu-ar
    export RPYC_BRIDGE_BUILD_PYTHON=${RPYC_BRIDGE_BUILD_PYTHON:-$(host_python)}
    PLATFORM=linux_arm64_musl
    CARGO_FLAGS=(--target "$1")
    EXTRA_LIBS=("$(rust_libunwind "$1")")
    GO_ENV+=(GOOS=linux GOARCH=arm64 CC="$musl_cc")
    GO_FLAGS=(-tags musl "${STATIC_GO[@]}")
    RUN_PREFIX=(qemu-aarch64)
    STRIP=(aarch64-linux-gnu-strip "${strip_flags[@]}") BINUTILS=aarch64-linux-gnu-
    ;;
*) die "unsupported target $1 (see scripts/build.sh)" ;;
esac
if [[ -n ${1:-} ]]; then
    ARCHIVE=target/$1/release/librpyc_bridge.a
    EXAMPLE=bin/rpyc-example-${PLATFORM//_/-}
fi
GO_LIB=go/lib/${PLATFORM//_/-}
[[ -f $GO_LIB/go.mod ]] || die "no Go module for $PLATFORM: $GO_LIB/go.mod is missing"
