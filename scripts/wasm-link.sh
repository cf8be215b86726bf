#!/usr/bin/env bash
# The wasm modules' linker (scripts/build.sh sets it for both trunk builds):
# rust-lld, minus the exports of wasm-streams' classes.
#
# Why: an exported symbol is a root that neither LTO nor wasm-ld may drop.
# Leptos always links server_fn's "browser" feature and with it wasm-streams,
# whose `#[wasm_bindgen]` classes (IntoUnderlyingSource, …) rustc exports
# from every module that links the crate, with the futures, vtables and JS
# imports behind them (~5 KB of the overlay's 56 KB brotli). Neither module
# turns a Rust stream into a JS one. wasm-bindgen skips a class whose exports
# (and their `__wbindgen_describe_` exports) are gone; scripts/trim-glue.mjs
# removes the JS classes it still writes for them, and fails the build if
# the glue uses one.
set -euo pipefail
# Every export of IntoUnderlyingByteSource, IntoUnderlyingSink and
# IntoUnderlyingSource (methods, `__wbg_…_free`, `__wbindgen_describe_…`).
UNEXPORT='^(__wbg_|__wbindgen_describe_)?intounderlying(bytesource|sink|source)_'
host=$(rustc -vV | sed -n 's/^host: //p')
lld="$(rustc --print sysroot)/lib/rustlib/$host/bin/rust-lld"
args=()
dropped=0
while [ $# -gt 0 ]; do
    if [ "$1" = --export ] && [ $# -ge 2 ] && [[ $2 =~ $UNEXPORT ]]; then
        dropped=$((dropped + 1))
        shift 2
        continue
    fi
    if [[ $1 == @* ]]; then
        echo "wasm-link.sh: a response file ($1) is not filtered; export list unchanged" >&2
    fi
    args+=("$1")
    shift
done
if [ "$dropped" -eq 0 ]; then
    echo "wasm-link.sh: no wasm-streams export to drop (renamed upstream? see $0)" >&2
fi
exec "$lld" "${args[@]}"
