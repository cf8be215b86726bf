#!/usr/bin/env bash
# Builds the widget (trunk → dist/) and the relay (release). Runs set-up first.
set -euo pipefail
cd "$(dirname "$0")/.."
# wasm-opt is npm's binaryen (tests/e2e/node_modules/.bin, put there by
# set-up), ahead of any system one; cargo-installed tools live in CARGO_HOME.
export PATH="$PWD/tests/e2e/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
bash scripts/setup.sh
# Links both wasm modules without the exports nothing calls (see the script).
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$PWD/scripts/wasm-link.sh"
echo "[build] widget (trunk → dist/; wasm-opt $(wasm-opt --version | awk '{print $3}'); ~7 min the first time, 1 min of it wasm-opt)"
trunk build --release --skip-version-check
echo "[build] chat module (trunk → dist/chat/; matrix-sdk; ~6 min the first time, 1 min of it wasm-opt)"
(cd chat && trunk build --release --skip-version-check)
rm -f dist/chat/index.html
# The glue without the classes, imports and exports nothing uses.
node scripts/trim-glue.mjs dist/chyron.js dist/chyron_bg.wasm mount
node scripts/trim-glue.mjs dist/chat/chyron-chat.js dist/chat/chyron-chat_bg.wasm mount_chat
# trunk's own JS minifier fails on wasm-bindgen's glue; terser does it.
terser=tests/e2e/node_modules/.bin/terser
"$terser" dist/chyron.js --module --compress --mangle --output dist/chyron.js
"$terser" dist/chat/chyron-chat.js --module --compress --mangle --output dist/chat/chyron-chat.js
"$terser" dist/embed.js --compress --mangle --output dist/embed.js
# Precompressed copies at the highest levels; the relay serves them to
# browsers that accept them.
for f in dist/*.wasm dist/*.js dist/*.html dist/chat/*.wasm dist/chat/*.js; do
    brotli -f -k -q 11 "$f"
    gzip -f -k -9 "$f"
done
echo "[build] relay (release; ~25 min the first time on 2 cores)"
cargo build --release -p chyron-relay
