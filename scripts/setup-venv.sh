#!/usr/bin/env bash
# Creates .venv with the RPyC server side used by the demo, tests and benchmarks:
# rpyc, numpy and scikit-learn from PyPI; and .venv-rpyc5 with rpyc 5.3.1 alone, the
# mismatched server of go/peers_test.go. The embedded client never uses these venvs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# venv DIR PACKAGES...: DIR has exactly PACKAGES (a stamp file records them).
venv() {
    local dir=$1; shift
    local stamp="$dir/.rpyc-bridge-ready" want="$*"
    if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
        return 0
    fi
    echo "setup-venv: creating $dir with $want" >&2
    "$PY" -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
    echo "$want" > "$stamp"
}
venv "${RPYC_BRIDGE_VENV:-.venv}" rpyc==6.0.2 numpy scikit-learn
venv "${RPYC_BRIDGE_VENV5:-.venv-rpyc5}" rpyc==5.3.1
