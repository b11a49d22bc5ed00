#!/usr/bin/env bash
# Creates .venv with the RPyC server side used by the demo, tests and benchmarks:
# rpyc, numpy and scikit-learn from PyPI. The embedded client never uses this venv.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${RPYC_BRIDGE_VENV:-.venv}
PY=${PYTHON:-python3}
stamp="$VENV/.rpyc-bridge-ready"
want="rpyc==6.0.2 numpy scikit-learn"
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    exit 0
fi
echo "setup-venv: creating $VENV with $want" >&2
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check $want
echo "$want" > "$stamp"
