"""The regions a leader can choose on /analytics: the city, its counties, towns and communities
inside the viewer's jurisdiction (grids are the analyst workbench's level)."""

from __future__ import annotations

import psycopg

from ..scope import Scope

LEVEL_NAMES_ZH = {
    "city": "市",
    "county": "区县",
    "town": "镇街",
    "community": "社区",
    "grid": "网格",
}

_AREAS_SQL = """
SELECT code, name, level FROM region
 WHERE valid_to IS NULL AND code LIKE %(like)s
   AND level IN ('city', 'county', 'town', 'community')
 ORDER BY code
"""
_NAME_SQL = """
SELECT name, level FROM region WHERE code = %(code)s AND valid_to IS NULL
UNION ALL
SELECT name, 'grid' FROM grid WHERE code = %(code)s AND valid_to IS NULL
LIMIT 1
"""


def areas(conn: psycopg.Connection, scope: Scope) -> list[tuple[str, str, str]]:
    """(code, name, level) of the regions inside ``scope``, in code order."""
    return conn.execute(_AREAS_SQL, {"like": scope.like}).fetchall()


def area_name(conn: psycopg.Connection, scope: Scope, code: str) -> tuple[str, str] | None:
    """(name, level) of region or grid ``code`` when it lies inside ``scope``."""
    if not scope.contains(code):
        return None
    row = conn.execute(_NAME_SQL, {"code": code}).fetchone()
    return (row[0], row[1]) if row else None
