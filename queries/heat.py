"""The incident heatmap: tickets created in a time window, aggregated in PostGIS to weighted
points whose resolution follows the map's zoom.

Points are WGS84 lon/lat (EPSG:4326). Each output point is one square cell of ``cell_deg``
degrees (half the heat radius in screen pixels at the requested zoom, never finer than
MIN_CELL_DEG ≈ 20 m) and weighs its tickets, so the weights sum to the tickets drawn.

Privacy (DOMAIN.md §7, issue #9): a cell is drawn only when it holds at least ``min_k``
tickets (setting ``heat_min_k``); smaller cells are merged into cells twice as wide, up to
K_MERGE_LEVELS times, and what still falls short is dropped and counted in the payload
(``meta.suppressed``). A cell sits at its own centre (below GRID_LEVEL_MAX_ZOOM: at the
weighted mean of the grids' stored anchors), never at the mean of its tickets, so no point
of the heat lies on a reported address. Sensitive categories (domain.access: special
populations, disputes) are left out of the heat for every role.

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
from domain.access import SENSITIVE_CATEGORY_PREFIXES
from domain.categories import MAJOR_CODES

from . import tiles
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
# Zoom 17 already reaches the cell floor (MIN_CELL_DEG): finer zooms are served zoom 17's
# cells (one cache entry instead of three).
MIN_ZOOM, MAX_ZOOM, DEFAULT_ZOOM = 3, 17, 11
# About 20 m at 30°N: the finest resolution ever sent (privacy floor, not a display limit).
MIN_CELL_DEG = 0.0002
# Cells per (tile-snapped) bbox at most; a finer request is coarsened (the payload says so).
# A 1080p view snaps to about 3 × 3 tiles of zoom − 2, ~90k cells at the zoom's cell size.
MAX_CELLS = 100_000
# The bbox is snapped outwards to Web Mercator tiles of zoom − TILE_ZOOM_BELOW (queries.tiles):
# the cache key then holds tile edges, not the browser's floats (issue #9: random bboxes grew
# Redis).
TILE_ZOOM_BELOW = 2
# Sensitive categories as LIKE patterns (never in the heat).
SENSITIVE_LIKE = [f"{p}%" for p in SENSITIVE_CATEGORY_PREFIXES]
# At this zoom and below a cell is wider than ~1/2 grid: tickets are placed per grid (faster).
GRID_LEVEL_MAX_ZOOM = 12
# Output points at most; above it the cells are merged 2×2 in Python (weights preserved).
MAX_POINTS = 20_000
# Cells under k are merged 2×2 this many times at most (16× the cell: ~300 m at the finest
# zoom) before what is left is dropped: sparse areas show as coarse blobs, not as nothing.
K_MERGE_LEVELS = 4


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

    def snapped(self) -> Viewport:
        """This viewport with the bbox grown to the tiles enclosing it (queries.tiles.snap,
        tiles of zoom − TILE_ZOOM_BELOW); idempotent through ``bbox_text`` and ``parse``."""
        if self.bbox is None:
            return self
        return Viewport(self.zoom, tiles.snap(self.bbox, self.zoom - TILE_ZOOM_BELOW))

    @property
    def bbox_text(self) -> str:
        """The bbox as the view option's text ("w,s,e,n", at most 7 decimals), "" for none."""
        if self.bbox is None:
            return ""
        return ",".join(f"{v:.7f}".rstrip("0").rstrip(".") for v in self.bbox)


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


