"""Reference lists for the workbench's filter controls, all inside the caller's scope: units
of the jurisdiction tree (children of a unit, search by name or code, the path from the
jurisdiction down to a unit), categories, lead departments and the source systems' own types."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from queries.scope import Scope

_CHILDREN_SQL = """
SELECT r.code, r.name, r.level FROM region r
 WHERE r.parent_code = %(area)s AND r.valid_to IS NULL AND r.code LIKE %(like)s
UNION ALL
SELECT g.code, g.name, 'grid' FROM grid g
 WHERE g.community_code = %(area)s AND g.valid_to IS NULL AND g.code LIKE %(like)s
UNION ALL
SELECT m.code, m.name, 'micro' FROM micro_grid m
 WHERE m.grid_code = %(area)s AND m.valid_to IS NULL AND m.code LIKE %(like)s
ORDER BY 1
"""

# The top of a jurisdiction: the regions in scope whose parent is not in scope.
_TOP_SQL = """
SELECT r.code, r.name, r.level FROM region r
 WHERE r.valid_to IS NULL AND r.code LIKE %(like)s
   AND NOT EXISTS (SELECT 1 FROM region p WHERE p.code = r.parent_code
                     AND p.valid_to IS NULL AND p.code LIKE %(like)s)
ORDER BY 1
"""

_SEARCH_SQL = """
SELECT code, name, level FROM (
  SELECT r.code, r.name, r.level, 0 AS rank FROM region r
   WHERE r.valid_to IS NULL AND r.code LIKE %(like)s
     AND (r.code LIKE %(code)s OR r.name LIKE %(name)s)
  UNION ALL
  SELECT g.code, g.name, 'grid', 1 FROM grid g
   WHERE g.valid_to IS NULL AND g.code LIKE %(like)s
     AND (g.code LIKE %(code)s OR g.name LIKE %(name)s)
  UNION ALL
  SELECT m.code, m.name, 'micro', 2 FROM micro_grid m
   WHERE m.valid_to IS NULL AND m.code LIKE %(like)s
     AND (m.code LIKE %(code)s OR m.name LIKE %(name)s)
) u ORDER BY rank, length(code), code LIMIT %(limit)s
"""

_NAMES_SQL = """
SELECT r.code, r.name, r.level FROM region r
 WHERE r.code = ANY(%(codes)s) AND r.valid_to IS NULL AND r.code LIKE %(like)s
UNION ALL
SELECT g.code, g.name, 'grid' FROM grid g
 WHERE g.code = ANY(%(codes)s) AND g.valid_to IS NULL AND g.code LIKE %(like)s
UNION ALL
SELECT m.code, m.name, 'micro' FROM micro_grid m
 WHERE m.code = ANY(%(codes)s) AND m.valid_to IS NULL AND m.code LIKE %(like)s
"""


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def children(conn: psycopg.Connection, scope: Scope, area: str) -> list[tuple[str, str, str]]:
    """(code, name, level) of the units directly under ``area`` in scope; under '' the top
    units of the jurisdiction (or its own children when the jurisdiction is itself a unit)."""
    p = {"like": scope.like}
    if area:
        return conn.execute(_CHILDREN_SQL, {**p, "area": area}).fetchall()
    rows = []
    if scope.prefix:
        rows = conn.execute(_CHILDREN_SQL, {**p, "area": scope.prefix}).fetchall()
    if not rows:
        rows = conn.execute(_TOP_SQL, p).fetchall()
    # A jurisdiction with one top unit (the city of a city-wide deployment) opens on the
    # level below it: a list of one says nothing.
    for _ in range(3):
        if len(rows) != 1:
            break
        below = conn.execute(_CHILDREN_SQL, {**p, "area": rows[0][0]}).fetchall()
        if not below:
            break
        rows = below
    return rows


def search(
    conn: psycopg.Connection, scope: Scope, text: str, limit: int = 30
) -> list[tuple[str, str, str]]:
    """Units in scope whose code starts with ``text`` or whose name contains it."""
    text = text.strip()[:40]
    if not text:
        return []
    return conn.execute(
        _SEARCH_SQL,
        {
            "like": scope.like,
            "code": _escape(text) + "%",
            "name": "%" + _escape(text) + "%",
            "limit": limit,
        },
    ).fetchall()


def names(conn: psycopg.Connection, scope: Scope, codes: list[str]) -> dict[str, tuple[str, str]]:
    """{code: (name, level)} of the current units among ``codes`` in scope."""
    if not codes:
        return {}
    rows = conn.execute(_NAMES_SQL, {"codes": codes, "like": scope.like}).fetchall()
    return {code: (name, level) for code, name, level in rows}


def path(conn: psycopg.Connection, scope: Scope, area: str) -> list[tuple[str, str, str]]:
    """The units from the jurisdiction's own level down to ``area`` (breadcrumbs), each a
    prefix of the next; only units inside scope."""
    if not area:
        return []
    prefixes = sorted({area[:n] for n in range(len(scope.prefix) or 1, len(area) + 1)}, key=len)
    found = names(conn, scope, prefixes)
    return [(c, *found[c]) for c in prefixes if c in found]


def categories(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """The item list (admitted and withdrawn: old tickets keep withdrawn categories), majors
    before their minors."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT code, name_zh, parent_code, admitted FROM category"
            " ORDER BY coalesce(parent_code, code), parent_code IS NOT NULL, sort_order, code"
        )
        return [{"code": c, "name": n, "parent": p, "admitted": a} for c, n, p, a in cur.fetchall()]


def departments(conn: psycopg.Connection, ids: list[int]) -> dict[int, str]:
    """{id: name} of departments among ``ids`` (facet labels; department names are public)."""
    if not ids:
        return {}
    rows = conn.execute(
        "SELECT id, name FROM department WHERE id = ANY(%(ids)s)", {"ids": ids}
    ).fetchall()
    return {int(i): n for i, n in rows}


def grid_ancestors(
    conn: psycopg.Connection, scope: Scope, grids: list[str], at: datetime | None = None
) -> dict[str, str]:
    """{grid code: community code} of the current grids among ``grids`` (tickets keep the grid
    they were filed in; a grid closed since then still rolls up by its last community)."""
    if not grids:
        return {}
    rows = conn.execute(
        "SELECT DISTINCT ON (code) code, community_code FROM grid"
        " WHERE code = ANY(%(grids)s) AND code LIKE %(like)s ORDER BY code, valid_from DESC",
        {"grids": grids, "like": scope.like},
    ).fetchall()
    return dict(rows)
