#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail): builds, then measures the widget in
# headless Chromium (download size, latency, a 200 msg/s burst), the relay's
# fan-out to many websocket viewers, at a steady rate and past saturation, and
# the Matrix bridge against a throwaway loopback Synapse (Matrix send → caption
# in the DOM, with 1 and 1,000 feed viewers; beside it, Synapse serving 1, 200
# and 1,000 guests who long-poll /sync themselves), and the relay under hostile
# clients (ping flood, channel churn, slow requests, snapshot amplification,
# webhook and media floods: relay memory, /healthz and a normal viewer's
# latency during each, beside a baseline), and the full chat (the chat
# module's size, open → panel and join → composer in Chromium, post →
# confirmed line, and Synapse's CPU with 200 chatters reading through the
# relay's feed vs. each long-polling /sync), and clustered mode (viewers
# split across two relay nodes sharing one Redis, beside one relay alone),
# and moderation (delete, timeout, ban → the frame at every overlay viewer).
# Prints the figures and writes bench/out/*.json and bench/out/REPORT.md.
#
# Usage: scripts/bench.sh [all|fanout|matrix|chat|hostile|cluster|moderation] (default all)
#   fanout: only the fan-out figures, the relay beside a plain Node.js `ws`
#           broadcast server (bench/ws-baseline, `npm ci` there on first use)
#           under the same client, alternating, FANOUT_RUNS times each
#           (default 3): $VIEWERS viewers at $RATE msg/s for $SECONDS_ s, then
#           FANOUT_LARGE_VIEWERS (5000) at FANOUT_LARGE_RATE (5 msg/s); builds
#           only the relay and the benchmark (~5 min after the build).
#   matrix: only the Matrix figures (tests/e2e/bench-matrix.mjs; builds the
#           widget only if dist/ has none). Its knobs, as environment:
#           MATRIX_RATE (1 msg/s), MATRIX_MESSAGES (120 per run),
#           MATRIX_VIEWERS (1000), MATRIX_GUESTS (1,200,1000),
#           MATRIX_SETUP_SECONDS (300), MATRIX_DRAIN_SECONDS (120).
#   chat: only the full-chat figures (tests/e2e/bench-chat.mjs; builds the
#           widget and chat module only if dist/chat/ has none; ~10 min).
#           Knobs: CHAT_JOINS (10 fresh contexts), CHAT_POSTS (100),
#           CHAT_POST_INTERVAL_MS (250), CHAT_CHATTERS (200),
#           CHAT_SECONDS (60 per run), CHAT_RATE (2 msg/s in total),
#           CHAT_SETUP_SECONDS (300), CHAT_DRAIN_SECONDS (30).
#   hostile: only the hostile-clients figures (builds only the relay and the
#           benchmark; ~2 min). Knobs: HOSTILE_SECONDS (10 per attack),
#           HOSTILE_ARGS (more chyron-bench-hostile flags, e.g. "--slow 3000").
#   cluster: only the clustered-mode figures (not part of all; builds only the
#           relay and the benchmark; ~2 min a run): a throwaway Redis
#           (scripts/redis.sh), two release relays sharing it, CLUSTER_VIEWERS
#           (10000) websocket viewers split across them in viewer processes
#           of ≤ 15,000 sockets, CLUSTER_RATE (5: what the two cores carry;
#           20 is past it) msg/s for CLUSTER_SECONDS (60) posted through the
#           nodes in turn; beside it the same load on one relay without Redis
#           (CLUSTER_SINGLE=0 skips it) and on the Node.js `ws` baseline
#           (bench/ws-baseline, as in fanout; CLUSTER_NODE_WS=0 skips it);
#           CLUSTER_RUNS (1) rounds of those, each run in at most 10 min,
#           into bench/out/cluster-RATE-*.json; then a failover run
#           (CLUSTER_FAILOVER=0 skips it): two nodes, node 1 killed (kill -9)
#           halfway, its viewers resuming on node 0.
#           CLUSTER_VIA_NODE0=1 adds a cluster run with every post through
#           node 0 (node 1's viewers get every message through Redis only).
#   moderation: only the moderation figures (builds only the relay and the
#           benchmark; ~15 s after the build): a release relay with
#           `moderation_notices = true`, MOD_VIEWERS (1000) overlay viewers,
#           MOD_LINES (200) lines by different senders, then MOD_ACTIONS (100)
#           actions MOD_SPACING_MS (100) apart through the API token: delete,
#           timeout, ban in turn, each timed from its request to the frame at
#           every viewer (bench/out/moderation.json). The binary's `--smoke`
#           (20 viewers, 6 actions, ~1 s) exits 1 unless every frame arrived.
# Binaries go to $CARGO_TARGET_DIR (default ./target).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
MODE=${1:-all}
case "$MODE" in all | fanout | matrix | chat | hostile | cluster | moderation) ;; *) echo "usage: $0 [all|fanout|matrix|chat|hostile|cluster|moderation]" >&2; exit 2 ;; esac
VIEWERS=${VIEWERS:-1000}
RATE=${RATE:-50}
SECONDS_=${SECONDS_:-10}
mkdir -p "${CARGO_TARGET_DIR:-target}"
CARGO_TARGET_DIR=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)
export CARGO_TARGET_DIR
BIN=$CARGO_TARGET_DIR/release
export CHYRON_RELAY_BIN=$BIN/chyron-relay CHYRON_SYNAPSE_VENV=${CHYRON_SYNAPSE_VENV:-$PWD/.data/synapse-venv}
# 1,000 websocket viewers or /sync long-polls, on both ends of loopback.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

