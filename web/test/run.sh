#!/usr/bin/env bash
# The web build's real-browser test (run by .ci/run):
#   web/test/run.sh [--quick] [OUT]
# builds the WebGL2 bundle, converts the IGN tile to COPC, renders the test views natively
# (lavapipe), then drives Debian's chromium (SwiftShader) against a local Range-capable server
# and compares (web/test/browser.mjs). Screenshots, differences and results.json go to OUT
# (default target/web-test).
set -euo pipefail
cd "$(dirname "$0")/../.."

build_args=(--webgl2-only)
if [[ ${1:-} == --quick ]]; then
    build_args+=(--quick)
    shift
fi
out=${1:-target/web-test}
target_dir=${CARGO_TARGET_DIR:-target}
shared=$(realpath ../shared/data 2> /dev/null || echo /work/shared/data)
ign=$shared/lidar/test_semis_2023_0292_6833_LA93_IGN69.laz
camera=292450,6832700,400,292450,6832701,50

command -v chromium > /dev/null || { echo "web test: chromium is not installed (apt-get install chromium)" >&2; exit 1; }
web/build.sh "${build_args[@]}" --out "$out/bundle"
cargo build --release --bin jumeau
jumeau=$target_dir/release/jumeau

mkdir -p "$out/data" "$out/native"
# Converted anew on every run: a COPC left by an older writer must never be what is tested.
"$jumeau" convert "$ign" -o "$out/data/ign.copc.laz"
# A full-density cloud for the street-level view (the demo town, 10 points/m²), and a commune of
# nine tiles as one virtual point cloud.
"$jumeau" demo --points 2000000 -o "$out/data/street.laz"
"$jumeau" convert "$out/data/street.laz" -o "$out/data/street.copc.laz"
rm -rf "$out/data/tiles-laz" "$out/data/tiles"
"$jumeau" demo --tiles 3 --points 300000 -o "$out/data/tiles-laz"
"$jumeau" convert --tiles "$out/data/tiles-laz" -o "$out/data/tiles"
ln -sfn "$shared/3dtiles" "$out/data/3dtiles"
ln -sfn "$shared/vector" "$out/data/vector"
export WGPU_BACKEND=${WGPU_BACKEND:-vulkan} XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
"$jumeau" render "$out/data/ign.copc.laz" --color classification --camera="$camera" \
    --width 320 --height 240 --timed-frames 20 -o "$out/native/ign.png" | tee "$out/native/ign.txt"
"$jumeau" render "$out/data/ign.copc.laz" "$out/data/vector/ign_Lignes_3d_0292_6833.geojson" \
    --color classification --camera="$camera" --width 320 --height 240 -o "$out/native/ign-lines.png"
"$jumeau" render "$out/data/3dtiles/cesium_TilesetWithRequestVolume/tileset.json" \
    --width 320 --height 240 -o "$out/native/tileset.png"
"$jumeau" render "$out/data/street.copc.laz" --color rgb --budget 400000 \
    --camera=350020,6788086,45.96,350220,6788086,43.96 --width 320 --height 240 -o "$out/native/street.png"
"$jumeau" render "$out/data/tiles/tiles.vpc" --color rgb --width 320 --height 240 -o "$out/native/vpc.png"
# A flood over the tile's lowest corner (its DTM reaches 43.3 m there), run in the page from
# its scenario file (?scenario=) and natively.
cat > "$out/data/crue.toml" <<'TOML'
version = 1
name = "Crue"
data = ["ign.copc.laz"]

[[scenarios]]
id = "crue"
kind = "flood"
seeds = [[292097.0, 6832967.0]]
level_m = 48.0
TOML
"$jumeau" render "$out/data/crue.toml" --scenario crue --color classification \
    --camera=292400,6832600,1400,292400,6832601,50 --width 320 --height 240 -o "$out/native/scenario.png"
# A project file (?project=): its camera looking down on the tile, its style and a clip box
# keeping the tile's western part; the page draws it with the splats, the native render with
# the compute rasterizer.
cat > "$out/data/projet.toml" <<'TOML'
version = 1
name = "Projet"
data = ["ign.copc.laz"]

[camera]
eye = [292450.0, 6832700.0, 700.0]
target = [292450.0, 6832701.0, 50.0]

[style]
color = "classification"

[clip]
box = { min = [292000.0, 6832000.0, -100.0], max = [292500.0, 6833000.0, 500.0] }
TOML
"$jumeau" render "$out/data/projet.toml" --width 320 --height 240 -o "$out/native/project.png"

# A consultation kiosk (?project=…&embed=kiosk): the tile today and flooded, two chapters,
# opinions POSTed to the test server's /consultation.
cat > "$out/data/kiosque.toml" <<'TOML'
version = 1
name = "Consultation"
data = ["ign.copc.laz"]

[camera]
eye = [292400.0, 6832600.0, 1400.0]
target = [292400.0, 6832601.0, 50.0]

[style]
color = "classification"

[[scenarios]]
id = "crue"
kind = "flood"
seeds = [[292097.0, 6832967.0]]
level_m = 48.0

[[bookmarks]]
name = "Le coin bas"
caption = "Là où l'eau arrive d'abord"
eye = [292000.0, 6832700.0, 500.0]
target = [292097.0, 6832967.0, 45.0]

[[bookmarks]]
name = "Vue d'ensemble"
caption = "Toute la dalle"
eye = [292400.0, 6832600.0, 1400.0]
target = [292400.0, 6832601.0, 50.0]

[kiosk]
consultation_url = "/consultation"
alternatives = [
  { name = "Aujourd'hui" },
  { name = "Crue de 48 m", scenario = "crue", caption = "L'eau à 48 m" },
]
TOML
"$jumeau" scenario check "$out/data/kiosque.toml"

(cd web/test && npm ci --no-audit --no-fund --loglevel=error)
node web/test/browser.mjs --bundle "$out/bundle" --data "$out/data" --native "$out/native" --out "$out"
