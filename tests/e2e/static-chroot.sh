#!/usr/bin/env bash
# The fully static musl build, run where there is nothing but the binary: an empty chroot
# (no libc, no /etc, no /proc, no /tmp), its root mounted read-only, under strace.
#
# Checks: `file` says statically linked; the seed example passes against a real RPyC server
# on 127.0.0.1 (numeric address); `localhost` fails cleanly without /etc/hosts and works
# with it; `python -c` and `python -m` work, and sys.executable is the binary; mutual TLS works with PEM passed in (there is
# no /etc/ssl), and without a CA the error says so; strace sees no open for writing, no file
# created, renamed or removed, and no memfd.
# Usage: tests/e2e/static-chroot.sh   (builds the musl target itself; x86_64 hosts)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
require_toolchain
[[ $(uname -m) == x86_64 ]] || { say "static-chroot: skipped (x86_64 hosts only)"; exit 0; }
[[ $(id -u) == 0 ]] || die "chroot and mount need root"
ensure_apt musl-tools strace file util-linux openssl

scripts/build.sh x86_64-unknown-linux-musl
binary=bin/rpyc-example-linux-amd64-musl
kind=$(file -b "$binary")
[[ $kind == *"statically linked"* ]] || die "$binary is not static: $kind"
say "file $binary: statically linked"

# The Dockerfile's final stage is this test's chroot: FROM scratch, the same binary alone.
final=$(awk '/^FROM /{stage=""} {stage=stage $0 "\n"} END{printf "%s", stage}' Dockerfile)
grep -q '^FROM scratch$' <<<"$final" || die "the Dockerfile's final stage is not FROM scratch"
[[ $(grep -c '^COPY' <<<"$final") == 1 ]] || die "the Dockerfile's final stage copies more than the binary"
grep -q "strip -o /rpyc-example $binary" Dockerfile || die "the Dockerfile does not ship $binary"

start_server
root=$(mktemp -d)
certs=$(mktemp -d) TLS_PID=
trap 'kill $SERVER_PID $TLS_PID 2>/dev/null || true; umount "$root" 2>/dev/null || true; rm -rf "$root" "$certs"' EXIT
cp "$binary" "$root/rpyc-example"
[[ $(ls -A "$root") == rpyc-example ]]

chroot=$(command -v chroot)
run() { env -i "$chroot" "$root" /rpyc-example "$@"; }

out=$(run -host 127.0.0.1 -port "$SERVER_PORT")
grep -q '^All tests passed!$' <<<"$out" || die "the seed example failed in the empty chroot: $out"
say "empty chroot, 127.0.0.1: all seed tests passed"

if out=$(run -host localhost -port "$SERVER_PORT" 2>&1); then
    die "localhost resolved without /etc/hosts: $out"
fi
grep -q 'cannot connect to localhost' <<<"$out" || die "unexpected failure for localhost: $out"
mkdir "$root/etc"
echo '127.0.0.1 localhost' > "$root/etc/hosts"
run -host localhost -port "$SERVER_PORT" | grep -q '^All tests passed!$' || die "localhost failed with /etc/hosts"
rm -r "$root/etc"
say "empty chroot, localhost: fails cleanly without /etc/hosts, works with it"

[[ $(run python -c 'import sys, rpyc; print(sys.version.split()[0], rpyc.__version__)') == "3.13.5 6.0.2" ]]
[[ $(echo '{"a": 1}' | run python -m json.tool --compact) == '{"a":1}' ]]
# No /proc: sys.executable comes from the path the kernel exec'd (AT_EXECFN).
out=$(run python -c 'import sys; print(sys.executable)')
[[ $out == /rpyc-example ]] || die "sys.executable in the empty chroot is $out, want /rpyc-example"
say "empty chroot: python -c and python -m work; sys.executable is the binary (no /proc)"

# TLS where there is no /etc/ssl and no /proc, as FROM scratch: the CA and the client
# certificate come as PEM and are read from memory (tls.py, src/client_cert.rs).
issue() { # NAME EXTENSION: a P-256 certificate signed by the test CA
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
        -keyout "$certs/$1.key" -out "$certs/$1.csr" 2>/dev/null
    openssl x509 -req -in "$certs/$1.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" -CAcreateserial \
        -days 1 -extfile <(printf '%s\n' "$2") -out "$certs/$1.pem" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=rpyc-bridge-test-ca \
    -keyout "$certs/ca.key" -out "$certs/ca.pem" 2>/dev/null
issue server "subjectAltName=IP:127.0.0.1"
issue client "extendedKeyUsage=clientAuth"
start_fixture tls_server.py "$certs/server.pem" "$certs/server.key" "$certs/ca.pem"
TLS_PID=$FIXTURE_PID tls_port=$FIXTURE_PORT
tls_probe='
import socket, sys, rpyc
from rpyc.core.stream import SocketStream
from rpyc_bridge_rt import tls
from rpyc_bridge_rt.errors import BridgeError
port, options = int(sys.argv[1]), dict(zip(("ca_pem", "cert_pem", "key_pem"), sys.argv[2:]))
try:
    sock = tls.wrap(socket.create_connection(("127.0.0.1", port)), tls.client_context(options), "127.0.0.1", "server")
    print(rpyc.classic.connect_stream(SocketStream(sock)).modules.math.sqrt(16))
except BridgeError as err:
    print(err)
'
out=$(run python -c "$tls_probe" "$tls_port" "$(cat "$certs/ca.pem")" "$(cat "$certs/client.pem")" "$(cat "$certs/client.key")")
[[ $out == 4.0 ]] || die "mutual TLS with PEM in the empty chroot failed: $out"
out=$(run python -c "$tls_probe" "$tls_port")
grep -q "no CA was given and the system has none at /etc/ssl/cert.pem" <<<"$out" || die "TLS without a CA: $out"
say "empty chroot: mutual TLS with the CA, certificate and key as PEM; without a CA, a clear error"

# Read-only root, under strace: the stdlib is imported from memory, so nothing is opened
# for writing, created, renamed, removed, and no memfd is made. (chroot(8) itself opens
# its libc and locale files read-only before it runs the binary.)
log=$(mktemp)
unshare --mount --propagation private bash -s "$root" "$SERVER_PORT" "$log" "$chroot" <<'INNER'
set -euo pipefail
root=$1 port=$2 log=$3 chroot=$4
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
if touch "$root/probe" 2>/dev/null; then echo "error: the root is writable" >&2; exit 1; fi
strace -f -qq -o "$log" \
    -e trace=open,openat,openat2,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,memfd_create \
    env -i "$chroot" "$root" /rpyc-example -host 127.0.0.1 -port "$port" > "$root.out"
env -i "$chroot" "$root" /rpyc-example python -c 'import rpyc, socket, json, encodings.idna, email.message' >> "$root.out"
grep -q '^All tests passed!$' "$root.out"
rm -f "$root.out"
INNER
writes=$(grep -E 'O_WRONLY|O_RDWR|O_CREAT|creat\(|mkdir|rename|unlink|memfd_create' "$log" || true)
opened=$(grep -c 'open' "$log" || true)
rm -f "$log"
[[ -z $writes ]] || die "the static binary wrote or created files: $writes"
say "read-only root, strace: $opened opens, none for writing; nothing created; no memfd"
say "static-chroot: ok"
