#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail): builds, then measures the widget in
# headless Chromium (download size, latency, a 200 msg/s burst) and the relay's
# fan-out to many websocket viewers, at a steady rate and past saturation.
# Prints the figures and writes bench/out/*.json and bench/out/REPORT.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
VIEWERS=${VIEWERS:-1000}
RATE=${RATE:-50}
SECONDS_=${SECONDS_:-10}

bash scripts/build.sh
cargo build --release -p chyron-bench
mkdir -p bench/out

echo "[bench] browser: download size, latency, burst"
(cd tests/e2e && node bench.mjs)

echo "[bench] relay fan-out: $VIEWERS viewers, $RATE msg/s for ${SECONDS_}s"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
./target/release/chyron-bench-fanout --viewers "$VIEWERS" --rate "$RATE" --seconds "$SECONDS_" \
    --relay target/release/chyron-relay --out bench/out/fanout.json

echo "[bench] relay fan-out past saturation: $VIEWERS viewers, $((RATE * 4)) msg/s offered"
./target/release/chyron-bench-fanout --viewers "$VIEWERS" --rate "$((RATE * 4))" --seconds "$SECONDS_" \
    --relay target/release/chyron-relay --out bench/out/fanout-saturated.json

python3 scripts/bench_report.py bench/out > bench/out/REPORT.md
cat bench/out/REPORT.md
