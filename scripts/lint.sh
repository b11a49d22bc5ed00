#!/usr/bin/env bash
# rustfmt, clippy (warnings are errors), gofmt, go vet, and actionlint on the workflows.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_toolchain
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy
cargo fmt --all --check
(cd fuzz && cargo fmt --check) # its own workspace (nightly-only), so --all does not reach it
cargo clippy --release --locked --all-targets -- -D warnings
unformatted=$(gofmt -l go tools examples)
[[ -z $unformatted ]] || die "gofmt: $unformatted"
(cd go && go vet ./...)
(cd tools/modproxy && go vet ./...)
# The release workflow cannot run here; actionlint (from the Go module proxy) checks it.
go run github.com/rhysd/actionlint/cmd/actionlint@v1.7.7 .github/workflows/*.yml
say "lint: clean"
