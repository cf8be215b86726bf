#!/usr/bin/env bash
# Builds the widget (trunk → dist/) and the relay (release). Runs set-up first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh
echo "[build] widget (trunk → dist/)"
trunk build --release --skip-version-check
# Precompressed copies at the highest levels; the relay serves them to
# browsers that accept them.
for f in dist/*.wasm dist/*.js dist/*.html; do
    brotli -f -k -q 11 "$f"
    gzip -f -k -9 "$f"
done
echo "[build] relay"
cargo build --release -p chyron-relay
