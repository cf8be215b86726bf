#!/usr/bin/env bash
# The demo. Builds everything, starts a throwaway Synapse homeserver on
# loopback (scripts/synapse; its data in DATA/synapse), seeds its #demo room
# and users, starts the relay bridged to that room as channel `demo` (logged in
# as the bot), and starts sample chatters: Matrix users talking in the room
# through the client-server API (matrix_chatter.py) and, now and then, a post
# through the relay's HTTP API (chatter.py). Prints the URLs to open and how to
# join the room. Ctrl-C stops everything it started, by PID.
#
# Usage: scripts/demo.sh [--check] [--no-build] [--cluster]
#   --check     non-interactive: start everything (free ports, a fresh
#               temporary directory), wait until a line a Matrix chatter sent
#               reaches the relay's feed (ws://ADDR/feed/demo), print it, stop
#               everything. Exit 0, or 1 with the reason and the logs' tails
#               after CHYRON_DEMO_CHECK_TIMEOUT seconds (default 90).
#   --no-build  use what scripts/build.sh built already (scripts/test.sh).
#   --cluster   clustered mode: two relays (ADDR and ADDR2, data in
#               DATA/node1 and DATA/node2) sharing one Redis (DATA/redis,
#               scripts/redis.sh) and one PostgreSQL (DATA/postgres,
#               scripts/postgres.sh); the page is served by either. The
#               Matrix bridge runs on the first only. With --check, a line
#               posted through the second must reach PostgreSQL and the
#               first's feed too.
#
# Environment:
#   CHYRON_DEMO_ADDR          the relay's address (127.0.0.1:8080; --check: a free port)
#   CHYRON_DEMO_ADDR2         --cluster: the second relay's (127.0.0.1:8081; --check: a free port)
#   CHYRON_DEMO_DATA          the relay's data (.data/demo); Synapse's is DATA/synapse
#   CHYRON_DEMO_MATRIX=0      standalone: no homeserver, only the API chatter
#   CHYRON_DEMO_SYNAPSE_PORT  Synapse's loopback port (18008; --check: a free port)
#   CHYRON_SYNAPSE_VENV       Synapse's venv (.data/synapse-venv, from scripts/setup.sh)
#   CARGO_TARGET_DIR          where cargo put the relay (./target)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CHECK=0 BUILD=1 CLUSTER=0
for arg in "$@"; do
    case $arg in
        --check) CHECK=1 ;;
        --no-build) BUILD=0 ;;
        --cluster) CLUSTER=1 ;;
        -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "demo.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done
MATRIX=${CHYRON_DEMO_MATRIX:-1}
case $MATRIX in 0 | 1) ;; *) echo "demo.sh: CHYRON_DEMO_MATRIX must be 0 or 1" >&2; exit 2 ;; esac
if [ "$CHECK" = 1 ] && [ "$MATRIX" = 0 ]; then
    echo "demo.sh: --check proves the Matrix path; it needs CHYRON_DEMO_MATRIX=1" >&2
    exit 2
fi

say() { printf '[demo] %s\n' "$*" >&2; }
die() { printf 'demo.sh: %s\n' "$*" >&2; exit 1; }
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
answers() { # URL: does anything answer there?
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$1" \
        >/dev/null 2>&1
}

