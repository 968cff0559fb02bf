"""Geometry of the territory hierarchy for the map: one level at a time, in the caller's scope.

Levels (DOMAIN.md §1): county (县/区) → town (镇/街道) → community (社区/村) → grid (网格) →
micro (微网格). Region levels read ``region``, grids ``grid``, micro-grids ``micro_grid``; every
statement below is one literal chosen from an allowlist by level (no SQL is built from text).

Geometry is EPSG:4326 lon/lat, returned as WKB; only the versions valid at ``now`` are shown.
Scope: region and grid codes are filtered with ``code LIKE %(like)s`` and micro-grids by their
grid code, so a jurisdiction sees its own subtree only (levels above its own are empty).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import psycopg

from .scope import Scope

LEVELS: tuple[str, ...] = ("county", "town", "community", "grid", "micro")
REGION_LEVELS = ("county", "town", "community")

# Micro-grids of a large city (~70,000) are too many to send at once: above this count the
# micro level is sent per drill-down unit (``within``) only. Stated, not silently clamped.
MICRO_ALL_MAX = 20_000

_REGION_SQL = """
SELECT r.code, r.name, coalesce(r.parent_code, ''), ST_AsBinary(r.geom)
  FROM region r
 WHERE r.level = %(level)s AND r.code LIKE %(like)s AND r.geom IS NOT NULL
   AND r.valid_from <= %(now)s AND (r.valid_to IS NULL OR r.valid_to > %(now)s)
 ORDER BY r.code
"""

_GRID_SQL = """
SELECT g.code, g.name, g.community_code, ST_AsBinary(g.geom)
  FROM grid g
 WHERE g.code LIKE %(like)s
   AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
 ORDER BY g.code
"""

# Micro-grids in scope, optionally only those under the unit ``within`` (a grid, community,
# town or county code), resolved through the hierarchy rather than code arithmetic (the code
# rule is pluggable).
_MICRO_SQL = """
SELECT m.code, m.name, m.grid_code, ST_AsBinary(m.geom)
  FROM micro_grid m
  JOIN grid g ON g.code = m.grid_code AND g.valid_to IS NULL
  LEFT JOIN region c ON c.code = g.community_code AND c.valid_to IS NULL
  LEFT JOIN region t ON t.code = c.parent_code AND t.valid_to IS NULL
 WHERE m.grid_code LIKE %(like)s
   AND m.valid_from <= %(now)s AND (m.valid_to IS NULL OR m.valid_to > %(now)s)
   AND (%(within)s::text IS NULL
        OR %(within)s IN (g.code, g.community_code, c.parent_code, t.parent_code))
 ORDER BY m.code
"""

# The same as of a past instant: the micro-grids' grids are the versions in force then (a grid
# retired or redrawn since still holds its micro-grids of that time). Kept apart so that the
# current map's query, joined on the current grids' unique index, is unchanged.
_MICRO_ASOF_SQL = """
SELECT m.code, m.name, m.grid_code, ST_AsBinary(m.geom)
  FROM micro_grid m
  JOIN grid g ON g.code = m.grid_code
             AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
  LEFT JOIN region c ON c.code = g.community_code AND c.valid_to IS NULL
  LEFT JOIN region t ON t.code = c.parent_code AND t.valid_to IS NULL
 WHERE m.grid_code LIKE %(like)s
   AND m.valid_from <= %(now)s AND (m.valid_to IS NULL OR m.valid_to > %(now)s)
   AND (%(within)s::text IS NULL
        OR %(within)s IN (g.code, g.community_code, c.parent_code, t.parent_code))
 ORDER BY m.code
"""

_SIGNATURE_SQL = {
    "region": """
SELECT count(*), max(id), max(valid_from), max(valid_to) FROM region
 WHERE level = %(level)s AND code LIKE %(like)s""",
    "grid": """
SELECT count(*), max(id), max(valid_from), max(valid_to) FROM grid WHERE code LIKE %(like)s""",
    "micro": """
SELECT count(*), max(id), max(valid_from), max(valid_to) FROM micro_grid
 WHERE grid_code LIKE %(like)s""",
}

_COUNTS_SQL = """
SELECT r.level, count(*) FROM region r
 WHERE r.level IN ('county', 'town', 'community') AND r.code LIKE %(like)s AND r.geom IS NOT NULL
   AND r.valid_from <= %(now)s AND (r.valid_to IS NULL OR r.valid_to > %(now)s)
 GROUP BY r.level
