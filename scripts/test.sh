#!/usr/bin/env bash
# Runs every test: lint, Rust tests, Go tests (with -race), and the end-to-end scripts.
# Prepares what they need first (the server venv, the archive, the example binary).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_toolchain
scripts/setup-venv.sh || die "could not create the server venv"
scripts/build.sh || die "build failed"

passed=0 failed=0 failures=()
stage() { # stage NAME COMMAND...: runs one stage, records the outcome, goes on
    local name=$1; shift
    say "$name"
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$name")
    fi
}

stage "lint" scripts/lint.sh
stage "rust tests" cargo test --release --locked
stage "python: the value format and the server helper" .venv/bin/python -m unittest discover -s tests/python
stage "go tests (-race)" bash -c 'cd go && CGO_ENABLED=1 go test -race -count=1 ./...'
stage "e2e: no Python visible" tests/e2e/no-python-visible.sh
stage "e2e: build rules" tests/e2e/build-rules.sh
stage "e2e: static binary in an empty chroot" tests/e2e/static-chroot.sh
stage "e2e: C ABI under valgrind, no leaks" tests/e2e/leaks.sh
stage "fuzz: C ABI and Go values, 10 s per target" scripts/fuzz.sh 10
stage "e2e: release artifacts (x86_64, aarch64 under qemu)" tests/e2e/release-artifacts.sh
# After release-artifacts: it uses the module proxy tree dist.sh just wrote, builds nothing again.
stage "e2e: go get from the release's module proxy (glibc, static musl, arm64)" tests/e2e/go-get.sh

echo
for f in "${failures[@]}"; do echo "failed stage: $f"; done
echo "stages: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
