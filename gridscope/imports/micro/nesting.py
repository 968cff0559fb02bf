"""Micro-grids nest in their grid (JX 6, AR 11): what sticks out is measured and reported,
never clipped; and per grid, the overlaps between its micro-grids and the grid area they leave
uncovered.

Areas are in m², measured in the local UTM zone like the grid import's (``topology``): the
part of a micro-grid outside its parent is cut in lon/lat (``shapely.difference``) and only the
pieces are projected. A micro-grid whose outside part is at most ``tolerance_m2`` (or, when
``tolerance_share`` > 0, at most that share of its own area) is accepted as it is and counted
as "within tolerance"; beyond both it is refused, the reason stating the area and share
outside and where the largest piece lies. Clipping would silently change a boundary that a
decision approved: the town fixes its file instead.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pyproj
import shapely

from .. import topology
from .features import MicroFeature
from .options import MicroGridImportOptions, MicroGridImportReport


def _where_largest(geom: shapely.Geometry) -> list[float]:
    """A lon/lat point inside the largest polygon of ``geom``, to find it on a map."""
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) == 3]
    p = shapely.point_on_surface(max(parts, key=lambda p: p.area) if parts else geom)
    return [round(p.x, 7), round(p.y, 7)]


def check_nesting(
    features: list[MicroFeature],
    grids: dict[str, dict[str, Any]],
    metric: pyproj.Transformer,
    opts: MicroGridImportOptions,
    report: MicroGridImportReport,
) -> list[MicroFeature]:
    """The features that nest in their grid (within the tolerance); the others are refused in
    ``report`` with the area outside. Fills ``report.nesting``."""
    parsed: dict[str, shapely.Geometry] = {}
    for code, row in grids.items():
        g = shapely.from_wkb(bytes(row["wkb"]))
        parsed[code] = g if shapely.is_valid(g) else shapely.make_valid(g)
    geoms = np.array([f.geom for f in features], dtype=object)
    parents = np.array([parsed[f.grid] for f in features], dtype=object)
    outside = shapely.difference(geoms, parents) if len(features) else geoms
    out_m2 = topology.areas_m2(outside, metric) if len(features) else np.zeros(0)
    own_m2 = topology.areas_m2(geoms, metric) if len(features) else np.zeros(0)
    kept: list[MicroFeature] = []
    tolerated = topology.PieceList(0.0)
    refused_m2 = 0.0
    nested = 0
    for f, piece, out, own in zip(features, outside, out_m2, own_m2, strict=True):
        out, own = float(out), float(own)
        f.row["area_m2"] = own
        share = out / own if own > 0 else 0.0
        if out <= 0.0:
            nested += 1
            kept.append(f)
            continue
        within = out <= opts.tolerance_m2 or (
            opts.tolerance_share > 0 and share <= opts.tolerance_share
        )
        at = _where_largest(piece)
        if within:
            tolerated.add(out, {"code": f.code, "grid": f.grid, "share": round(share, 6), "at": at})
            kept.append(f)
            continue
        refused_m2 += out
        limit = f"tolerance {opts.tolerance_m2:g} m²" + (
            f" or {opts.tolerance_share:.2%}" if opts.tolerance_share > 0 else ""
        )
        report.rejected.append(
            {
                "feature": f.index + 1,
                "code": f.code,
                "grid": f.grid,
                "reason": f"sticks out of its grid {f.grid} by {out:,.1f} m² ({share:.2%} of its"
                f" {own:,.0f} m²; {limit}), largest piece at {at[0]}, {at[1]}: a micro-grid"
                f" must nest in its grid, nothing is clipped; correct the boundary",
                "outside_m2": round(out, 1),
                "outside_share": round(share, 6),
                "at": at,
            }
        )
    within = tolerated.report()
    report.nesting = {
        "tolerance_m2": opts.tolerance_m2,
        "tolerance_share": opts.tolerance_share,
        "checked": len(features),
        "nested": nested,
        "within_tolerance": within["count"],
        "within_tolerance_total_m2": within["total_m2"],
        "within_tolerance_max_m2": within["listed"][0]["area_m2"] if within["listed"] else 0.0,
        "within_tolerance_listed": within["listed"],
        "refused": len(features) - len(kept),
        "refused_outside_total_m2": round(refused_m2, 1),
    }
    return kept


def check_coverage(
    accepted: list[MicroFeature],
    current: dict[str, dict[str, Any]],
    grids: dict[str, dict[str, Any]],
    metric: pyproj.Transformer,
    min_area_m2: float,
    report: MicroGridImportReport,
    progress: Any = None,
) -> None:
    """Per parent grid of ``accepted``: overlaps between its micro-grids (those of the file and
    its other current ones, ``current`` by code) and the parts of the grid none covers; into
    ``report.grids``. ``progress(n)`` is told of each grid checked."""
    in_file = {f.code for f in accepted}
    by_grid: dict[str, list[tuple[str, shapely.Geometry]]] = defaultdict(list)
    for f in accepted:
        by_grid[f.grid].append((f.code, f.geom))
    others: dict[str, list[str]] = defaultdict(list)
    for code, row in current.items():
        if code not in in_file and row["grid_code"] in by_grid:
            by_grid[row["grid_code"]].append((code, shapely.from_wkb(bytes(row["wkb"]))))
            others[row["grid_code"]].append(code)
    for grid in sorted(by_grid):
        codes = [c for c, _ in by_grid[grid]]
        geoms = [g for _, g in by_grid[grid]]
        parent = shapely.from_wkb(bytes(grids[grid]["wkb"]))
        result = topology.check_community(codes, geoms, parent, metric, min_area_m2)
        result.pop("outside_parent", None)  # measured per micro-grid by check_nesting
        result["micro_grids_in_file"] = len(codes) - len(others[grid])
        result["other_current_micro_grids"] = sorted(others[grid])
        report.grids[grid] = result
        if progress is not None:
            progress(1)
