#!/bin/bash
# The GPU figures of the compute rasterizer (issue 7) in one device call: frame time and points per
# second at 10^8, 5 x 10^8, 10^9 and 2 x 10^9 points drawn at 1920x1080, one-pixel points, streamed
# from copies of a generated 20 M-point COPC through the real pipeline. Writes results.txt and the
# first/last frame of each size as PNG under $OUT (or ./gpu-bench-out).
#
# On the build machine: cargo build --release && ../shared/gpu/prepare.sh; then run it on the
# device with carry [".gl", "<target>/release/jumeau"] (see ../shared/gpu/README.md):
#   source .gl/env.sh; scripts/gpu-bench.sh [path/to/jumeau] [copies...]
set -u
JUMEAU=${1:-target/release/jumeau}
shift || true
COPIES=${*:-5 25 50 100}
OUT=${OUT:-gpu-bench-out}
mkdir -p "$OUT"
export XDG_CACHE_HOME=${XDG_CACHE_HOME:-/tmp/jumeau-cache}
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
    for copies in $COPIES; do
        points=$((copies * 20000000))
        echo "== $copies copies: $points points"
        timeout 540 "$JUMEAU" bench render --points 20000000 --copies "$copies" --budget "$points" \
            --width 1920 --height 1080 --point-size 1 --frames 30 --compute-only \
            --png-dir "$OUT/$copies" 2>&1 | grep -v "WARN\|INFO"
    done
} | tee "$OUT/results.txt"
