#!/usr/bin/env bash
# Builds everything, starts a real RPyC classic server (rpyc and numpy from PyPI, in .venv)
# on 127.0.0.1, runs the example against it, and stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_toolchain
scripts/setup-venv.sh
scripts/build.sh
start_server
say "RPyC classic server on 127.0.0.1:$SERVER_PORT"
echo
bin/rpyc-example -host 127.0.0.1 -port "$SERVER_PORT"
