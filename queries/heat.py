"""The incident heatmap: tickets created in a time window, aggregated in PostGIS to weighted
points whose resolution follows the map's zoom.

Points are WGS84 lon/lat (EPSG:4326). Each output point is one square cell of ``cell_deg``
degrees (half the heat radius in screen pixels at the requested zoom, never finer than
MIN_CELL_DEG ≈ 20 m, so no point pins down a single address); it sits at the mean position of
its tickets and weighs their count, so the weights sum to the tickets in the window.

The window is ``(now − length, now]`` on ``created_at``, bound as parameters, so partition
pruning skips the monthly partitions outside it and the BRIN index on ``created_at`` narrows
the rest. Aggregates only: L1 (DOMAIN.md §7).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from domain import vocabulary
from domain.categories import MAJOR_CODES

from .scope import Scope

log = logging.getLogger(__name__)

WINDOWS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
# "all" means no filter; otherwise an urgency (domain.vocabulary) or a major category of the
# item list (domain.categories.MAJOR_CODES, DOMAIN.md §3).
URGENCIES: tuple[str, ...] = ("all", *vocabulary.URGENCIES)

# Heat radius in CSS pixels; a cell is half of it (leaflet.heat merges points per r/2 px).
RADIUS_PX = 20
BLUR_PX = 15
MIN_ZOOM, MAX_ZOOM, DEFAULT_ZOOM = 3, 18, 11
# About 20 m at 30°N: the finest resolution ever sent (privacy floor, not a display limit).
MIN_CELL_DEG = 0.0002
# Cells per viewport at most; a finer request is coarsened (and says so in the payload).
MAX_CELLS = 60_000
# At this zoom and below a cell is wider than ~1/2 grid: tickets are placed per grid (faster).
GRID_LEVEL_MAX_ZOOM = 12
# Output points at most; above it the cells are merged 2×2 in Python (weights preserved).
MAX_POINTS = 20_000


@dataclass(frozen=True)
class Viewport:
    """The map view a heat request is for: integer zoom and optional bbox (west, south, east,
    north in degrees, EPSG:4326). Built from browser values with ``parse`` only."""

    zoom: int = DEFAULT_ZOOM
    bbox: tuple[float, float, float, float] | None = None

    @classmethod
    def parse(cls, zoom: Any, bbox: Any) -> Viewport:
        """A viewport from untrusted values (numbers, or the strings "12" and
        "120.1,30.2,120.9,30.9" of view options): zoom rounded and clamped to
        MIN..MAX_ZOOM (default when not a number); bbox kept only when it is four finite
        numbers with west < east, south < north inside lon/lat ranges, else dropped (the
        whole jurisdiction)."""
        z = DEFAULT_ZOOM
        if isinstance(zoom, str):
            try:
                zoom = float(zoom)
            except ValueError:
                zoom = None
        if isinstance(zoom, int | float) and not isinstance(zoom, bool) and math.isfinite(zoom):
            z = min(MAX_ZOOM, max(MIN_ZOOM, int(round(zoom))))
        box = None
        if isinstance(bbox, str):
            bbox = bbox.split(",")
        if isinstance(bbox, list | tuple) and len(bbox) == 4:
            try:
                w, s, e, n = (float(v) for v in bbox)
            except (TypeError, ValueError):
                w = s = e = n = math.nan
            if (
                all(math.isfinite(v) for v in (w, s, e, n))
                and -180 <= w < e <= 180
                and -90 <= s < n <= 90
            ):
                box = (w, s, e, n)
        return cls(z, box)


def cell_size(viewport: Viewport, radius_px: int = RADIUS_PX) -> float:
    """Cell edge in degrees: radius/2 CSS pixels at the zoom (256-px Web Mercator tiles), at
    least MIN_CELL_DEG, and coarse enough that the bbox holds at most MAX_CELLS cells."""
    cell = max(MIN_CELL_DEG, (radius_px / 2) * 360.0 / (256 * 2**viewport.zoom))
    if viewport.bbox is not None:
        w, s, e, n = viewport.bbox
        cells = ((e - w) / cell) * ((n - s) / cell)
        if cells > MAX_CELLS:
            cell *= math.sqrt(cells / MAX_CELLS)
    return cell


_SELECT = sql.SQL(
    """
