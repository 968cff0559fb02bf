"""Recurring problems for the hotspot panel: tickets of one category at one place within
``recurring_days`` (rule: domain/analytics/recurring.py, docs/analytics-hotspots.md).

Two statements. The first counts the window's tickets per (category, cell) over the whole scope
and keeps the cells with at least ``recurring_min`` tickets: one grouped scan of the covering
index ``ticket_created_cover`` (created_at → grid, category, point), no per-ticket geometry
transform, only a count per group (more aggregates doubled the hash table, to ~280 MB for a
whole large city). Python merges neighbouring cells into places
(domain.analytics.recurring.merge, vectorised; only the places listed become objects). The
second reads, for the places listed only, their tickets again for the first and last date, the
grid and the most frequent address: by primary key when the in-memory columns found the cells
(they know which tickets those are), else through the spatial index (one small box per place).

Cells are squares of ``radius_m`` in a local metric frame: longitude and latitude divided by
the degrees a side spans at the scope's mean latitude (EPSG:4326 in, degrees out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import psycopg

from domain.analytics.recurring import CellColumns, Place, merge, metres_per_degree

from ..explore.columns import EPOCH
from ..scope import Scope
from . import hotspot_columns

# The grouped scan keeps ~1 M (category, cell) groups in memory for a whole large city over 90
# days (164 MB of hash table): with the default 4 MB it spilled to disk and took twice as long.
# Hash tables may use hash_mem_multiplier (default 2) × work_mem.
WORK_MEM = "96MB"

_FRAME_SQL = """
SELECT count(*)::int, avg(ST_Y(anchor)) FROM grid WHERE valid_to IS NULL AND code LIKE %(like)s
"""

_CELLS_SQL = """
SELECT t.category_code,
       floor(ST_X(t.geom) / %(sx)s)::bigint,
       floor(ST_Y(t.geom) / %(sy)s)::bigint,
       count(*)::int
  FROM ticket t
 WHERE t.created_at >= %(a)s AND t.created_at < %(b)s AND t.grid_code LIKE %(like)s
 GROUP BY 1, 2, 3
HAVING count(*) >= %(min)s
"""

# One probe per listed place: its tickets, found through the GiST index on the point in each
# month's partition by the box around its cells and kept when in one of its cells (the same
# cell expressions and bound sizes as _CELLS_SQL; a cell is the key cx × 2^32 + cy). OFFSET 0
# keeps the planner from flattening the LATERAL subquery into a join over the whole window,
# which sorted all 1.3 M tickets of a large city.
_BY_BOX_SQL = """
WITH c AS (
  SELECT * FROM unnest(%(ids)s::int[], %(cats)s::text[], %(x0)s::bigint[], %(y0)s::bigint[],
                       %(x1)s::bigint[], %(y1)s::bigint[], %(keys)s::text[])
         AS c(id, cat, x0, y0, x1, y1, keys)
), agg AS (
  SELECT c.id, c.cat, count(*)::int AS n, min(t.created_at) AS first, max(t.created_at) AS last,
         mode() WITHIN GROUP (ORDER BY t.grid_code) AS grid,
         mode() WITHIN GROUP (ORDER BY t.address) AS address
    FROM c CROSS JOIN LATERAL (
         SELECT t.created_at, t.grid_code, t.address FROM ticket t
          WHERE t.geom && ST_MakeEnvelope(c.x0 * %(sx)s, c.y0 * %(sy)s,
                                          (c.x1 + 1) * %(sx)s, (c.y1 + 1) * %(sy)s, 4326)
            AND t.category_code = c.cat
            AND ((floor(ST_X(t.geom) / %(sx)s)::bigint << 32)
                 + floor(ST_Y(t.geom) / %(sy)s)::bigint) = ANY(c.keys::bigint[])
            AND t.created_at >= %(a)s AND t.created_at < %(b)s AND t.grid_code LIKE %(like)s
         OFFSET 0) t
   GROUP BY c.id, c.cat
)
SELECT a.id, k.name_zh, a.n, a.first, a.last, a.grid, g.name, ST_X(g.anchor), ST_Y(g.anchor),
       a.address
  FROM agg a
  LEFT JOIN category k ON k.code = a.cat
  LEFT JOIN LATERAL (SELECT name, anchor FROM grid WHERE code = a.grid
                      ORDER BY valid_to IS NULL DESC, valid_from DESC LIMIT 1) g ON true