if [ "$MODE" = hostile ] || [ "$MODE" = fanout ] || [ "$MODE" = cluster ] || [ "$MODE" = moderation ]; then
    cargo build --release -p chyron-relay -p chyron-bench
elif [ "$MODE" = all ] || [ ! -f dist/embed.js ] || { [ "$MODE" = chat ] && [ ! -f dist/chat/chyron-chat.js ]; }; then
    bash scripts/build.sh
else
    bash scripts/setup.sh
    cargo build --release -p chyron-relay
fi
mkdir -p bench/out

if [ "$MODE" = all ]; then
    cargo build --release -p chyron-bench

    echo "[bench] browser: download size, latency, burst"
    (cd tests/e2e && node bench.mjs)

    echo "[bench] relay fan-out past saturation: $VIEWERS viewers, $((RATE * 4)) msg/s offered"
    "$BIN/chyron-bench-fanout" --viewers "$VIEWERS" --rate "$((RATE * 4))" --seconds "$SECONDS_" \
        --relay "$BIN/chyron-relay" --out bench/out/fanout-saturated.json
fi

# The Node.js baseline's one dependency (ws, pinned in its package-lock.json).
ws_baseline_deps() {
    [ -f bench/ws-baseline/node_modules/ws/package.json ] || (cd bench/ws-baseline && npm ci --no-audit --no-fund)
}

if [ "$MODE" = all ] || [ "$MODE" = fanout ]; then
    ws_baseline_deps
    # Relay and Node alternate, so load from anything else on the machine
    # falls on both alike; each run starts a fresh server and ends it.
    fanout() { # server viewers rate out
        "$BIN/chyron-bench-fanout" --server "$1" --viewers "$2" --rate "$3" --seconds "$SECONDS_" \
            --relay "$BIN/chyron-relay" --node-script bench/ws-baseline/server.mjs --out "$4" >/dev/null
    }
    alternating() { # viewers rate: FANOUT_RUNS rounds of relay then Node
        for run in $(seq 1 "${FANOUT_RUNS:-3}"); do
            for server in relay node; do
                echo "[bench] fan-out run $run, $server: $1 viewers, $2 msg/s for ${SECONDS_}s"
                fanout "$server" "$1" "$2" "bench/out/fanout-$server-$1-$run.json"
            done
        done
    }
    rm -f bench/out/fanout-relay-*.json bench/out/fanout-node-*.json
    alternating "$VIEWERS" "$RATE"
    alternating "${FANOUT_LARGE_VIEWERS:-5000}" "${FANOUT_LARGE_RATE:-5}"
    cp "bench/out/fanout-relay-$VIEWERS-1.json" bench/out/fanout.json
fi

if [ "$MODE" = all ] || [ "$MODE" = hostile ]; then
    echo "[bench] hostile clients: each attack ${HOSTILE_SECONDS:-10}s against a fresh relay, beside a baseline"
    # shellcheck disable=SC2086 # HOSTILE_ARGS is a list of flags
    "$BIN/chyron-bench-hostile" --seconds "${HOSTILE_SECONDS:-10}" --relay "$BIN/chyron-relay" \
        --out bench/out/hostile.json ${HOSTILE_ARGS:-} >/dev/null
fi