UNION ALL
SELECT 'grid', count(*) FROM grid g
 WHERE g.code LIKE %(like)s
   AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
UNION ALL
SELECT 'micro', count(*) FROM micro_grid m
 WHERE m.grid_code LIKE %(like)s
   AND m.valid_from <= %(now)s AND (m.valid_to IS NULL OR m.valid_to > %(now)s)
"""

_EXTENT_SQL = """
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
  FROM (SELECT ST_Extent(g.geom) AS e FROM grid g
         WHERE g.code LIKE %(like)s
           AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)) x
"""

_UNIT_SQL = """
SELECT 'region' AS kind, r.level, r.code, r.name, coalesce(r.parent_code, '')
  FROM region r WHERE r.code = %(code)s AND r.valid_to IS NULL
UNION ALL
SELECT 'grid', 'grid', g.code, g.name, g.community_code
  FROM grid g WHERE g.code = %(code)s AND g.valid_to IS NULL
UNION ALL
SELECT 'micro', 'micro', m.code, m.name, m.grid_code
  FROM micro_grid m WHERE m.code = %(code)s AND m.valid_to IS NULL
LIMIT 1
"""


def _check_level(level: str) -> str:
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; known: {', '.join(LEVELS)}")
    return level


@dataclass(frozen=True)
class Unit:
    """One territorial unit of a level: code, name, parent code and WKB geometry (EPSG:4326)."""

    code: str
    name: str
    parent: str
    wkb: bytes


def level_units(
    conn: psycopg.Connection,
    scope: Scope,
    level: str,
    now: datetime,
    within: str | None = None,
    *,
    historical: bool = False,
) -> list[Unit]:
    """The units of ``level`` in scope valid at ``now``, ordered by code, with their parent's
    code and geometry as WKB (EPSG:4326 lon/lat degrees). ``within`` (micro level only) keeps
    the micro-grids under that grid/community/town/county; it must lie inside ``scope``.
    ``historical`` (a past ``now``, the map as of a date): micro-grids hang on the grid
    versions in force at ``now`` rather than the current ones."""
    _check_level(level)
    p = {"like": scope.like, "now": now, "level": level}
    if level in REGION_LEVELS:
        rows = conn.execute(_REGION_SQL, p).fetchall()
    elif level == "grid":
        rows = conn.execute(_GRID_SQL, p).fetchall()
    else:
        if within is not None and not scope.contains(within):
            raise ValueError(f"{within!r} is outside the jurisdiction")
        query = _MICRO_ASOF_SQL if historical else _MICRO_SQL
        rows = conn.execute(query, {**p, "within": within}).fetchall()
    return [Unit(code, name, parent, bytes(wkb)) for code, name, parent, wkb in rows]


def level_signature(conn: psycopg.Connection, scope: Scope, level: str) -> str:
    """A short token that changes whenever a unit version of ``level`` in scope is added or
    closed (never with ticket writes): the geometry part of the geometry URL's ``v``."""
    _check_level(level)
    table = "region" if level in REGION_LEVELS else level
    row = conn.execute(_SIGNATURE_SQL[table], {"like": scope.like, "level": level}).fetchone()
    text = json.dumps([scope.prefix, level, *(row or ())], default=str)
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def level_counts(conn: psycopg.Connection, scope: Scope, now: datetime) -> dict[str, int]:
    """{level: number of units in scope valid at ``now``} for every level (0 when none)."""
    rows = conn.execute(_COUNTS_SQL, {"like": scope.like, "now": now}).fetchall()
    out = dict.fromkeys(LEVELS, 0)
    out.update({level: int(n) for level, n in rows})
    return out


def extent(
    conn: psycopg.Connection, scope: Scope, now: datetime
) -> tuple[float, float, float, float] | None:
    """(min lon, min lat, max lon, max lat) of the grids in scope at ``now`` (EPSG:4326
    degrees), or None when the scope has no grid."""
    row = conn.execute(_EXTENT_SQL, {"like": scope.like, "now": now}).fetchone()
    if not row or row[0] is None:
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def unit_of(conn: psycopg.Connection, scope: Scope, code: str) -> dict[str, str] | None:
    """{"kind", "level", "code", "name", "parent"} of the current unit ``code`` (a region,
    grid or micro-grid), or None when it does not exist or lies outside ``scope``."""
    if not scope.contains(code):
        return None
    row = conn.execute(_UNIT_SQL, {"code": code}).fetchone()
    if not row:
        return None
    return dict(zip(("kind", "level", "code", "name", "parent"), row, strict=True))
