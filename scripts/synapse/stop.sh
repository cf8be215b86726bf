#!/usr/bin/env bash
# Stops the Synapse that start.sh started in DIR: only the process whose PID is
# in DIR/synapse.pid, and only if it is a Synapse serving DIR. SIGTERM, then
# waits up to 20 s for it to exit (SIGKILL after that). Idempotent.
#
# Usage: scripts/synapse/stop.sh DIR
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
DIR=$(cd "$1" && pwd)
PIDFILE="$DIR/synapse.pid"
PID=$(cat "$PIDFILE" 2>/dev/null || true)

ours() {
    [ -r "/proc/$PID/cmdline" ] &&
        tr '\0' ' ' <"/proc/$PID/cmdline" | grep -q "synapse.app.homeserver.*$DIR/homeserver.yaml"
}

if [ -z "$PID" ] || ! ours; then
    echo "[synapse] not running" >&2
    rm -f "$PIDFILE"
    exit 0
fi
kill -TERM "$PID"
for _ in $(seq 200); do
    ours || break
    sleep 0.1
done
if ours; then
    echo "[synapse] pid $PID ignored SIGTERM for 20 s; killing it" >&2
    kill -KILL "$PID"
fi
rm -f "$PIDFILE"
echo "[synapse] stopped (pid $PID)" >&2
