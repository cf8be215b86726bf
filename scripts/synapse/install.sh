#!/usr/bin/env bash
# Installs the pinned Synapse (requirements.txt, with constraints.txt; wheels
# only, from the Python package registry) into the venv VENV, unless that
# version is there already. Usage: scripts/synapse/install.sh VENV
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
VENV=$1
PY="$VENV/bin/python"
WANT=$(sed -n 's/^matrix-synapse==//p' "$HERE/requirements.txt")
HAVE=$("$PY" -c 'import importlib.metadata as m; print(m.version("matrix-synapse"))' 2>/dev/null || true)
if [ "$HAVE" != "$WANT" ]; then
    echo "[synapse] installing matrix-synapse $WANT into $VENV (once; takes a minute)" >&2
    [ -x "$PY" ] || python3 -m venv "$VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check --only-binary :all: \
        -r "$HERE/requirements.txt" -c "$HERE/constraints.txt" >&2
fi
