"""Simplify a polygonal coverage without opening gaps or overlaps between neighbours.

Each level of the territory (counties, towns, communities, grids, micro-grids) is a coverage:
neighbours share identical edges (DOMAIN.md §1, ZJ 10). Simplifying each polygon on its own
would move a shared edge differently on its two sides; ``shapely.coverage_simplify`` simplifies
every shared edge once, so the result is still a coverage.
"""

from __future__ import annotations

import logging

import numpy as np
import shapely
from numpy.typing import NDArray

log = logging.getLogger(__name__)

# Tolerance per level in degrees of lon/lat (1e-5° ≈ 1.1 m at 30°N), about a pixel or two at
# the zoom where the level is shown (county ~z9, town ~z11, community ~z12.5, grid ~z14,
# micro-grid ~z16).
TOLERANCE_DEG: dict[str, float] = {
    "county": 0.0015,
    "town": 0.0006,
    "community": 0.00025,
    "grid": 0.00008,
    "micro": 0.00003,
}


def simplify_coverage(geoms: NDArray, tolerance: float) -> NDArray:
    """``geoms`` (a coverage, EPSG:4326) simplified with ``tolerance`` degrees, shared edges
    kept identical. An input that is not a valid coverage is simplified polygon by polygon
    (topology kept per polygon, slivers possible) and a warning names how many polygons."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return geoms
    if not bool(shapely.coverage_is_valid(geoms)):
        log.warning(
            "%d polygons are not a valid coverage (overlaps or mismatched edges); simplified one"
            " by one, so neighbours may show slivers. Clean the boundaries on import.",
            len(geoms),
        )
        return shapely.simplify(geoms, tolerance, preserve_topology=True)
    return shapely.coverage_simplify(geoms, tolerance, simplify_boundary=True)
