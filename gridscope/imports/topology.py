"""Geometry checks of a set of grids: repair, overlaps and gaps, with areas in m².

Input geometries are lon/lat (EPSG:4326). Overlap and gap pieces are cut in lon/lat and measured
in one local UTM zone (chosen from the data's centre by pyproj), so areas are in square metres;
each piece is located by a lon/lat point inside it. Pieces smaller
than ``min_area_m2`` (float noise along shared edges) are not listed one by one but counted and
totalled, so nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray

POLYGONAL = (3, 6)  # shapely type ids of Polygon and MultiPolygon
MAX_LISTED = 50  # pieces listed per kind; the rest are counted and totalled


@dataclass(frozen=True)
class Repair:
    """What making one geometry valid did."""

    reason: str  # shapely.is_valid_reason before the repair
    dropped: str | None  # types of the non-polygonal parts thrown away, if any
    area_m2: float  # area after the repair


def to_multipolygon(geom: shapely.Geometry) -> shapely.Geometry:
    """Polygonal parts of ``geom`` as one MultiPolygon (empty when there are none)."""
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if shapely.get_type_id(p) in POLYGONAL]
    flat: list = []
    for p in polys:
        flat.extend(shapely.get_parts(p) if shapely.get_type_id(p) == 6 else [p])
    return shapely.MultiPolygon(flat)


def repair(
    geom: shapely.Geometry, metric: pyproj.Transformer
) -> tuple[shapely.Geometry, Repair | None]:
    """(valid MultiPolygon, Repair or None when it was valid already); polygonal parts only."""
    if shapely.is_valid(geom):
        return to_multipolygon(geom), None
    reason = shapely.is_valid_reason(geom)
    fixed = shapely.make_valid(geom)
    kept = to_multipolygon(fixed)
    other = sorted(
        {p.geom_type for p in shapely.get_parts(fixed) if shapely.get_type_id(p) not in POLYGONAL}
    )
    return kept, Repair(reason, ", ".join(other) or None, round(_area(kept, metric), 1))


def metric_transformer(geoms: Sequence[shapely.Geometry]) -> pyproj.Transformer:
    """lon/lat → the UTM zone of the data's centre (metres)."""
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    x0, y0, x1, y1 = shapely.total_bounds(np.asarray(geoms, dtype=object))
    lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
    infos = query_utm_crs_info(
        datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat)
    )
    utm = pyproj.CRS.from_epsg(int(infos[0].code)) if infos else pyproj.CRS.from_epsg(3857)
    return pyproj.Transformer.from_crs(4326, utm, always_xy=True)


def project(geoms: Any, t: pyproj.Transformer, inverse: bool = False) -> NDArray:
    """Geometries through the transformer (vectorised over all vertices)."""
    direction = "INVERSE" if inverse else "FORWARD"

    def f(coords: NDArray) -> NDArray:
        x, y = t.transform(coords[:, 0], coords[:, 1], direction=direction)
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geoms, dtype=object), f)


def _area(geom: shapely.Geometry, t: pyproj.Transformer) -> float:
    return float(shapely.area(project([geom], t)[0]))


def areas_m2(geoms: Sequence[shapely.Geometry], t: pyproj.Transformer) -> NDArray:
    """Area of each lon/lat geometry in m² (in the local UTM zone)."""
    return shapely.area(project(geoms, t))


def _where(piece: shapely.Geometry) -> list[float]:
    """A lon/lat point inside the piece, to find it on a map."""
    p = shapely.point_on_surface(piece)
    return [round(p.x, 7), round(p.y, 7)]


class PieceList:
    """Pieces of one kind: the largest listed, the small and the surplus counted."""

    def __init__(self, min_area: float):
        self.min_area = min_area
        self.items: list[dict[str, Any]] = []
        self.small = 0
        self.small_area = 0.0

    def add(self, area: float, item: dict[str, Any]) -> None:
        if area < self.min_area:
            self.small += 1
            self.small_area += area
        else:
            self.items.append({**item, "area_m2": round(area, 1)})

    def report(self) -> dict[str, Any]:
        items = sorted(self.items, key=lambda d: -d["area_m2"])
        return {
            "count": len(items),
            "total_m2": round(sum(d["area_m2"] for d in items), 1),
            "listed": items[:MAX_LISTED],
            "not_listed": max(0, len(items) - MAX_LISTED),
            "below_min_area": self.small,
            "below_min_area_total_m2": round(self.small_area, 3),
        }


def _polygons(geom: shapely.Geometry) -> list[shapely.Geometry]:
    """The non-empty polygons of an overlay result (lines and points from touching edges
    have no area and are dropped)."""
    return [
        p
        for p in shapely.get_parts(geom)
        if shapely.get_type_id(p) == 3 and not shapely.is_empty(p)
    ]


def check_community(
    codes: Sequence[str],
    geoms: Sequence[shapely.Geometry],
    parent: shapely.Geometry | None,
    t: pyproj.Transformer,
    min_area_m2: float,
) -> dict[str, Any]:
    """Overlaps between the grids of one community, gaps between them, and (when the parent
    region has a boundary) the parts of the parent no grid covers and the grid parts outside it.

    The overlay runs on the lon/lat geometries themselves (projecting first would bend long
    straight edges differently from the vertices along them and make slivers that are not in
    the data); only the pieces are projected, to measure them.
    """
    g = np.asarray(geoms, dtype=object)
    overlaps = PieceList(min_area_m2)
    left, right = shapely.STRtree(g).query(g, predicate="intersects")
    keep = left < right
    for i, j in zip(left[keep], right[keep], strict=True):
        piece = shapely.intersection(g[i], g[j])
        area = _area(piece, t)
        if area > 0:
            overlaps.add(area, {"grids": [codes[i], codes[j]], "at": _where(piece)})
    union = shapely.union_all(g)
    gaps = PieceList(min_area_m2)
    outside = PieceList(min_area_m2)
    if parent is not None and not shapely.is_empty(parent):
        pm = shapely.make_valid(parent)
        for piece in _polygons(shapely.difference(pm, union)):
            gaps.add(_area(piece, t), {"kind": "parent not covered", "at": _where(piece)})
        for piece in _polygons(shapely.difference(union, pm)):
            outside.add(_area(piece, t), {"at": _where(piece)})
    else:
        for poly in shapely.get_parts(union):
            for ring in poly.interiors:
                hole = shapely.Polygon(ring)
                gaps.add(_area(hole, t), {"kind": "hole between grids", "at": _where(hole)})
    return {
        "overlaps": overlaps.report(),
        "gaps": gaps.report(),
        "outside_parent": outside.report() if parent is not None else None,
    }
