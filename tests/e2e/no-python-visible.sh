#!/usr/bin/env bash
# The embedded Python and the Go example, run where no Python is visible: a private mount
# namespace with empty tmpfs over every Python install location (system, pyenv, the venv,
# the build cache that holds the source-built CPython), an empty environment (env -i) and
# an empty working directory. The RPyC server runs outside, on 127.0.0.1.
#
# Also: ldd of both binaries lists only libc-family libraries.
# Usage: tests/e2e/no-python-visible.sh   (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
require_toolchain

example=bin/rpyc-example
archive=dist/$(go env GOOS)_$(go env GOARCH)/librpyc_bridge.a
[[ -x $example && -f $archive ]] || die "build first: scripts/build.sh"
# A C test program linked against the archive alone, the way cgo links it.
embedded=$(mktemp -d)/embedded_python
cc -O1 -o "$embedded" tests/c/embedded_python.c -Igo "$archive" -lm -ldl -lpthread -lutil -static-libgcc

check_ldd() {
    local bad
    bad=$(ldd "$1" | awk '{print $1}' | grep -Ev '^(linux-vdso\.so|libc\.so|libm\.so|libdl\.so|libpthread\.so|/lib64/ld-linux|/lib/ld-linux|libutil\.so)' || true)
    [[ -z $bad ]] || die "$1 links more than libc: $bad"
    say "ldd $1: only libc-family libraries"
}
check_ldd "$embedded"
check_ldd "$example"

command -v unshare >/dev/null || die "unshare not found: apt-get install util-linux"
start_server

work=$(mktemp -d)
cp "$embedded" "$example" "$work/"
mkdir "$work/empty"

# Everything that could hold a Python stdlib, hidden behind empty tmpfs mounts.
hide=()
for d in /usr/lib/python3* /usr/local/lib/python3* /usr/lib/python2* /opt/*python* \
         "$HOME/.pyenv" "$HOME/.cache" "$HOME/.local/lib" "${RPYC_BRIDGE_CACHE_DIR:-}" \
         "$PWD/.venv" "$PWD/target"; do
    [[ -n $d && -d $d ]] && hide+=("$d")
done

unshare --mount --propagation private bash -s "$work" "$SERVER_PORT" "${hide[@]}" <<'INNER'
set -euo pipefail
work=$1 port=$2; shift 2
for d in "$@"; do mount -t tmpfs -o ro,size=1m none "$d"; done
# Prove the point: no Python on this machine can start now.
for py in python3 python /usr/bin/python3; do
    if command -v "$py" >/dev/null && "$py" -c 'import encodings' 2>/dev/null; then
        echo "error: $py still works inside the namespace" >&2; exit 1
    fi
done
cd "$work/empty"
out=$(env -i "$work/embedded_python" -c 'import rpyc, encodings, socket, json, sys; print(sys.version)')
echo "embedded_python: $out"
[[ $out == 3.13.5* ]]
env -i "$work/rpyc-example" -host 127.0.0.1 -port "$port" > "$work/example.out"
grep -q '^All tests passed!$' "$work/example.out"
echo "rpyc-example: all seed tests passed"
[[ -z $(ls -A "$work/empty") ]] || { echo "error: files were written to the working directory" >&2; exit 1; }
INNER
rm -rf "$work"
say "no-python-visible: ok"