# Everything started here is stopped on exit (Ctrl-C included): processes by
# PID (SIGTERM, SIGKILL after 10 s), then Synapse through its stop script.
pids=()
synapse_dir=""
tmp=""
redis_dir="" pg_dir=""
stop_all() {
    local status=$? pid
    trap - EXIT INT TERM
    set +e
    if [ ${#pids[@]} -gt 0 ] || [ -n "$synapse_dir" ]; then
        say "stopping what the demo started${synapse_dir:+ (Synapse last)}"
    fi
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    [ -n "$synapse_dir" ] && bash scripts/synapse/stop.sh "$synapse_dir"
    [ -n "$redis_dir" ] && bash scripts/redis.sh stop "$redis_dir"
    [ -n "$pg_dir" ] && bash scripts/postgres.sh stop "$pg_dir"
    if [ -n "$tmp" ]; then
        if [ "$status" -eq 0 ]; then
            rm -rf "$tmp"
        else
            say "logs kept in $tmp"
        fi
    fi
    exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$BUILD" = 1 ]; then
    # Standalone needs no Synapse: set-up need not install it.
    [ "$MATRIX" = 1 ] || export CHYRON_SETUP_SYNAPSE=0
    bash scripts/build.sh
fi
RELAY=${CHYRON_RELAY_BIN:-${CARGO_TARGET_DIR:-target}/release/chyron-relay}
[ -x "$RELAY" ] || die "no relay binary at $RELAY; scripts/build.sh builds it"
[ -f dist/index.html ] || die "no built widget in dist/; scripts/build.sh builds it"

if [ "$CHECK" = 1 ]; then
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/chyron-demo-check.XXXXXX")
    # PostgreSQL runs as its own user when started by root: it must be able
    # to pass through (not list) this directory.
    [ "$CLUSTER" = 1 ] && chmod 711 "$tmp"
    ADDR=${CHYRON_DEMO_ADDR:-127.0.0.1:$(free_port)}
    ADDR2=${CHYRON_DEMO_ADDR2:-127.0.0.1:$(free_port)}
    DATA=$tmp/relay
    SYNAPSE_PORT=${CHYRON_DEMO_SYNAPSE_PORT:-$(free_port)}
    TIMEOUT=${CHYRON_DEMO_CHECK_TIMEOUT:-90}
    command -v node >/dev/null && [ -d tests/e2e/node_modules/ws ] ||
        die "--check needs Node and tests/e2e's npm packages; scripts/setup.sh installs them"
else
    ADDR=${CHYRON_DEMO_ADDR:-127.0.0.1:8080}
    ADDR2=${CHYRON_DEMO_ADDR2:-127.0.0.1:8081}
    DATA=${CHYRON_DEMO_DATA:-.data/demo}
    SYNAPSE_PORT=${CHYRON_DEMO_SYNAPSE_PORT:-18008}
fi
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
# Before starting anything: a second demo must not take over the first one's
# homeserver (and stop it on exit).
if answers "http://$ADDR/healthz"; then
    die "something already serves http://$ADDR (another demo?); stop it, or set CHYRON_DEMO_ADDR"
fi
if [ "$CLUSTER" = 1 ] && answers "http://$ADDR2/healthz"; then
    die "something already serves http://$ADDR2 (another demo?); stop it, or set CHYRON_DEMO_ADDR2"
fi

# A token for this demo only; a real deployment sets its own.
export CHYRON_API_TOKEN=${CHYRON_API_TOKEN:-demo-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')}
# The demo's relay bridges the demo's homeserver, or nothing: never whatever
# the calling shell has configured.
unset CHYRON_MATRIX_HOMESERVER CHYRON_MATRIX_USER CHYRON_MATRIX_PASSWORD CHYRON_MATRIX_TOKEN \
    CHYRON_BRIDGE CHYRON_BRIDGE_CLEAR_ON_KICK

relay_env=()
if [ "$MATRIX" = 1 ]; then
    export CHYRON_SYNAPSE_VENV=${CHYRON_SYNAPSE_VENV:-$ROOT/.data/synapse-venv}
    if ! "$CHYRON_SYNAPSE_VENV/bin/python" -c 'import synapse' 2>/dev/null; then
        say "Synapse is not installed in $CHYRON_SYNAPSE_VENV: installing it once" \
            "(scripts/synapse/install.sh, from the Python package registry)"
        if ! bash scripts/synapse/install.sh "$CHYRON_SYNAPSE_VENV"; then
            cat >&2 <<MSG
demo.sh: could not install Synapse, the homeserver the demo bridges (it comes
from the Python package registry, once). Either run scripts/setup.sh where the
registry can be reached (it installs Synapse with everything else), or run the
demo without Matrix:

    CHYRON_DEMO_MATRIX=0 scripts/demo.sh

MSG
            exit 1
        fi
    fi
    synapse_dir=$DATA/synapse
    say "starting Synapse (data in $synapse_dir)"
    base=$(bash scripts/synapse/start.sh "$synapse_dir" "$SYNAPSE_PORT") ||
        die "Synapse did not start (see above; logs in $synapse_dir); CHYRON_DEMO_SYNAPSE_PORT picks another port"
    say "seeding #demo, #dj and their users"
    python3 scripts/synapse/seed.py "$base" --demo >"$synapse_dir/seed.json" ||
        die "seeding the homeserver failed (see above)"
    # bot user id, the users' password, the #demo and #dj aliases: one per line.
    mapfile -t seeded < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(s["users"]["bot"]["user_id"], s["users"]["alice"]["password"],
      s["rooms"]["demo"]["room_alias"], s["rooms"]["dj"]["room_alias"], sep="\n")
' "$synapse_dir/seed.json")
    BOT=${seeded[0]} PASSWORD=${seeded[1]} ROOM=${seeded[2]} DJ_ROOM=${seeded[3]}
    relay_env=(CHYRON_MATRIX_HOMESERVER="$base" CHYRON_MATRIX_USER="$BOT"
        CHYRON_MATRIX_PASSWORD="$PASSWORD" CHYRON_BRIDGE="demo=$ROOM,dj=$DJ_ROOM")
fi

# Output of the relay (fd 3) and the chatters (fd 4): the terminal, or in
# check mode files, whose tails are shown on failure.
if [ "$CHECK" = 1 ]; then
    relay_log=$tmp/relay.log chatter_log=$tmp/chatters.log
    exec 3>>"$relay_log" 4>>"$chatter_log"
    export NO_COLOR=1
else
    exec 3>&2 4>&2
fi
# matrix-sdk logs every sync at info: a line every few seconds, hiding the rest.
export RUST_LOG=${RUST_LOG:-info,matrix_sdk=warn,matrix_sdk_base=warn}
cluster_args=()
if [ "$CLUSTER" = 1 ]; then
    redis_dir=$DATA/redis pg_dir=$DATA/postgres
    say "starting Redis ($redis_dir) and PostgreSQL ($pg_dir)"
    REDIS_URL=$(bash scripts/redis.sh start "$redis_dir") || die "Redis did not start (see above)"
    PG_URL=$(bash scripts/postgres.sh start "$pg_dir") || die "PostgreSQL did not start (see above)"
    cluster_args=(--redis "$REDIS_URL" --database "$PG_URL")
fi
# start_relay ADDR DATA [VAR=VALUE...]: a relay with the demo's settings (and
# the cluster's), up once it answers /healthz.
relay_pid=""
start_relay() {
    local addr=$1 data=$2 pid
    shift 2
    say "starting the relay on http://$addr"
    env "$@" "$RELAY" --config scripts/demo.toml --listen "$addr" --data "$data" --dist dist \
        "${cluster_args[@]}" >&3 2>&3 4>&- &
    pid=$!
    pids+=("$pid")
    [ -n "$relay_pid" ] || relay_pid=$pid
    for _ in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || break
        answers "http://$addr/healthz" && break
        sleep 0.1
    done
    if ! kill -0 "$pid" 2>/dev/null || ! answers "http://$addr/healthz"; then
        [ "$CHECK" = 1 ] && tail -n 20 "$relay_log" >&2
        die "the relay did not come up on http://$addr (see its log above)"
    fi
}
if [ "$CLUSTER" = 1 ]; then
    # The bridge on the first node only (one Matrix link per cluster).
    start_relay "$ADDR" "$DATA/node1" "${relay_env[@]}"
    start_relay "$ADDR2" "$DATA/node2"
else
    start_relay "$ADDR" "$DATA" "${relay_env[@]}"
fi

if [ "$MATRIX" = 1 ]; then
    python3 scripts/matrix_chatter.py "$synapse_dir/seed.json" >&4 2>&4 3>&- &
    pids+=($!)
    # Now and then a line through the Chat API too.
    python3 scripts/chatter.py "http://$ADDR" demo --pace 8,15 >&4 2>&4 3>&- &
    pids+=($!)
else
    python3 scripts/chatter.py "http://$ADDR" demo >&4 2>&4 3>&- &
    pids+=($!)
fi
if [ "$CLUSTER" = 1 ]; then
    # API lines through the second node too, which viewers of either see.
    python3 scripts/chatter.py "http://$ADDR2" demo --pace 8,15 >&4 2>&4 3>&- &
    pids+=($!)
fi

if [ "$CHECK" = 1 ]; then
    say "waiting up to $TIMEOUT s for a Matrix chatter's line on ws://$ADDR/feed/demo"
    if node tests/e2e/feed-watch.mjs "ws://$ADDR/feed/demo" "$TIMEOUT" 3>&- 4>&-; then
        if [ "$CLUSTER" = 1 ]; then
            say "checking the cluster: a line posted through http://$ADDR2"
            python3 scripts/cluster_check.py "http://$ADDR2" "ws://$ADDR/feed/demo" "$PG_URL" 3>&- 4>&- ||
                die "cluster check failed (relay log: $relay_log)"
        fi
        say "check passed: Matrix chatters → Synapse → relay bridge → feed"
        exit 0
    fi
    for log in "$relay_log" "$chatter_log" "$synapse_dir/synapse.out"; do
        if [ -s "$log" ]; then
            echo "--- last lines of $log" >&2
            tail -n 15 "$log" >&2
        fi
    done
    die "check failed: no line from a Matrix chatter reached the feed"
fi

if [ "$MATRIX" = 1 ]; then
    cat <<MSG

  Chyron demo is running, bridged to a throwaway Matrix homeserver.
    stream page:  http://$ADDR/
    OBS overlay:  http://$ADDR/overlay/demo
    Matrix room:  $ROOM on the homeserver $base (Synapse, loopback only,
                  data in $synapse_dir). In a Matrix client (Element, ...), set
                  the homeserver to $base and sign in as alice, password
                  $PASSWORD (the room's admin: edit, delete, ban), or register
                  any new user (registration is open), then join $ROOM.
                  Radia, Katherine, Dennis and Hedy chat there already.
    post a line:  curl -H "Authorization: Bearer $CHYRON_API_TOKEN" -H 'Content-Type: application/json' \\
                    -d '{"sender":"you","body":"hello"}' http://$ADDR/api/v1/channels/demo/messages
  Ctrl-C stops it all (relay, chatters and Synapse).

MSG
else
    cat <<MSG

  Chyron demo is running (no Matrix homeserver).
    stream page:  http://$ADDR/
    OBS overlay:  http://$ADDR/overlay/demo
    post a line:  curl -H "Authorization: Bearer $CHYRON_API_TOKEN" -H 'Content-Type: application/json' \\
                    -d '{"sender":"you","body":"hello"}' http://$ADDR/api/v1/channels/demo/messages
  Ctrl-C stops it.

MSG
fi
if [ "$CLUSTER" = 1 ]; then
    cat <<MSG
  Clustered: a second relay serves the same channels on http://$ADDR2/ (same
  lines, same seqs; the Matrix bridge runs on the first only); Redis at
  $REDIS_URL, PostgreSQL (every event, written behind) at
  $PG_URL.

MSG
fi
wait "$relay_pid" || die "the relay exited ($?)"
die "the relay exited"
