#!/usr/bin/env bash
# Builds the web bundle: a static folder to copy onto any web server.
#
#   web/build.sh [--webgl2-only] [--quick] [--out DIR]
#
# DIR (default target/web) then holds index.html, jumeau.js (the loader a page imports) and
# one wasm bundle per graphics API: webgl2/ (every browser) and webgpu/ (picked at start where
# the browser has WebGPU). --quick builds in a minute instead of several, without whole-program
# and wasm-opt optimisation (about twice as large; for development). Installs what it lacks: the wasm32 target, the wasm-bindgen CLI of
# the version in Cargo.lock, and wasm-opt (binaryen, from npm) when npm is there.
set -euo pipefail
cd "$(dirname "$0")/.."

flavours=(webgl2 webgpu)
optimise=1
profile=web
out=target/web
while [[ $# -gt 0 ]]; do
    case "$1" in
        --webgl2-only) flavours=(webgl2) ;;
        --quick) optimise=0; profile=web-quick ;;
        --out) out="$2"; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

target_dir=${CARGO_TARGET_DIR:-target}
tools=${XDG_CACHE_HOME:-$HOME/.cache}/jumeau-web-tools

if command -v rustup > /dev/null && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi

# The CLI must be exactly the version of the wasm-bindgen crate the bundle is built with.
version=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print }' Cargo.lock)
if ! wasm-bindgen --version 2> /dev/null | grep -qx "wasm-bindgen $version"; then
    echo "installing wasm-bindgen-cli $version"
    cargo install wasm-bindgen-cli --version "$version"
fi

wasm_opt=""
if [[ $optimise == 1 ]]; then
    if command -v wasm-opt > /dev/null && wasm-opt --version | grep -qE 'version (1[2-9][0-9])'; then
        wasm_opt=$(command -v wasm-opt)
    elif command -v npm > /dev/null; then
        if [[ ! -x $tools/node_modules/.bin/wasm-opt ]]; then
            mkdir -p "$tools"
            (cd "$tools" && npm install --no-audit --no-fund binaryen@132.0.0)
        fi
        wasm_opt=$tools/node_modules/.bin/wasm-opt
    else
        echo "warning: no wasm-opt (binaryen) and no npm to install it: the bundle is not optimised" >&2
    fi
fi

mkdir -p "$out"
for flavour in "${flavours[@]}"; do
    echo "building the $flavour bundle"
    cargo build --profile "$profile" --target wasm32-unknown-unknown --features "$flavour" --bin jumeau
    rm -rf "${out:?}/$flavour"
    wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
        --out-dir "$out/$flavour" --out-name jumeau \
        "$target_dir/wasm32-unknown-unknown/$profile/jumeau.wasm"
    if [[ -n $wasm_opt ]]; then
        # wasm-opt takes minutes: its output is kept by the input's hash for the next build.
        key=$(sha256sum "$out/$flavour/jumeau_bg.wasm" | cut -c1-32)
        cached=$tools/optimised/$key.wasm
        if [[ ! -s $cached ]]; then
            echo "optimising the $flavour bundle (wasm-opt -Oz)"
            mkdir -p "$tools/optimised"
            "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
                --enable-sign-ext --enable-mutable-globals --enable-reference-types \
                --enable-multivalue -o "$cached.$$.partial" "$out/$flavour/jumeau_bg.wasm"
            # A name of this process's own: two builds at once must not write one file.
            mv "$cached.$$.partial" "$cached"
            # Keep the last few only.
            ls -t "$tools/optimised"/*.wasm | tail -n +5 | xargs -r rm -f
        fi
        cp "$cached" "$out/$flavour/jumeau_bg.wasm"
    fi
done

cp web/index.html "$out/index.html"
list=$(printf '"%s",' "${flavours[@]}")
sed "s/^const BUNDLES = .*/const BUNDLES = [${list%,}];/" web/jumeau.js > "$out/jumeau.js"

for flavour in "${flavours[@]}"; do
    wasm="$out/$flavour/jumeau_bg.wasm"
    raw=$(stat -c %s "$wasm")
    gz=$(gzip -9 -c "$wasm" | wc -c)
    awk -v f="$wasm" -v r="$raw" -v g="$gz" \
        'BEGIN { printf "%s: %d bytes (%.1f MB), gzip -9 %d bytes (%.1f MB)\n", f, r, r / 1e6, g, g / 1e6 }'
done
echo "serve $out with any static server that supports HTTP Range requests, e.g. node web/test/serve.mjs $out DATA_DIR 8000"
