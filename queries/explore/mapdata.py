"""The workbench map: the shapes of the units under the chosen area (the choropleth, coloured
by the summary's counts in the browser) and the filtered tickets as points, for roles that may
see residents' report locations."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from psycopg import sql

from domain.access import SENSITIVE_CATEGORY_PREFIXES
from queries.explore.where import CLOCK_SQL, View, where
from queries.scope import Scope

MAX_POINTS = 3000
# ~20 m at Jiaxing's latitude: unit outlines for a workbench map, not a survey.
SIMPLIFY_DEG = 0.0002

_SHAPES_SQL = """
SELECT code, name, level, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, %(tol)s), 6) FROM (
  SELECT r.code, r.name, r.level, r.geom FROM region r
   WHERE r.code = ANY(%(codes)s) AND r.valid_to IS NULL AND r.code LIKE %(like)s
  UNION ALL
  SELECT g.code, g.name, 'grid', g.geom FROM grid g
   WHERE g.code = ANY(%(codes)s) AND g.valid_to IS NULL AND g.code LIKE %(like)s
  UNION ALL
  SELECT m.code, m.name, 'micro', m.geom FROM micro_grid m
   WHERE m.code = ANY(%(codes)s) AND m.valid_to IS NULL AND m.code LIKE %(like)s
) u WHERE geom IS NOT NULL
"""


def shapes(conn: psycopg.Connection, scope: Scope, codes: list[str]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the current units ``codes`` in scope (simplified)."""
    feats = []
    if codes:
        rows = conn.execute(
            _SHAPES_SQL, {"codes": codes, "like": scope.like, "tol": SIMPLIFY_DEG}
        ).fetchall()
        for code, name, level, geo in rows:
            feats.append(
                {
                    "type": "Feature",
                    "id": code,
                    "properties": {"code": code, "name": name, "level": level},
                    "geometry": json.loads(geo),
                }
            )
    return {"type": "FeatureCollection", "features": feats}


def points(conn: psycopg.Connection, view: View, limit: int = MAX_POINTS) -> dict[str, Any]:
    """Up to ``limit`` filtered tickets as GeoJSON points (newest first), never those of
    sensitive categories (special populations, disputes: counts per grid only)."""
    clause, params = where(view)
    query = sql.SQL(
        "SELECT t.id, ST_X(t.geom), ST_Y(t.geom), {clock}, t.category_code FROM ticket t"
        " WHERE {where} AND NOT (t.category_code LIKE ANY(%(sensitive)s))"
        " ORDER BY t.created_at DESC LIMIT %(limit)s"
    ).format(clock=CLOCK_SQL, where=clause)
    rows = conn.execute(
        query,
        {**params, "limit": limit, "sensitive": [p + "%" for p in SENSITIVE_CATEGORY_PREFIXES]},
    ).fetchall()
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]},
                "properties": {"id": i, "clock": clock, "cat": cat},
            }
            for i, x, y, clock, cat in rows
        ],
    }


MAX_GRIDS = 3000

_GRIDS_IN_SQL = """
SELECT g.code, g.name, 'grid',
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(g.geom, %(tol)s), 6)
  FROM grid g
 WHERE g.valid_to IS NULL AND g.code LIKE %(like)s
   AND g.geom && ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326)
 ORDER BY g.code LIMIT %(limit)s
"""


def grids_in(
    conn: psycopg.Connection,
    scope: Scope,
    box: tuple[float, float, float, float],
    limit: int = MAX_GRIDS,
) -> dict[str, Any] | None:
    """The current grids in scope that the map's box (west, south, east, north) touches, as
    a GeoJSON FeatureCollection; None when more than ``limit`` would be drawn (the map stays
    on the coarser level)."""
    w, s, e, n = box
    rows = conn.execute(
        _GRIDS_IN_SQL,
        {
            "like": scope.like,
            "w": w,
            "s": s,
            "e": e,
            "n": n,
            "tol": SIMPLIFY_DEG / 4,
            "limit": limit + 1,
        },
    ).fetchall()
    if len(rows) > limit:
        return None
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": code,
                "properties": {"code": code, "name": name, "level": level},
                "geometry": json.loads(geo),
            }
            for code, name, level, geo in rows
        ],
    }
