#!/usr/bin/env bash
# A throwaway Redis for tests and the clustered demo: no persistence, no TCP
# port (a unix socket in DIR instead, so parallel runs never collide), and a
# PID file it is stopped by.
#
#   scripts/redis.sh start DIR   start redis-server on DIR/redis.sock; prints
#                                the relay's URL (redis+unix://DIR/redis.sock)
#   scripts/redis.sh stop DIR    stop the one started in DIR (by its PID)
#
# REDIS_APPENDFSYNC=always|everysec: persistence instead, an append-only
# file in DIR with that fsync policy, read again by the next start in DIR.
#
# redis-server comes from Debian's redis-server package (scripts/setup.sh).
set -euo pipefail

usage() {
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)
sock="$dir/redis.sock"
pidfile="$dir/redis.pid"

case "$cmd" in
start)
    if ! command -v redis-server >/dev/null; then
        echo "[redis] redis-server is not installed: run scripts/setup.sh (Debian package redis-server)" >&2
        exit 1
    fi
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "[redis] already running in $dir (PID $(cat "$pidfile"))" >&2
        exit 1
    fi
    rm -f "$sock" "$pidfile"
    persist=(--appendonly no)
    case "${REDIS_APPENDFSYNC:-}" in
    "") ;;
    always | everysec) persist=(--appendonly yes --appendfsync "$REDIS_APPENDFSYNC") ;;
    *)
        echo "[redis] REDIS_APPENDFSYNC must be always or everysec, not '$REDIS_APPENDFSYNC'" >&2
        exit 2
        ;;
    esac
    # Not daemonized: started in the background here, detached from this
    # shell's output; redis writes the PID file itself.
    nohup redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 \
        --save '' "${persist[@]}" --daemonize no --pidfile "$pidfile" \
        --dir "$dir" --logfile "$dir/redis.log" >/dev/null 2>&1 &
    for _ in $(seq 100); do
        if [ -S "$sock" ] && [ -s "$pidfile" ] && redis-cli -s "$sock" ping 2>/dev/null | grep -q PONG; then
            echo "redis+unix://$sock"
            exit 0
        fi
        sleep 0.05
    done
    echo "[redis] redis-server did not answer on $sock within 5 s; its log:" >&2
    cat "$dir/redis.log" >&2 2>/dev/null || true
    exit 1
    ;;
stop)
    [ -f "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || {
            rm -f "$pidfile" "$sock"
            exit 0
        }
        sleep 0.05
    done
    echo "[redis] PID $pid did not stop within 5 s; killing it" >&2
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile" "$sock"
    ;;
*) usage ;;
esac
