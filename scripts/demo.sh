#!/usr/bin/env bash
# Builds everything, starts the relay with a demo channel and sample chatters,
# and prints the URL to open. Ctrl-C stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh

ADDR=${CHYRON_DEMO_ADDR:-127.0.0.1:8080}
DATA=${CHYRON_DEMO_DATA:-.data/demo}
mkdir -p "$DATA"
# A token for this demo only; a real deployment sets its own.
export CHYRON_API_TOKEN=${CHYRON_API_TOKEN:-demo-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')}

pids=()
stop() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop EXIT INT TERM

./target/release/chyron-relay --listen "$ADDR" --data "$DATA" --dist dist &
pids+=($!)
python3 - "$ADDR" <<'PY'
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(f"http://{sys.argv[1]}/healthz", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
PY
python3 scripts/chatter.py "http://$ADDR" demo &
pids+=($!)

cat <<MSG

  Chyron demo is running.
    stream page:  http://$ADDR/
    OBS overlay:  http://$ADDR/overlay/demo
    post a line:  curl -H "Authorization: Bearer $CHYRON_API_TOKEN" -H 'Content-Type: application/json' \\
                    -d '{"sender":"you","body":"hello"}' http://$ADDR/api/v1/channels/demo/messages
  Ctrl-C stops it.

MSG
wait "${pids[0]}"
