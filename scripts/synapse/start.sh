#!/usr/bin/env bash
# Starts a throwaway Synapse homeserver for tests, on 127.0.0.1 only.
#
# Usage: scripts/synapse/start.sh DIR [PORT]     (PORT defaults to 8008)
#
# Idempotent: installs Synapse (the version in requirements.txt, wheels only,
# from the Python package registry) into DIR/venv if it is missing, writes its
# config into DIR once (server name "localhost", SQLite, open registration, no
# rate limits, no federation, no outbound network: see overrides.yaml.in),
# starts it in the background unless the one in DIR/synapse.pid is already
# running, waits until the client API answers, and prints the base URL on
# stdout (everything else goes to stderr). Stop it with stop.sh DIR.
# Logs: DIR/homeserver.log (Synapse's own) and DIR/synapse.out (stdout/err).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 DIR [PORT]" >&2
    exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
PORT=${2:-8008}
BASE="http://127.0.0.1:$PORT"
# The venv may be shared between throwaway DIRs (tests): CHYRON_SYNAPSE_VENV.
VENV=${CHYRON_SYNAPSE_VENV:-$DIR/venv}
PY="$VENV/bin/python"

say() { printf '[synapse] %s\n' "$*" >&2; }

# Python rather than curl: a fresh machine may have no curl.
answers() {
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "$BASE/_matrix/client/versions" >/dev/null 2>&1
}

# Is PID alive and a Synapse serving this DIR? (Never trust a stale pid file.)
ours() {
    [ -n "${1:-}" ] && [ -r "/proc/$1/cmdline" ] &&
        tr '\0' ' ' <"/proc/$1/cmdline" | grep -q "synapse.app.homeserver.*$DIR/homeserver.yaml"
}

# 1. Install (or repair) the pinned Synapse.
"$HERE/install.sh" "$VENV"

# 2. Config, once: Synapse generates the secrets and the signing key; the
#    overrides (re-rendered every start, so PORT may change) set the rest.
if [ ! -f "$DIR/homeserver.yaml" ]; then
    say "generating config in $DIR"
    (cd "$DIR" && "$PY" -m synapse.app.homeserver --server-name localhost \
        --config-path "$DIR/homeserver.yaml" --data-directory "$DIR" \
        --generate-config --report-stats=no >&2)
fi
sed -e "s|@PORT@|$PORT|g" -e "s|@DIR@|$DIR|g" "$HERE/overrides.yaml.in" >"$DIR/overrides.yaml"

# 3. Start, unless ours is already up.
PID=$(cat "$DIR/synapse.pid" 2>/dev/null || true)
if ours "$PID"; then
    say "already running (pid $PID)"
else
    if answers; then
        echo "start.sh: something else already serves $BASE" >&2
        exit 1
    fi
    say "starting on $BASE"
    (cd "$DIR" && exec "$PY" -m synapse.app.homeserver \
        -c "$DIR/homeserver.yaml" -c "$DIR/overrides.yaml" \
        >>"$DIR/synapse.out" 2>&1 </dev/null) &
    PID=$!
    echo "$PID" >"$DIR/synapse.pid"
fi

# 4. Wait for the client API (the first start creates the database: seconds).
for _ in $(seq 600); do
    if answers; then
        say "up (pid $PID)"
        echo "$BASE"
        exit 0
    fi
    if ! kill -0 "$PID" 2>/dev/null; then
        echo "start.sh: Synapse exited; last lines of $DIR/synapse.out:" >&2
        tail -n 30 "$DIR/synapse.out" >&2
        rm -f "$DIR/synapse.pid"
        exit 1
    fi
    sleep 0.1
done
echo "start.sh: Synapse (pid $PID) did not answer within 60 s; see $DIR/homeserver.log" >&2
exit 1
