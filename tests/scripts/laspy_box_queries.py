"""Checks a COPC file with laspy's CopcReader (the reference reader) against brute force.

Usage: laspy_box_queries.py FILE BOXES SEED

Reads every point as plain LAZ (through the chunk table, not the hierarchy), then makes BOXES
random box queries through the COPC hierarchy and counts, for each, the points really inside
it, compared the way laspy compares (integer coordinates, bounds rounded to the grid). Also
queries everything (which walks every hierarchy page). Prints JSON.
"""
import json
import sys

import laspy
import numpy as np

path, boxes, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
every = laspy.read(path)
X, Y, Z = (np.asarray(every.X), np.asarray(every.Y), np.asarray(every.Z))
header = every.header
rng = np.random.default_rng(seed)
results = []
with laspy.CopcReader.open(path) as reader:
    all_points = reader.query()
    lo, hi = header.mins, header.maxs
    for i in range(boxes):
        size = np.array([rng.uniform(5, 800), rng.uniform(5, 400), rng.uniform(5, 300)])
        centre = lo + rng.uniform(0, 1, 3) * (hi - lo)
        mins, maxs = centre - size / 2, centre + size / 2
        if i % 2 == 0:
            # A 2-D box: every height, as a map selection is.
            mins[2], maxs[2] = lo[2] - 1, hi[2] + 1
        got = len(reader.query(bounds=laspy.copc.Bounds(mins=mins, maxs=maxs)))
        MINS = np.round((mins - header.offsets) / header.scales).astype(np.int64)
        MAXS = np.round((maxs - header.offsets) / header.scales).astype(np.int64)
        inside = (
            (MINS[0] <= X) & (X <= MAXS[0])
            & (MINS[1] <= Y) & (Y <= MAXS[1])
            & (MINS[2] <= Z) & (Z <= MAXS[2])
        )
        results.append({
            "mins": mins.tolist(),
            "maxs": maxs.tolist(),
            "query": int(got),
            "brute": int(np.count_nonzero(inside)),
        })
print(json.dumps({
    "header_count": int(header.point_count),
    "read_count": int(len(X)),
    "query_all": int(len(all_points)),
    "boxes": results,
}))