# Ticket level: each cell at its centre (never the mean of its tickets: with few tickets that
# mean is an address).
_SELECT = sql.SQL(
    """
SELECT (c.cx + 0.5) * %(cell)s, (c.cy + 0.5) * %(cell)s, count(*)::int
  FROM (SELECT floor(ST_X(t.geom) / %(cell)s) AS cx, floor(ST_Y(t.geom) / %(cell)s) AS cy
  FROM ticket t
 WHERE t.created_at > %(start)s AND t.created_at <= %(now)s
   AND t.grid_code LIKE %(like)s
   AND NOT (coalesce(t.category_code, '') LIKE ANY(%(sensitive)s))"""
)
# Optional filters: fixed fragments, picked by allowlisted options (values are still bound).
_BY_MAJOR = sql.SQL("\n   AND t.category_code LIKE %(major_like)s")
_BY_URGENCY = sql.SQL("\n   AND t.urgency = %(urgency)s")
_BY_BBOX = sql.SQL(
    "\n   AND t.geom && ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, 4326)"
)
_GROUP = sql.SQL(") c\n GROUP BY c.cx, c.cy")

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
       AND t.grid_code LIKE %(like)s
       AND NOT (coalesce(t.category_code, '') LIKE ANY(%(sensitive)s))"""
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
    (all cells of the jurisdiction when it has no bbox), at the cell's centre. Counts, not
    rates; sensitive categories left out. At zoom <= GRID_LEVEL_MAX_ZOOM each ticket counts
    at its grid's stored anchor instead of its own position (a cell then sits at the weighted
    mean of its grids' anchors); tickets of grid codes without any geometry are logged and
    left out."""
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
        "sensitive": SENSITIVE_LIKE,
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


def anonymise(
    cells: Sequence[tuple[float, float, int]], cell: float, min_k: int
) -> tuple[list[tuple[float, float, int]], list[tuple[float, float, int]]]:
    """(cells of at least ``min_k`` tickets, cells dropped): cells under ``min_k`` are merged
    into the enclosing cell twice as wide, placed at its centre, up to K_MERGE_LEVELS times;
    the ones still under ``min_k`` are dropped. Tickets are counted once either way."""
    keep = [c for c in cells if c[2] >= min_k]
    small = [c for c in cells if c[2] < min_k]
    size = cell
    for _ in range(K_MERGE_LEVELS):
        if not small:
            break
        size *= 2
        acc: dict[tuple[int, int], int] = {}
        for x, y, n in small:
            k = (math.floor(x / size), math.floor(y / size))
            acc[k] = acc.get(k, 0) + n
        small = []
        for (i, j), n in acc.items():
            (keep if n >= min_k else small).append(((i + 0.5) * size, (j + 0.5) * size, n))
    return keep, small


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
    min_k: int = 5,
) -> dict[str, Any]:
    """The heat as a GeoJSON FeatureCollection (EPSG:4326): one Point per cell holding at
    least ``min_k`` tickets, property ``weight`` = its tickets (coordinates 6 decimals).
    Foreign member ``meta``: {"total" (tickets of the heat in the window: sensitive
    categories excluded), "shown" (sum of the weights drawn), "suppressed" (total − shown:
    tickets in cells under ``min_k``, dropped), "suppressed_cells", "min_k", "max" (weight
    drawn at full colour), "cell_deg", "zoom", "bbox", "window", "major", "urgency",
    "coarsened" (cells merged to stay under MAX_POINTS), "radius", "blur", "as_of_ms"}."""
    if min_k < 1:
        raise ValueError("min_k must be at least 1")
    cells, cell = heat_cells(
        conn, scope, now, window=window, major=major, urgency=urgency, viewport=viewport
    )
    total = sum(n for _, _, n in cells)
    coarsened = len(cells) > MAX_POINTS
    if coarsened:
        n_before = len(cells)
        cells, cell = coarsen(cells, cell)
        log.info("heat: %d cells over %d, merged to %d", n_before, MAX_POINTS, len(cells))
    # k-anonymity after the size cap (merged cells may reach k): a smaller cell would pin its
    # few tickets' households; it is merged wider, or dropped and counted, never lost silently.
    cells, small = anonymise(cells, cell, min_k)
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
            "total": total,
            "shown": sum(n for _, _, n in cells),
            "suppressed": sum(n for _, _, n in small),
            "suppressed_cells": len(small),
            "min_k": min_k,
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