"""

# The same (from ``agg`` on) when the in-memory columns said which tickets they are: each by
# its primary key (id, and its creation second, which leaves one partition to look in; a
# ticket is u.id's place). The box probes read ~120,000 heap rows of other categories and
# months for the 6,500 tickets of a large city's 100 largest places: 320 ms against 40.
_BY_ID_SQL = """
WITH c AS (
  SELECT * FROM unnest(%(ids)s::int[], %(cats)s::text[]) AS c(id, cat)
), u AS (
  SELECT * FROM unnest(%(pids)s::int[], %(tids)s::bigint[], %(secs)s::bigint[]) AS u(id, tid, s)
), agg AS (
  SELECT c.id, c.cat, count(*)::int AS n, min(t.created_at) AS first, max(t.created_at) AS last,
         mode() WITHIN GROUP (ORDER BY t.grid_code) AS grid,
         mode() WITHIN GROUP (ORDER BY t.address) AS address
    FROM u JOIN c USING (id)
    JOIN ticket t ON t.id = u.tid
         AND t.created_at >= %(epoch)s::timestamptz + make_interval(secs => u.s)
         AND t.created_at < %(epoch)s::timestamptz + make_interval(secs => u.s + 1)
   WHERE t.created_at >= %(a)s AND t.created_at < %(b)s AND t.grid_code LIKE %(like)s
     AND t.category_code = c.cat
   GROUP BY c.id, c.cat
)
SELECT a.id, k.name_zh, a.n, a.first, a.last, a.grid, g.name, ST_X(g.anchor), ST_Y(g.anchor),
       a.address
  FROM agg a
  LEFT JOIN category k ON k.code = a.cat
  LEFT JOIN LATERAL (SELECT name, anchor FROM grid WHERE code = a.grid
                      ORDER BY valid_to IS NULL DESC, valid_from DESC LIMIT 1) g ON true
