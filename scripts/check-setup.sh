#!/usr/bin/env bash
# Proves set-up's detection on a stand-in fresh machine: `scripts/setup.sh
# --dry-run` runs with an empty temporary HOME and CARGO_HOME (rustup's
# toolchains still reached through RUSTUP_HOME), PATH without CARGO_HOME/bin,
# in a copy of set-up's inputs without node_modules or .data, and offline for
# every installer. It must exit 0, name every tool, say "would install" for
# each one the stand-in hides, and install nothing. scripts/test.sh runs it.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
trap 'echo "[check-setup] FAILED: \`$BASH_COMMAND\` exited with status $?" >&2' ERR

fail() {
    echo "[check-setup] FAILED: $*" >&2
    [ -z "${out:-}" ] || sed 's/^/[check-setup]   | /' "$out" >&2
    exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home" "$tmp/cargo/bin" "$tmp/repo/tests/e2e" "$tmp/wheels"

# The toolchain, without anything cargo installed: rustup's proxies (one
# binary that acts by its name) linked into the empty CARGO_HOME.
rustup_bin=$(command -v rustup || true)
[ -n "$rustup_bin" ] || rustup_bin="${CARGO_HOME:-$HOME/.cargo}/bin/rustup"
[ -x "$rustup_bin" ] || fail "no rustup found (needed to reach the toolchain)"
for proxy in rustup cargo rustc; do ln -s "$(readlink -f "$rustup_bin")" "$tmp/cargo/bin/$proxy"; done
export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}

# Set-up's inputs; not node_modules, not .data.
cp -r scripts Cargo.toml Cargo.lock Trunk.toml "$tmp/repo/"
cp tests/e2e/package.json tests/e2e/package-lock.json "$tmp/repo/tests/e2e/"

# PATH: the system's directories (node, npm, python3, apt's tools) and the
# proxies; none of the invoking user's CARGO_HOME or npm bin directories.
standin_path="$tmp/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

out="$tmp/dry-run.out"
echo "[check-setup] setup.sh --dry-run with HOME=$tmp/home CARGO_HOME=$tmp/cargo"
rc=0
# Offline for cargo, npm and pip: a set-up that installs in spite of
# --dry-run fails fast here instead of downloading.
env -i HOME="$tmp/home" CARGO_HOME="$tmp/cargo" RUSTUP_HOME="$RUSTUP_HOME" \
    PATH="$standin_path" TERM=dumb LANG=C.UTF-8 \
    CARGO_NET_OFFLINE=true npm_config_offline=true \
    PIP_NO_INDEX=1 PIP_FIND_LINKS="$tmp/wheels" \
    timeout 120 bash "$tmp/repo/scripts/setup.sh" --dry-run >"$out" 2>&1 </dev/null || rc=$?
[ "$rc" = 0 ] || fail "setup.sh --dry-run exited with status $rc (want 0)"
sed 's/^/[check-setup]   | /' "$out"

# Every tool is named.
for name in wasm32-unknown-unknown trunk wasm-bindgen-cli wasm-opt binaryen chromium chromedriver \
    brotli fonts-noto-color-emoji redis-server postgresql playwright-core terser ws Synapse; do
    grep -qw -- "$name" "$out" || fail "the dry run does not name $name"
done

# Each tool the stand-in hides is listed as to be installed.
standin_has() { env -i PATH="$standin_path" bash -c "command -v $1" >/dev/null 2>&1; }
missing_line() { grep -E "^\[setup\] $1.*: missing; would install" "$out" >/dev/null; }
standin_has trunk || missing_line "trunk " || fail "trunk is hidden but not listed as to be installed"
standin_has wasm-bindgen || missing_line "wasm-bindgen-cli " ||
    fail "wasm-bindgen-cli is hidden but not listed as to be installed"
missing_line "npm packages" || fail "npm packages are hidden but not listed as to be installed"
missing_line "wasm-opt" || fail "wasm-opt is hidden but not listed as to be installed"
missing_line "Synapse" || fail "Synapse is hidden but not listed as to be installed"
grep -q 'nothing installed' "$out" || fail "the dry run's summary is missing"

# It installed nothing.
[ -z "$(ls -A "$tmp/home")" ] || fail "the dry run wrote into HOME: $(ls -A "$tmp/home")"
[ "$(ls -A "$tmp/cargo")" = bin ] && [ "$(ls "$tmp/cargo/bin" | wc -l)" = 3 ] ||
    fail "the dry run wrote into CARGO_HOME: $(ls -RA "$tmp/cargo")"
[ ! -e "$tmp/repo/tests/e2e/node_modules" ] || fail "the dry run installed npm packages"
[ ! -e "$tmp/repo/.data" ] || fail "the dry run created .data"

echo "[check-setup] ok: the dry run names every tool, lists $(grep -c ': missing; would install' "$out") to install, installed nothing"
