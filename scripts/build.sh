#!/usr/bin/env bash
# Builds the widget (trunk → dist/) and the relay (release). Runs set-up first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh
echo "[build] widget (trunk → dist/)"
trunk build --release --skip-version-check
echo "[build] relay"
cargo build --release -p chyron-relay
