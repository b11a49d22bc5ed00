# Shared helpers for the scripts in this folder (sourced, not run).

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Go, cargo and a C compiler must be there; nothing else on the machine is needed.
require_toolchain() {
    command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs)"
    command -v go >/dev/null || {
        [[ -x /usr/local/go/bin/go ]] && export PATH="/usr/local/go/bin:$PATH"
    }
    command -v go >/dev/null || die "go not found: install Go 1.24 or newer"
    command -v cc >/dev/null || die "no C compiler: apt-get install gcc"
    command -v make >/dev/null || die "make not found: apt-get install make"
    command -v xz >/dev/null || die "xz not found (the CPython source build needs it): apt-get install xz-utils"
}

# Starts tests/fixtures/classic_server.py in the background; sets SERVER_PID and SERVER_PORT.
start_server() {
    start_fixture classic_server.py "${1:-0}"
    SERVER_PID=$FIXTURE_PID SERVER_PORT=$FIXTURE_PORT
    trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
}

# start_fixture SCRIPT [ARGS...]: runs tests/fixtures/SCRIPT with the venv's Python and
# waits for the port it prints once listening; sets FIXTURE_PID and FIXTURE_PORT.
start_fixture() {
    local out
    out=$(mktemp)
    .venv/bin/python "tests/fixtures/$1" "${@:2}" > "$out" &
    FIXTURE_PID=$!
    for _ in $(seq 100); do
        [[ -s $out ]] && break
        sleep 0.1
    done
    FIXTURE_PORT=$(head -1 "$out")
    rm -f "$out"
    [[ -n $FIXTURE_PORT ]] || die "the RPyC server tests/fixtures/$1 did not start"
}

# ensure_apt PACKAGE...: installs the Debian packages that are not installed yet.
ensure_apt() {
    local missing=() p
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    ((${#missing[@]} == 0)) && return 0
    say "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_rust_target() {
    rustup target list --installed | grep -qx "$1" || rustup target add "$1"
}
