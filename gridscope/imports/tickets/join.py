"""Placing ticket points in grids in bulk: one STRtree query for every distinct point."""

from __future__ import annotations

import numpy as np
import shapely


def join_points(
    lon: np.ndarray,
    lat: np.ndarray,
    grids: list[tuple[str, bytes]],
    micro: list[tuple[str, str, bytes]],
) -> tuple[np.ndarray, np.ndarray, int]:
    """(grid code or None, micro-grid code or None, points in several grids) per point.

    A point on a shared edge or in an overlap goes to the grid with the lowest code.
    """
    n = len(lon)
    grid_of = np.full(n, None, dtype=object)
    micro_of = np.full(n, None, dtype=object)
    if n == 0 or not grids:
        return grid_of, micro_of, 0
    xy = lon + 1j * lat
    uniq, inverse = np.unique(xy, return_inverse=True)
    pts = shapely.points(uniq.real, uniq.imag)
    gcodes = np.array([c for c, _ in grids], dtype=object)  # ordered by code
    ggeoms = shapely.from_wkb([w for _, w in grids])
    shapely.prepare(ggeoms)
    pi, gi = shapely.STRtree(ggeoms).query(pts, predicate="covered_by")
    best = np.full(len(uniq), len(grids), dtype=np.int64)
    np.minimum.at(best, pi, gi)
    hits = np.bincount(pi, minlength=len(uniq))
    found = best < len(grids)
    ugrid = np.full(len(uniq), None, dtype=object)
    ugrid[found] = gcodes[best[found]]
    umicro = np.full(len(uniq), None, dtype=object)
    if micro:
        mcodes = np.array([c for c, _, _ in micro], dtype=object)
        mgrid = np.array([g for _, g, _ in micro], dtype=object)
        mgeoms = shapely.from_wkb([w for _, _, w in micro])
        shapely.prepare(mgeoms)
        qi, mi = shapely.STRtree(mgeoms).query(pts, predicate="covered_by")
        same = mgrid[mi] == ugrid[qi]
        qi, mi = qi[same], mi[same]
        mbest = np.full(len(uniq), len(micro), dtype=np.int64)
        np.minimum.at(mbest, qi, mi)
        mfound = mbest < len(micro)
        umicro[mfound] = mcodes[mbest[mfound]]
    several = int((hits[inverse] > 1).sum())
    return ugrid[inverse], umicro[inverse], several