SELECT avg(ST_X(t.geom)), avg(ST_Y(t.geom)), count(*)::int
  FROM ticket t
 WHERE t.created_at > %(start)s AND t.created_at <= %(now)s
   AND t.grid_code LIKE %(like)s"""
)
# Optional filters: fixed fragments, picked by allowlisted options (values are still bound).
_BY_MAJOR = sql.SQL("\n   AND t.category_code LIKE %(major_like)s")
_BY_URGENCY = sql.SQL("\n   AND t.urgency = %(urgency)s")
_BY_BBOX = sql.SQL(
    "\n   AND t.geom && ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, 4326)"
)
_GROUP = sql.SQL("\n GROUP BY floor(ST_X(t.geom) / %(cell)s), floor(ST_Y(t.geom) / %(cell)s)")

# Grid level (zoom <= GRID_LEVEL_MAX_ZOOM): count per grid code first (no geometry per ticket,
# ~35 % faster on a month of a city), then place each grid's count at its stored anchor (the
# point on surface, migration 0004; latest version of the code, so retired grids still place
# their tickets) and merge by cell.
_GRID_SELECT = sql.SQL(
    """
WITH c AS (
    SELECT t.grid_code, count(*)::int AS n
      FROM ticket t
     WHERE t.created_at > %(start)s AND t.created_at <= %(now)s
       AND t.grid_code LIKE %(like)s"""
)
_GRID_PLACE = sql.SQL(
    """
     GROUP BY t.grid_code
), p AS (
    SELECT DISTINCT ON (g.code) g.code, g.anchor AS pt
      FROM grid g
     WHERE g.code IN (SELECT grid_code FROM c)
     ORDER BY g.code, g.valid_to IS NULL DESC, g.valid_from DESC
)
SELECT sum(ST_X(p.pt) * c.n) / sum(c.n), sum(ST_Y(p.pt) * c.n) / sum(c.n), sum(c.n)::int
  FROM c LEFT JOIN p ON p.code = c.grid_code
 GROUP BY floor(ST_X(p.pt) / %(cell)s), floor(ST_Y(p.pt) / %(cell)s)"""
)


def heat_query(
    *, major: str = "all", urgency: str = "all", with_bbox: bool = False, grid_level: bool = False
) -> sql.Composed:
    """The statement for a combination of filters (each checked against its allowlist); rows
    (lon, lat, tickets), lon/lat NULL for tickets whose grid code has no geometry."""
    check_options(window="1h", major=major, urgency=urgency)
    parts = [_GRID_SELECT if grid_level else _SELECT]
    if major != "all":
        parts.append(_BY_MAJOR)
    if urgency != "all":
        parts.append(_BY_URGENCY)
    if with_bbox:
        parts.append(_BY_BBOX)
    parts.append(_GRID_PLACE if grid_level else _GROUP)
    return sql.Composed(parts)


def check_options(*, window: str, major: str, urgency: str) -> None:
    """ValueError unless every option is in its allowlist."""
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}; allowed: {', '.join(WINDOWS)}")
    if major != "all" and major not in MAJOR_CODES:
        raise ValueError(f"unknown category {major!r}; allowed: all, {', '.join(MAJOR_CODES)}")
    if urgency not in URGENCIES:
        raise ValueError(f"unknown urgency {urgency!r}; allowed: {', '.join(URGENCIES)}")


def heat_cells(
    conn: psycopg.Connection,
    scope: Scope,
    now: datetime,
    *,
    window: str = "24h",
    major: str = "all",
    urgency: str = "all",
    viewport: Viewport = Viewport(),
) -> tuple[list[tuple[float, float, int]], float]:
    """([(lon, lat, tickets)], cell_deg): tickets of the jurisdiction created in
    ``(now − window, now]`` matching the filters, one row per non-empty cell of the viewport
    (all cells of the jurisdiction when it has no bbox). Counts, not rates. At zoom
    <= GRID_LEVEL_MAX_ZOOM each ticket counts at its grid's point on surface instead of its
    own position; tickets of grid codes without any geometry are logged and left out."""
    check_options(window=window, major=major, urgency=urgency)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    cell = cell_size(viewport)
    params: dict[str, Any] = {
        "start": now - WINDOWS[window],
        "now": now,
        "like": scope.like,
        "cell": cell,
        "major_like": f"{major}%",
        "urgency": urgency,
    }
    if viewport.bbox is not None:
        params.update(zip(("west", "south", "east", "north"), viewport.bbox, strict=True))
    stmt = heat_query(
        major=major,
        urgency=urgency,
        with_bbox=viewport.bbox is not None,
        grid_level=viewport.zoom <= GRID_LEVEL_MAX_ZOOM,
    )
    with conn.transaction():
        rows = conn.execute(stmt, params).fetchall()
    unplaced = sum(int(n) for x, _, n in rows if x is None)
    if unplaced:
        log.warning("heat: %d tickets in grids without geometry are not drawn", unplaced)
    return [(float(x), float(y), int(n)) for x, y, n in rows if x is not None], cell


def coarsen(
    cells: Sequence[tuple[float, float, int]], cell: float
) -> tuple[list[tuple[float, float, int]], float]:
    """Merge cells 2×2 (weighted mean position, summed count) until at most MAX_POINTS."""
    out = list(cells)
    while len(out) > MAX_POINTS:
        cell *= 2
        acc: dict[tuple[int, int], list[float]] = {}
        for x, y, n in out:
            k = (math.floor(x / cell), math.floor(y / cell))
            a = acc.setdefault(k, [0.0, 0.0, 0])
            a[0] += x * n
            a[1] += y * n
            a[2] += n
        out = [(sx / n, sy / n, int(n)) for sx, sy, n in acc.values()]
    return out, cell


def intensity_max(weights: Sequence[int]) -> float:
    """The weight drawn at full colour: the 98th percentile of the cell weights (at least 1),
    so that one hot cell does not wash every other cell out."""
    if not weights:
        return 1.0
    s = sorted(weights)
    return float(max(1, s[min(len(s) - 1, int(0.98 * (len(s) - 1)))]))


def heat_payload(
    conn: psycopg.Connection,
    scope: Scope,
    now: datetime,
    *,
    window: str = "24h",
    major: str = "all",
    urgency: str = "all",
    viewport: Viewport = Viewport(),
) -> dict[str, Any]:
    """The heat as a GeoJSON FeatureCollection (EPSG:4326): one Point per cell, property
    ``weight`` = its tickets (coordinates 6 decimals). Foreign member ``meta``: {"total"
    (tickets in the window = sum of weights), "max" (weight drawn at full colour), "cell_deg",
    "zoom", "bbox", "window", "major", "urgency", "coarsened" (cells merged to stay under
    MAX_POINTS), "radius", "blur", "as_of_ms"}."""
    cells, cell = heat_cells(
        conn, scope, now, window=window, major=major, urgency=urgency, viewport=viewport
    )
    coarsened = len(cells) > MAX_POINTS
    if coarsened:
        n_before = len(cells)
        cells, cell = coarsen(cells, cell)
        log.info("heat: %d cells over %d, merged to %d", n_before, MAX_POINTS, len(cells))
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]},
            "properties": {"weight": n},
        }
        for x, y, n in cells
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "meta": {
            "total": sum(n for _, _, n in cells),
            "max": intensity_max([n for _, _, n in cells]),
            "cell_deg": cell,
            "zoom": viewport.zoom,
            "bbox": list(viewport.bbox) if viewport.bbox else None,
            "window": window,
            "major": major,
            "urgency": urgency,
            "coarsened": coarsened,
            "radius": RADIUS_PX,
            "blur": BLUR_PX,
            "as_of_ms": int(now.timestamp() * 1000),
        },
    }
