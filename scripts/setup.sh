#!/usr/bin/env bash
# Installs what building and testing Chyron needs, skipping whatever is there.
# Idempotent: a second run does nothing but checks. Everything comes from the
# package registries (crates, npm, Debian); nothing is downloaded from elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# The wasm target for the widget.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

# trunk: 0.22 needs a newer rustc than this toolchain, so 0.21.14 exactly.
TRUNK_VERSION=0.21.14
if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$TRUNK_VERSION" ]; then
    say "installing trunk $TRUNK_VERSION (takes several minutes once)"
    cargo install trunk --version "$TRUNK_VERSION" --locked
fi

# wasm-bindgen-cli must match the wasm-bindgen in Cargo.lock exactly, or trunk
# would try to download one.
if [ ! -f Cargo.lock ]; then cargo generate-lockfile; fi
WBG_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [ -z "$WBG_VERSION" ]; then
    echo "setup: no wasm-bindgen in Cargo.lock" >&2
    exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WBG_VERSION" ]; then
    say "installing wasm-bindgen-cli $WBG_VERSION"
    # --locked can fail when the CLI's lock names a crate version the registry
    # no longer serves; then resolve afresh.
    cargo install wasm-bindgen-cli --version "$WBG_VERSION" --locked ||
        cargo install wasm-bindgen-cli --version "$WBG_VERSION" --force
fi

# wasm-opt: Debian's binaryen 108 miscompiles wasm-bindgen's output (the page
# fails at start-up in the browser), so binaryen ≥ 116 from the crate.
wasm_opt_version() { wasm-opt --version 2>/dev/null | grep -oE 'version [0-9]+' | awk '{print $2}'; }
v=$(wasm_opt_version)
if [ -z "$v" ] || [ "$v" -lt 116 ]; then
    say "installing wasm-opt (binaryen 116, takes several minutes once)"
    cargo install wasm-opt --locked
    v=$(wasm_opt_version)
    if [ -z "$v" ] || [ "$v" -lt 116 ]; then
        echo "setup: wasm-opt on PATH ($(command -v wasm-opt)) is binaryen ${v:-?}; need >= 116" >&2
        exit 1
    fi
fi

# Browsers for the in-browser and end-to-end tests, brotli for the build.
need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
command -v brotli >/dev/null || need_apt+=(brotli)
# Emoji in screenshots render as emoji, as on viewers' machines.
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need_apt+=(fonts-noto-color-emoji)
if [ ${#need_apt[@]} -gt 0 ]; then
    say "installing ${need_apt[*]} with apt"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

# npm packages of the end-to-end tests and the benchmark (committed lock file).
if [ ! -d tests/e2e/node_modules/playwright-core ] ||
    [ tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]; then
    say "installing the end-to-end tests' npm packages"
    (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

# Synapse (Python package registry, pinned) for the Matrix tests and demo.
# CHYRON_SETUP_SYNAPSE=0 skips it (the demo without Matrix sets it).
if [ "${CHYRON_SETUP_SYNAPSE:-1}" != 0 ] && ! bash scripts/synapse/install.sh .data/synapse-venv; then
    cat >&2 <<'MSG'
setup: could not install Synapse (from the Python package registry) into
.data/synapse-venv. The Matrix tests and the demo's homeserver need it; run
scripts/setup.sh again where the registry can be reached. The demo without
Matrix needs no Synapse: CHYRON_DEMO_MATRIX=0 scripts/demo.sh
MSG
    exit 1
fi

say "ready"