if [ "$MODE" = all ] || [ "$MODE" = moderation ]; then
    echo "[bench] moderation: ${MOD_ACTIONS:-100} actions (delete, timeout, ban) → ${MOD_VIEWERS:-1000} overlay viewers"
    # Ends by itself within 60 s, and ends the relay it started.
    timeout 120 "$BIN/chyron-bench-moderation" --viewers "${MOD_VIEWERS:-1000}" --lines "${MOD_LINES:-200}" \
        --actions "${MOD_ACTIONS:-100}" --spacing-ms "${MOD_SPACING_MS:-100}" \
        --relay "$BIN/chyron-relay" --out bench/out/moderation.json >/dev/null
fi

if [ "$MODE" = cluster ]; then
    command -v redis-server >/dev/null || { echo "[bench] cluster needs redis-server: run scripts/setup.sh" >&2; exit 1; }
    # One throwaway Redis for all runs (each run uses a channel of its own),
    # stopped by its PID however this script ends.
    redis_dir=$(mktemp -d "${TMPDIR:-/tmp}/chyron-bench-redis.XXXXXX")
    trap 'bash scripts/redis.sh stop "$redis_dir"; rm -rf "$redis_dir"' EXIT
    redis_url=$(bash scripts/redis.sh start "$redis_dir")
    cluster() { # nodes out label [flags]: one run; the benchmark kills its servers and viewer processes when it ends
        local redis=()
        if [ "$1" -gt 1 ]; then redis=(--redis "$redis_url" --redis-pidfile "$redis_dir/redis.pid"); fi
        timeout 600 "$BIN/chyron-bench-cluster" --nodes "$1" "${redis[@]}" --relay "$BIN/chyron-relay" \
            --viewers "${CLUSTER_VIEWERS:-10000}" --rate "${CLUSTER_RATE:-5}" --seconds "${CLUSTER_SECONDS:-60}" \
            --label "$3" --out "$2" "${@:4}" >/dev/null
    }
    [ "${CLUSTER_NODE_WS:-1}" = 0 ] || ws_baseline_deps
    # Files per rate (cluster-R-…), so runs at another CLUSTER_RATE stay.
    at="bench/out/cluster-${CLUSTER_RATE:-5}"
    rm -f "$at"-*.json
    for run in $(seq 1 "${CLUSTER_RUNS:-1}"); do
        echo "[bench] cluster run $run: ${CLUSTER_VIEWERS:-10000} viewers on 2 relays + Redis, ${CLUSTER_RATE:-5} msg/s for ${CLUSTER_SECONDS:-60}s"
        cluster 2 "$at-2nodes-$run.json" "run $run"
        if [ "${CLUSTER_SINGLE:-1}" != 0 ]; then
            echo "[bench] cluster run $run, beside it: the same viewers on 1 relay without Redis"
            cluster 1 "$at-1node-$run.json" "run $run"
        fi
        if [ "${CLUSTER_NODE_WS:-1}" != 0 ]; then
            echo "[bench] cluster run $run, beside it: the same viewers on the Node.js ws baseline"
            cluster 1 "$at-node-ws-$run.json" "run $run" --server node --node-script bench/ws-baseline/server.mjs
        fi
    done
    if [ "${CLUSTER_FAILOVER:-1}" != 0 ]; then
        echo "[bench] cluster failover: 2 relays + Redis, node 1 killed (kill -9) halfway, its viewers resume on node 0"
        cluster 2 "$at-2nodes-failover.json" "failover" --kill-node 1
    fi
    if [ "${CLUSTER_VIA_NODE0:-0}" = 1 ]; then
        echo "[bench] cluster, every post through node 0"
        cluster 2 "$at-2nodes-via0.json" "via node 0" --post-node 0
    fi
fi

if [ "$MODE" = all ] || [ "$MODE" = matrix ]; then
    echo "[bench] Matrix bridge vs. Synapse serving guests directly (a loopback Synapse; takes ~15 min)"
    (cd tests/e2e && node bench-matrix.mjs >/dev/null)
fi

if [ "$MODE" = all ] || [ "$MODE" = chat ]; then
    echo "[bench] full chat: module size, open and join, posts, ${CHAT_CHATTERS:-200} chatters via the relay vs. /sync (a loopback Synapse; ~10 min)"
    (cd tests/e2e && node bench-chat.mjs >/dev/null)
fi

python3 scripts/bench_report.py bench/out > bench/out/REPORT.md
cat bench/out/REPORT.md
