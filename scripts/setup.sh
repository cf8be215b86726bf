#!/usr/bin/env bash
# Installs what building and testing Chyron needs, skipping whatever is there.
# Idempotent: a second run does nothing but checks. Everything comes from the
# package registries (crates, npm, Debian, Python); nothing from elsewhere.
#
#   scripts/setup.sh            install what is missing
#   scripts/setup.sh --dry-run  list every tool, what is missing and how it
#                               would be installed; installs nothing, exits 0
#
# Every step says what it does and how long it took on a fresh 2-core machine;
# a failing step says which one and why (the ERR trap below), never a silent
# exit. scripts/check-setup.sh (run by scripts/test.sh) proves the dry run on a
# stand-in fresh machine.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
# cargo-installed tools live in CARGO_HOME (rustup's default: ~/.cargo).
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

DRY_RUN=0
case "${1:-}" in
    "") ;;
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
        sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "[setup] unknown argument '$1' (try --help)" >&2
        exit 2
        ;;
esac

# Bold on a terminal, plain in logs.
if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B="" N=""; fi
say() { printf '%s[setup]%s %s\n' "$B" "$N" "$*"; }

# The step under way, and what it needs, for the failure message.
STEP="starting"
STEP_NEEDS=""
step() {
    STEP=$1
    STEP_NEEDS=${2:-}
}
on_error() {
    local rc=$? cmd=$BASH_COMMAND
    # Command substitutions inherit the trap (set -E); report once, from the
    # script itself.
    [ "$BASHPID" = "$$" ] || return 0
    printf '%s[setup] FAILED%s in step "%s": `%s` exited with status %s.%s\n' "$B" "$N" \
        "$STEP" "$cmd" "$rc" "${STEP_NEEDS:+ It needs $STEP_NEEDS.}" >&2
}
trap on_error ERR
# die WHY: stop this step with a reason (no ERR trap: the reason says it all).
die() {
    printf '%s[setup] FAILED%s in step "%s": %s\n' "$B" "$N" "$STEP" "$*" >&2
    exit 1
}

# What is missing, named in the dry run's summary.
MISSING=()
# present WHAT WHERE: the tool is there.
present() { say "$1: present${2:+ ($2)}"; }
# plan WHAT HOW TIME: the tool is missing. In a dry run say how it would be
# installed and return 1 (the caller skips the install); otherwise say that it
# is being installed and how long that takes.
plan() {
    MISSING+=("$1")
    if [ "$DRY_RUN" = 1 ]; then
        say "$1: missing; would install: $2 ($3 on a fresh machine)"
        return 1
    fi
    say "$1: installing: $2 ($3 on a fresh machine)"
}

# Prerequisites this script does not install.
step "prerequisites" "Rust through rustup, Node >= 20 with npm, Python 3 and apt"
prereq_missing=()
# Run, not only found: rustup's proxies are there even without a toolchain.
for tool in cargo rustc node npm python3; do
    "$tool" --version >/dev/null 2>&1 || prereq_missing+=("$tool")
