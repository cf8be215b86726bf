#!/usr/bin/env bash
# A throwaway PostgreSQL for tests and the clustered demo: a cluster of its
# own in DIR (initdb on first start, kept across stop/start), no TCP port
# (listen_addresses='', a unix socket in DIR instead, so parallel runs never
# collide), fsync on, and a PID file it is stopped by.
#
#   scripts/postgres.sh start DIR   start it (initdb first if DIR has no
#                                   cluster); prints the relay's --database URL
#   scripts/postgres.sh stop DIR    stop the one started in DIR (by its PID)
#
# initdb and pg_ctl come from Debian's postgresql package (scripts/setup.sh),
# found on PATH or under /usr/lib/postgresql/*/bin. As root, the server runs
# as the `postgres` user (PostgreSQL refuses to run as root) and DIR is
# given to that user.
set -euo pipefail

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)
data="$dir/data"
pidfile="$dir/postgres.pid"

# pg_tool NAME: the path of a PostgreSQL server program, newest version first.
pg_tool() {
    if command -v "$1" >/dev/null; then
        command -v "$1"
        return
    fi
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$found" ]; then
        echo "[postgres] $1 is not installed: run scripts/setup.sh (Debian package postgresql)" >&2
        exit 1
    fi
    echo "$found"
}

# as_owner CMD...: runs CMD as the cluster's owner (postgres when root).
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
start)
    initdb=$(pg_tool initdb)
    pg_ctl=$(pg_tool pg_ctl)
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "[postgres] already running in $dir (PID $(cat "$pidfile"))" >&2
        exit 1
    fi
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || {
            echo "[postgres] running as root needs the postgres user (Debian's postgresql package makes it)" >&2
            exit 1
        }
        chown postgres "$dir"
        chmod 700 "$dir"
        runuser -u postgres -- test -x "$dir" || {
            echo "[postgres] the postgres user cannot reach $dir: a directory above it is closed to others (chmod o+x it, or pick another DIR)" >&2
            exit 1
        }
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        # --no-sync: initdb's own files only; the server runs with fsync on.
        as_owner "$initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-sync \
            >"$dir/initdb.log" 2>&1 || {
            echo "[postgres] initdb failed; its log:" >&2
            cat "$dir/initdb.log" >&2
            exit 1
        }
    fi
    rm -f "$pidfile"
    opts="-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=on"
    opts="$opts -c synchronous_commit=on -c full_page_writes=on"
    if ! as_owner "$pg_ctl" -D "$data" -l "$dir/postgres.log" -o "$opts" -w -t 20 start >/dev/null; then
        echo "[postgres] the server did not start; its log:" >&2
        cat "$dir/postgres.log" >&2 2>/dev/null || true
        exit 1
    fi
    head -n 1 "$data/postmaster.pid" >"$pidfile"
    echo "postgres:///postgres?host=$dir&user=postgres"
    ;;
stop)
    [ -f "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    # SIGINT: PostgreSQL's fast shutdown (sessions ended, data kept).
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || {
            rm -f "$pidfile"
            exit 0
        }
        sleep 0.05
    done
    echo "[postgres] PID $pid did not stop within 10 s; killing it" >&2
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
    ;;
*) usage ;;
esac
