"""Reads a COPC file with laspy's CopcReader (the reference reader) and prints what it saw as JSON."""
import json
import sys

import laspy
import numpy as np

with laspy.CopcReader.open(sys.argv[1]) as reader:
    points = reader.query()
    classes, counts = np.unique(np.asarray(points.classification), return_counts=True)
    print(json.dumps({
        "count": int(len(points)),
        "header_count": int(reader.header.point_count),
        "point_format": int(reader.header.point_format.id),
        "min": [float(np.min(points.x)), float(np.min(points.y)), float(np.min(points.z))],
        "max": [float(np.max(points.x)), float(np.max(points.y)), float(np.max(points.z))],
        "classes": {str(int(c)): int(n) for c, n in zip(classes, counts)},
        "extra_dims": list(points.point_format.extra_dimension_names),
    }))
