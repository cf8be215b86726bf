#!/usr/bin/env bash
# Runs every test: set-up, formatting, native tests (protocol, relay, widget
# logic), the widget's in-browser tests (wasm-bindgen-test in headless
# Chromium), then the end-to-end tests (the real relay serving the real widget
# to headless Chromium), then the demo's own check (a line from a Matrix
# chatter reaches the relay's feed through a real Synapse).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Set-up's detection, first: its dry run on a stand-in fresh machine must name
# every tool it would install (a broken check would otherwise stay hidden on
# machines that have the tools).
echo "[test] set-up on a stand-in fresh machine (setup.sh --dry-run)"
bash scripts/check-setup.sh

bash scripts/setup.sh

# A fresh clone builds everything once: incremental caches would only take
# disk. Say how much is free, so a run that fills the disk is easy to explain.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}; fi
echo "[test] disk: $(df -h --output=avail . | tail -1 | tr -d ' ') free here"

echo "[test] formatting"
cargo fmt --all -- --check

echo "[test] native: protocol, relay (with a real Synapse), widget logic"
# The Matrix tests start their own Synapse (scripts/synapse) from one shared
# venv, installed once; here they must not skip.
export CHYRON_SYNAPSE_VENV="$PWD/.data/synapse-venv" CHYRON_REQUIRE_SYNAPSE=1
# Not the Matrix test peer: it needs matrix-sdk's e2e-encryption, which
# feature unification would give the relay too. It builds on its own below.
cargo test --workspace --quiet --exclude chyron-matrix-peer

echo "[test] the Matrix test peer (native matrix-sdk with encryption; tests/matrix-peer)"
# Its own cargo invocation (see above). A debug build: the end-to-end tests
# send a few dozen messages, and a release build of matrix-sdk costs minutes.
cargo test -p chyron-matrix-peer --quiet
cargo build -p chyron-matrix-peer --quiet
export CHYRON_MATRIX_PEER_BIN=${CHYRON_MATRIX_PEER_BIN:-$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/debug/chyron-matrix-peer}

echo "[test] widget in headless Chromium (wasm-bindgen-test)"
CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=120 \
    cargo test -p chyron --target wasm32-unknown-unknown --test web

bash scripts/build.sh
# The end-to-end tests and the demo check run the relay just built, wherever
# cargo put it.
export CHYRON_RELAY_BIN=${CHYRON_RELAY_BIN:-$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release/chyron-relay}

echo "[test] end to end: relay + widget + Chromium"
(cd tests/e2e && node --test --test-concurrency=1 --test-reporter=spec ./*.test.mjs)

echo "[test] the demo: Synapse, the relay bridged to it, Matrix chatters (demo.sh --check)"
# Free ports and a temporary directory: a running demo is not disturbed.
bash scripts/demo.sh --check --no-build

echo "[test] the clustered demo: two relays, Redis, PostgreSQL (demo.sh --cluster --check)"
bash scripts/demo.sh --check --no-build --cluster