done
if [ ${#prereq_missing[@]} -gt 0 ]; then
    [ "$DRY_RUN" = 1 ] || die "not on PATH: ${prereq_missing[*]}; install them first (rustup, Node >= 20, Python 3)"
    say "prerequisites: MISSING ${prereq_missing[*]} (not installed by set-up: rustup, Node >= 20, Python 3)"
else
    node_major=$(node -p 'process.versions.node.split(".")[0]')
    [ "$node_major" -ge 20 ] || [ "$DRY_RUN" = 1 ] || die "Node $node_major is too old; need >= 20"
    say "prerequisites: cargo, rustc, node $node_major, npm, python3 present"
fi

# The wasm target for the widget (a directory of the toolchain's sysroot, so
# this works with or without rustup's proxies on PATH).
step "wasm32 target" "rustup, and the Rust distribution server"
if command -v rustc >/dev/null && [ -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown/lib" ]; then
    present "wasm32-unknown-unknown target"
elif plan "wasm32-unknown-unknown target" "rustup target add wasm32-unknown-unknown" "~5 s"; then
    command -v rustup >/dev/null || die "rustc has no wasm32-unknown-unknown target and there is no rustup to add it"
    rustup target add wasm32-unknown-unknown
fi

# trunk: 0.22 needs a newer rustc than this toolchain, so 0.21.14 exactly.
TRUNK_VERSION=0.21.14
step "trunk $TRUNK_VERSION" "the crates registry and a C compiler"
have=$(trunk --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" = "$TRUNK_VERSION" ]; then
    present "trunk $TRUNK_VERSION" "$(command -v trunk)"
elif plan "trunk $TRUNK_VERSION" "cargo install trunk --version $TRUNK_VERSION --locked" "~17 min"; then
    cargo install trunk --version "$TRUNK_VERSION" --locked
fi

# wasm-bindgen-cli must match the wasm-bindgen in Cargo.lock exactly, or trunk
# would try to download one.
step "wasm-bindgen-cli" "Cargo.lock and the crates registry"
if [ ! -f Cargo.lock ] && [ "$DRY_RUN" = 0 ]; then cargo generate-lockfile; fi
WBG_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock 2>/dev/null || true)
if [ -z "$WBG_VERSION" ]; then
    # Cargo.toml pins it exactly ("=0.2.130").
    WBG_VERSION=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
fi
[ -n "$WBG_VERSION" ] || die "no wasm-bindgen version in Cargo.lock or Cargo.toml"
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" = "$WBG_VERSION" ]; then
    present "wasm-bindgen-cli $WBG_VERSION" "$(command -v wasm-bindgen)"
elif plan "wasm-bindgen-cli $WBG_VERSION" "cargo install wasm-bindgen-cli --version $WBG_VERSION" "~10 min"; then
    # --locked fails when the CLI's lock names a crate version the registry
    # does not serve (webpki-roots 1.0.11 for 0.2.130); then resolve afresh.
    cargo install wasm-bindgen-cli --version "$WBG_VERSION" --locked || {
        say "wasm-bindgen-cli: its lock file does not resolve here; installing with fresh resolution"
        cargo install wasm-bindgen-cli --version "$WBG_VERSION" --force
    }
fi

# npm packages of the build (terser; binaryen's wasm-opt), the end-to-end
# tests and the benchmark (committed lock file).
step "npm packages" "the npm registry"
npm_names=$(node -p 'Object.keys(require("./tests/e2e/package.json").dependencies).join(", ")' 2>/dev/null ||
    echo "tests/e2e/package.json's dependencies")
if [ -d tests/e2e/node_modules/playwright-core ] && [ -x tests/e2e/node_modules/.bin/wasm-opt ] &&
    [ ! tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]; then
    present "npm packages ($npm_names)" "tests/e2e/node_modules"
elif plan "npm packages ($npm_names)" "npm ci in tests/e2e" "~15 s"; then
    (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

# wasm-opt: npm's binaryen package (binaryen compiled to JS and wasm, run by
# Node), so nothing is compiled. scripts/build.sh puts its bin directory first
# on PATH and Trunk.toml pins the version trunk accepts, so a system wasm-opt
# (Debian's binaryen 108 miscompiles wasm-bindgen's output: the page fails at
# start-up while trunk reports success) is never used.
step "wasm-opt" "the npm package binaryen (tests/e2e/package.json)"
WASM_OPT=tests/e2e/node_modules/.bin/wasm-opt
want=$(sed -n 's/^wasm_opt = "version_\([0-9]*\)".*/\1/p' Trunk.toml)
[ -n "$want" ] || die "Trunk.toml pins no wasm_opt version under [tools]"
if [ -x "$WASM_OPT" ]; then
    have=$("$WASM_OPT" --version 2>/dev/null | grep -oE 'version [0-9]+' | awk '{print $2}' || true)
    [ "$have" = "$want" ] || die "$WASM_OPT is binaryen ${have:-?}, Trunk.toml wants $want: align tests/e2e/package.json's binaryen with Trunk.toml's [tools] wasm_opt"
    present "wasm-opt (binaryen $have, npm package binaryen)" "$WASM_OPT"
elif [ "$DRY_RUN" = 1 ]; then
    MISSING+=("wasm-opt")
    say "wasm-opt (binaryen $want): missing; would install: with the npm packages (package binaryen)"
else
    die "$WASM_OPT is missing after npm ci: is binaryen in tests/e2e/package.json?"
fi

# Browsers for the in-browser and end-to-end tests, brotli for the build,
# redis-server and postgresql for the cluster tests.
step "apt packages" "apt-get (as root or through sudo) and the Debian archive"
need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
command -v brotli >/dev/null || need_apt+=(brotli)
# Emoji in screenshots render as emoji, as on viewers' machines.
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need_apt+=(fonts-noto-color-emoji)
# Redis for the relay's clustered mode: its tests start throwaway servers
# (scripts/redis.sh) and fail without one.
command -v redis-server >/dev/null || need_apt+=(redis-server)
# PostgreSQL for the clustered mode's durable history: its tests start
# throwaway clusters (scripts/postgres.sh), with initdb and pg_ctl from
# Debian's postgresql package (not on PATH: /usr/lib/postgresql/*/bin).
command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ||
    need_apt+=(postgresql)
if [ ${#need_apt[@]} -eq 0 ]; then
    present "apt packages (chromium, chromium-driver: chromedriver, brotli, fonts-noto-color-emoji, redis-server, postgresql)"
elif plan "apt packages ($(printf '%s, ' "${need_apt[@]}" | sed 's/chromium-driver/&: chromedriver/; s/, $//'))" \
    "apt-get install ${need_apt[*]}" "~3 min"; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

# Synapse (Python package registry, pinned) for the Matrix tests and demo.
# CHYRON_SETUP_SYNAPSE=0 skips it (the demo without Matrix sets it).
step "Synapse" "the Python package registry (wheels only)"
SYNAPSE_VERSION=$(sed -n 's/^matrix-synapse==//p' scripts/synapse/requirements.txt)
VENV=.data/synapse-venv
have=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("matrix-synapse"))' 2>/dev/null || true)
if [ "${CHYRON_SETUP_SYNAPSE:-1}" = 0 ]; then
    say "Synapse $SYNAPSE_VERSION: skipped (CHYRON_SETUP_SYNAPSE=0)"
elif [ "$have" = "$SYNAPSE_VERSION" ]; then
    present "Synapse $SYNAPSE_VERSION" "$VENV"
elif plan "Synapse $SYNAPSE_VERSION" "pip install matrix-synapse==$SYNAPSE_VERSION into $VENV" "~2 min"; then
    if ! bash scripts/synapse/install.sh "$VENV"; then
        die "could not install Synapse (from the Python package registry) into
$VENV. The Matrix tests and the demo's homeserver need it; run
scripts/setup.sh again where the registry can be reached. The demo without
Matrix needs no Synapse: CHYRON_DEMO_MATRIX=0 scripts/demo.sh"
    fi
fi

STEP="done"
if [ "$DRY_RUN" = 1 ]; then
    if [ ${#MISSING[@]} -eq 0 ]; then
        say "dry run: everything is present; nothing to install"
    else
        say "dry run: would install ${#MISSING[@]}: $(printf '%s; ' "${MISSING[@]}")nothing installed"
    fi
else
    say "ready"
fi
