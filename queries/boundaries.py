"""The boundary history: which decisions (决定文号, ZJ 10, AR 11) changed which grids and
micro-grids, effective when, and the versions of one code.

A version's effective instant is its ``valid_from``; ``decision_no`` names the decision that
drew it (NULL for versions loaded without one: a first division, or data from before
migration 0009). Scope: grids by ``code LIKE``, micro-grids by their grid code.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from .scope import Scope

MAX_DECISIONS = 500

# One row per (effective instant, decision, layer): the versions it created, split into codes
# that had a version before (adjusted) and codes new then. A first load without a decision is
# the initial division, not an adjustment, and is left out.
_DECISIONS_SQL = """
WITH v AS (
    SELECT 'grid' AS layer, g.code, g.valid_from, g.decision_no,
           EXISTS (SELECT 1 FROM grid p WHERE p.code = g.code AND p.valid_from < g.valid_from)
               AS adjusted
      FROM grid g WHERE g.code LIKE %(like)s
    UNION ALL
    SELECT 'micro_grid', m.code, m.valid_from, m.decision_no,
           EXISTS (SELECT 1 FROM micro_grid p
                    WHERE p.code = m.code AND p.valid_from < m.valid_from)
      FROM micro_grid m WHERE m.grid_code LIKE %(like)s
)
SELECT valid_from, decision_no, layer,
       array_agg(code ORDER BY code) FILTER (WHERE adjusted) AS changed,
       array_agg(code ORDER BY code) FILTER (WHERE NOT adjusted) AS added
  FROM v
 WHERE decision_no IS NOT NULL OR adjusted
 GROUP BY valid_from, decision_no, layer
 ORDER BY valid_from DESC, decision_no, layer
 LIMIT %(limit)s
"""

_VERSIONS_SQL = """
SELECT 'grid' AS layer, code, name, community_code AS parent, valid_from, valid_to,
       decision_no, coalesce(area_m2, ST_Area(geom::geography)) AS area_m2
  FROM grid WHERE code = %(code)s AND code LIKE %(like)s
UNION ALL
SELECT 'micro_grid', code, name, grid_code, valid_from, valid_to, decision_no,
       ST_Area(geom::geography)
  FROM micro_grid WHERE code = %(code)s AND grid_code LIKE %(like)s
 ORDER BY valid_from
"""


def decisions(
    conn: psycopg.Connection, scope: Scope, limit: int = MAX_DECISIONS
) -> list[dict[str, Any]]:
    """The boundary adjustments in ``scope``, newest first (at most ``min(limit,
    MAX_DECISIONS)`` rows): {"valid_from" (the effective instant), "decision_no" (None for a
    change recorded without one), "layer" ('grid' or 'micro_grid'), "changed" (codes given a
    new version), "added" (codes new then)}."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            _DECISIONS_SQL, {"like": scope.like, "limit": max(1, min(limit, MAX_DECISIONS))}
        )
        rows = cur.fetchall()
    for r in rows:
        r["changed"] = r["changed"] or []
        r["added"] = r["added"] or []
    return rows


def versions(conn: psycopg.Connection, scope: Scope, code: str) -> list[dict[str, Any]]:
    """Every version of the grid or micro-grid ``code`` in ``scope``, oldest first: {"layer",
    "code", "name", "parent" (community or grid code), "valid_from", "valid_to" (None:
    current), "decision_no", "area_m2" (on the spheroid)}; [] when unknown or out of scope."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_VERSIONS_SQL, {"code": code, "like": scope.like})
        return cur.fetchall()
