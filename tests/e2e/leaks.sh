#!/usr/bin/env bash
# The C ABI under valgrind: tests/c/abi_leaks.c (calls, errors, values with buffers, large
# results in the caller's memory, Refs, the seed API, unknown handles; every result freed)
# linked against librpyc_bridge.a the way cgo links it, against a real server. Fails on any
# definitely lost block, and on any possibly lost block that tests/e2e/cpython.supp does not
# explain (CPython internals only).
# Usage: tests/e2e/leaks.sh [ROUNDS]   (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
require_toolchain
command -v valgrind >/dev/null || ensure_apt valgrind

archive=dist/$(go env GOOS)_$(go env GOARCH)/librpyc_bridge.a
[[ -f $archive ]] || die "build first: scripts/build.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O1 -g -Wall -Wextra -Werror -o "$work/abi_leaks" tests/c/abi_leaks.c -Igo "$archive" \
    -lm -ldl -lpthread -lutil -static-libgcc

start_server
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$work"' EXIT
status=0
valgrind --leak-check=full --show-leak-kinds=definite,possible --errors-for-leak-kinds=definite,possible \
    --suppressions=tests/e2e/cpython.supp --num-callers=40 --error-exitcode=99 \
    --log-file="$work/valgrind.log" "$work/abi_leaks" "$SERVER_PORT" "${1:-10}" || status=$?
sed -n '/LEAK SUMMARY/,/suppressed/p' "$work/valgrind.log" | sed 's/^==[0-9]*== //'
grep -q 'definitely lost: 0 bytes in 0 blocks' "$work/valgrind.log" || {
    grep -q 'All heap blocks were freed' "$work/valgrind.log" || { cat "$work/valgrind.log"; die "definitely lost blocks"; }
}
if [[ $status -ne 0 ]]; then
    cat "$work/valgrind.log"
    die "abi_leaks under valgrind: exit $status (99: a leak or memory error valgrind reports)"
fi
say "leaks: no definitely lost blocks, no unexplained possibly lost ones"
