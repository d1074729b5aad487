"""Transforms positions with PROJ (through pyproj), the reference for Jumeau's georeferencing.

Usage: pyproj_transform.py FROM TO GRID_DIR < positions (one "x y z" line each)

FROM and TO are "EPSG:h" or "EPSG:h+v" (a compound CRS, e.g. EPSG:2154+5720). GRID_DIR holds
the PROJ grids the vertical datums need (RAF20 for NGF-IGN69); no network access is used.
Prints one "x y z" line per position, full precision, longitude first for geographic CRSs.
"""
import sys
import warnings

import pyproj
from pyproj.transformer import TransformerGroup

source, target, grids = sys.argv[1], sys.argv[2], sys.argv[3]
warnings.simplefilter("ignore")
pyproj.datadir.append_data_dir(grids)
pyproj.network.set_network_enabled(False)
group = TransformerGroup(source, target, always_xy=True)
# The most accurate transformation whose grids are all here (RAF20 for IGN69; PROJ prefers RAF18).
usable = list(group.transformers)
if not usable:
    sys.exit(f"no usable transformation from {source} to {target}: {group.unavailable_operations}")
transformer = usable[0]
print(f"# {transformer.description}", file=sys.stderr)
for line in sys.stdin:
    if not line.strip():
        continue
    x, y, z = (float(v) for v in line.split())
    a, b, c = transformer.transform(x, y, z)
    print(f"{a!r} {b!r} {c!r}")
