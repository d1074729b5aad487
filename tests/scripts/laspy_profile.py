"""Brute-force profile with the reference reader: every point of INPUT within WIDTH/2 of the
segment FROM-TO (its ends included), as laspy scales it, and what laspy reads of a LAS profile.

usage: laspy_profile.py INPUT X0 Y0 X1 Y1 WIDTH [PROFILE.las]
prints {"band": [[x_mm, y_mm, z_mm, class], ...] sorted, "las": {...} when a profile is given}
"""
import json
import sys

import laspy
import numpy as np


def points(path):
    with laspy.open(path) as f:
        las = f.read()
    return np.asarray(las.x), np.asarray(las.y), np.asarray(las.z), np.asarray(las.classification)


def main():
    path = sys.argv[1]
    x0, y0, x1, y1, width = map(float, sys.argv[2:7])
    x, y, z, c = points(path)
    ax, ay = x1 - x0, y1 - y0
    length = np.hypot(ax, ay)
    ux, uy = ax / length, ay / length
    vx, vy = x - x0, y - y0
    along = vx * ux + vy * uy
    across = np.abs(vx * uy - vy * ux)
    keep = (along >= 0) & (along <= length) & (across <= width / 2)
    band = sorted(
        zip(
            np.round(x[keep] * 1000).astype(np.int64).tolist(),
            np.round(y[keep] * 1000).astype(np.int64).tolist(),
            np.round(z[keep] * 1000).astype(np.int64).tolist(),
            c[keep].astype(int).tolist(),
        )
    )
    out = {"band": band}
    if len(sys.argv) > 7:
        with laspy.open(sys.argv[7]) as f:
            header = f.header
            las = f.read()
        out["las"] = {
            "count": int(header.point_count),
            "format": int(header.point_format.id),
            "crs": str(header.parse_crs()) if header.parse_crs() is not None else None,
            "points": sorted(
                zip(
                    np.round(np.asarray(las.x) * 1000).astype(np.int64).tolist(),
                    np.round(np.asarray(las.y) * 1000).astype(np.int64).tolist(),
                    np.round(np.asarray(las.z) * 1000).astype(np.int64).tolist(),
                    np.asarray(las.classification).astype(int).tolist(),
                )
            ),
            "mins": [float(v) for v in header.mins],
            "maxs": [float(v) for v in header.maxs],
        }
    print(json.dumps(out))


main()