"""


@dataclass(frozen=True)
class Frame:
    """The scope's metric frame: current grids, and the cell side in degrees of longitude and
    latitude at their mean latitude (None when the scope has no grid)."""

    grids: int
    sx: float
    sy: float


def frame(conn: psycopg.Connection, scope: Scope, radius_m: float) -> Frame | None:
    """The cell frame of ``scope`` for cells of ``radius_m`` metres, None without grids."""
    n, lat = conn.execute(_FRAME_SQL, {"like": scope.like}).fetchone() or (0, None)
    if not n or lat is None:
        return None
    per_lon, per_lat = metres_per_degree(float(lat))
    return Frame(int(n), radius_m / per_lon, radius_m / per_lat)


_SETTINGS_SQL = (
    "SELECT current_setting('work_mem'), current_setting('parallel_setup_cost'),"
    " current_setting('parallel_tuple_cost')"
)


def _with_work_mem(conn: psycopg.Connection, query: str, params: dict[str, Any]) -> list[tuple]:
    """Run ``query`` with WORK_MEM and parallel workers encouraged, restoring the caller's
    settings after (in autocommit and inside the caller's transaction alike). The planner
    kept the grouped scan on one core; two workers decoding points cut it by a third."""
    names = ("work_mem", "parallel_setup_cost", "parallel_tuple_cost")
    values = (WORK_MEM, "10", "0.001")
    with conn.transaction():
        before = conn.execute(_SETTINGS_SQL).fetchone()
        for n, v in zip(names, values, strict=True):
            conn.execute("SELECT set_config(%s, %s, true)", (n, v))
        rows = conn.execute(query, params).fetchall()
        for n, v in zip(names, before or (), strict=True):
            conn.execute("SELECT set_config(%s, %s, true)", (n, v))
    return rows


@dataclass(frozen=True)
class Found:
    """The recurring places of a window: how many (``total``), their tickets, the largest
    ``places`` (largest first), and, when the in-memory columns found them, where their
    tickets are (``window``: place_details then reads them by primary key)."""

    total: int
    tickets: int
    places: list[Place]
    window: hotspot_columns.Window | None = None


def recurring_places(
    conn: psycopg.Connection,
    scope: Scope,
    fr: Frame,
    start: datetime,
    end: datetime,
    min_tickets: int,
    columns: Any = None,
    limit: int | None = None,
) -> Found:
    """The recurring places of ``scope`` among the tickets created in [start, end), all of
    them counted, the ``limit`` largest (all when None) listed. The cells come from the
    in-memory ticket columns when given and covering the window (hotspot_columns), else from
    one grouped scan."""
    if hotspot_columns.covers(columns, start):
        cells, window = hotspot_columns.cells(
            columns, scope.prefix, start, end, fr.sx, fr.sy, min_tickets
        )
        return Found(*merge(cells, limit), window=window)
    rows = _with_work_mem(
        conn,
        _CELLS_SQL,
        {"sx": fr.sx, "sy": fr.sy, "a": start, "b": end, "like": scope.like, "min": min_tickets},
    )
    # No ORDER BY (it turned the hash aggregate into a sort of every ticket): merge's result
    # does not depend on the order of the cells.
    return Found(*merge(_columns(rows), limit))


def _columns(rows: list[tuple]) -> CellColumns:
    """_CELLS_SQL's rows as CellColumns."""
    none = np.zeros(0, np.int64)
    if not rows:
        return CellColumns([], none, none, none, none)
    cats, cx, cy, n = zip(*rows, strict=True)
    names = sorted(set(cats))
    index = {c: i for i, c in enumerate(names)}
    return CellColumns(
        names,
        np.fromiter((index[c] for c in cats), np.int64, len(cats)),
        np.array(cx, np.int64),
        np.array(cy, np.int64),
        np.array(n, np.int64),
    )


def _by_box(places: list[Place]) -> dict[str, Any]:
    return {
        "ids": list(range(len(places))),
        "cats": [p.category for p in places],
        "x0": [min(c.cx for c in p.cells) for p in places],
        "y0": [min(c.cy for c in p.cells) for p in places],
        "x1": [max(c.cx for c in p.cells) for p in places],
        "y1": [max(c.cy for c in p.cells) for p in places],
        # text[] of bigint lists: psycopg cannot send a ragged bigint[][].
        "keys": ["{" + ",".join(str((c.cx << 32) + c.cy) for c in p.cells) + "}" for p in places],
    }


def _literal(values: np.ndarray) -> str:
    # An array literal: psycopg dumps a list of 6,500 numbers one by one (25 ms).
    return "{" + ",".join(map(str, values.tolist())) + "}"


def _by_id(places: list[Place], window: hotspot_columns.Window) -> dict[str, Any]:
    pids, tids, secs = window.tickets([[(c.category, c.cx, c.cy) for c in p.cells] for p in places])
    return {
        "ids": list(range(len(places))),
        "cats": [p.category for p in places],
        "pids": _literal(pids),
        "tids": _literal(tids),
        "secs": _literal(secs),
        "epoch": EPOCH,
    }


def place_details(
    conn: psycopg.Connection,
    scope: Scope,
    fr: Frame,
    found: Found,
    start: datetime,
    end: datetime,
) -> Callable[[], list[dict[str, Any]]]:
    """Details of the places ``found`` lists: category (code, name), count, first/last
    instant, centre (the count-weighted mean of its cells' centres, lon/lat EPSG:4326 — never
    a reported point), the grid most of its tickets carry (code, name, anchor lon/lat) and the
    most frequent address (L3: the caller masks it). A place whose tickets vanished meanwhile
    is left out. The statement is sent now and its rows read when the result is called: in a
    pipeline (Connection.pipeline) the caller works meanwhile."""
    places = found.places
    if not places:
        return list
    if found.window is not None:
        query, params = _BY_ID_SQL, _by_id(places, found.window)
    else:
        query, params = _BY_BOX_SQL, {**_by_box(places), "sx": fr.sx, "sy": fr.sy}
    params.update(a=start, b=end, like=scope.like)
    cur = conn.execute(query, params)
    return lambda: _details(fr, places, {int(r[0]): r[1:] for r in cur.fetchall()})


def _details(fr: Frame, places: list[Place], info: dict[int, tuple]) -> list[dict[str, Any]]:
    out = []
    for i, p in enumerate(places):
        if i not in info:
            continue
        cat_name, n, first, last, grid, grid_name, alon, alat, address = info[i]
        out.append(
            {
                "category": p.category,
                "category_name": cat_name or p.category,
                "count": int(n),
                "first": first,
                "last": last,
                "lon": sum((c.cx + 0.5) * c.tickets for c in p.cells) / p.tickets * fr.sx,
                "lat": sum((c.cy + 0.5) * c.tickets for c in p.cells) / p.tickets * fr.sy,
                "grid": grid,
                "grid_name": grid_name or grid,
                "anchor": None if alon is None else (float(alon), float(alat)),
                "address": address,
            }
        )
    return out
