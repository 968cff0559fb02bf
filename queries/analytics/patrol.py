"""The patrol panel of /analytics (巡查, issue #12): per grid of the jurisdiction, the share of
its current micro-grids visited by its workers over the period (巡查覆盖率) and the minutes its
workers were online on duty against their scheduled minutes (在线率), read from the rollups
that queries.analytics.patrol_build writes (definitions there and in docs/analytics-patrol.md).

A period in which the rollups recorded nothing for the scope (no scheduled worker, no visit:
before the history began, or the rollup never ran) has no coverage: its counts carry
``micro_grids = 0`` so that ``domain.measures.derive`` gives None ("—"), never 0 %.
"""

from __future__ import annotations

from typing import Any

import psycopg

from domain.measures import rate

from ..scope import Scope
from .patrol_build import PATROL_ROLES
from .patrol_counts import COUNT_KEYS, grid_counts, has_rollup, patrol_counts, patrol_counts_many
from .query import Query

__all__ = ["COUNT_KEYS", "compute", "patrol_counts", "patrol_counts_many"]

# The panel ranks the grids furthest behind; the export carries every grid.
RANK_ROWS = 30
WORST_ROWS = 10
# Region code lengths from the city down to the community: the summary groups grids by the
# first of these below the scope that splits it.
AREA_LEVELS = (4, 6, 9, 12)

# The scope's current grids with their community's name and current patrol workers.
_GRIDS_SQL = """
SELECT g.code, g.name, coalesce(c.name, g.community_code), coalesce(w.n, 0)
  FROM grid g
  LEFT JOIN region c ON c.code = g.community_code AND c.valid_to IS NULL
  LEFT JOIN (SELECT a.grid_code, count(DISTINCT a.staff_id)::int AS n
               FROM staff_assignment a JOIN staff s ON s.id = a.staff_id AND s.active
              WHERE a.valid_to IS NULL AND a.role = ANY(%(roles)s) AND a.grid_code LIKE %(like)s
              GROUP BY a.grid_code) w ON w.grid_code = g.code
 WHERE g.valid_to IS NULL AND g.code LIKE %(like)s
 ORDER BY g.code
"""

_AREA_NAMES_SQL = """
SELECT code, name FROM region WHERE valid_to IS NULL AND code = ANY(%(codes)s)
"""


def _grid_row(meta: tuple, counts: tuple, has_data: bool) -> dict[str, Any]:
    code, name, community, workers = meta
    n, visited, online, sched = counts
    return {
        "code": code,
        "name": name,
        "community": community,
        "micro_grids": int(n),
        "visited": int(visited),
        "coverage": rate(visited, n) if has_data else None,
        "online_minutes": int(online),
        "scheduled_minutes": int(sched),
        "online_rate": rate(online, sched),
        "workers": int(workers),
    }


def _sort_key(g: dict[str, Any]) -> tuple:
    """Furthest behind first: lowest coverage, then lowest online rate; no value last."""
    cov, onl = g["coverage"], g["online_rate"]
    return (cov is None, cov or 0.0, onl is None, onl or 0.0, g["code"])


def _area_level(scope: Scope, codes: list[str]) -> int | None:
    """The first region level below the scope whose codes split the scope's grids."""
    for n in AREA_LEVELS:
        if n > len(scope.prefix) and len({c[:n] for c in codes}) > 1:
            return n
    return None


def _areas(conn: psycopg.Connection, scope: Scope, grids: list[dict], has_data: bool) -> list:
    level = _area_level(scope, [g["code"] for g in grids])
    if level is None:
        return []
    acc: dict[str, list[int]] = {}
    for g in grids:
        a = acc.setdefault(g["code"][:level], [0, 0, 0, 0, 0])
        a[0] += 1
        for i, k in enumerate(("micro_grids", "visited", "online_minutes", "scheduled_minutes")):
            a[i + 1] += g[k]
    names: dict[str, str] = dict(conn.execute(_AREA_NAMES_SQL, {"codes": list(acc)}).fetchall())
    out = [
        {
            "code": code,
            "name": names.get(code, code),
            "grids": count,
            "micro_grids": n,
            "visited": visited,
            "coverage": rate(visited, n) if has_data else None,
            "online_minutes": online,
            "scheduled_minutes": sched,
            "online_rate": rate(online, sched),
        }
        for code, (count, n, visited, online, sched) in acc.items()
    ]
    return sorted(out, key=_sort_key)


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100.0 * x, 1)


def _tables(grids: list[dict], areas: list[dict]) -> dict[str, Any]:
    tables: dict[str, Any] = {
        "patrol_grids": {
            "title": "网格巡查覆盖率与在线率",
            "columns": [
                ["code", "网格编码"],
                ["name", "网格"],
                ["community", "社区"],
                ["micro_grids", "微网格数"],
                ["visited", "巡查到访微网格数"],
                ["coverage", "巡查覆盖率(%)"],
                ["workers", "网格员数"],
                ["online_minutes", "在岗在线分钟"],
                ["scheduled_minutes", "排班分钟"],
                ["online_rate", "在线率(%)"],
            ],
            "rows": [
                [
                    g["code"],
                    g["name"],
                    g["community"],
                    g["micro_grids"],
                    g["visited"],
                    _pct(g["coverage"]),
                    g["workers"],
                    g["online_minutes"],
                    g["scheduled_minutes"],
                    _pct(g["online_rate"]),
                ]
                for g in grids
            ],
        }
    }
    if areas:
        tables["patrol_areas"] = {
            "title": "下级区域巡查覆盖率与在线率",
            "columns": [
                ["code", "区划编码"],
                ["name", "区域"],
                ["grids", "网格数"],
                ["micro_grids", "微网格数"],
                ["visited", "巡查到访微网格数"],
                ["coverage", "巡查覆盖率(%)"],
                ["online_minutes", "在岗在线分钟"],
                ["scheduled_minutes", "排班分钟"],
                ["online_rate", "在线率(%)"],
            ],
            "rows": [
                [
                    a["code"],
                    a["name"],
                    a["grids"],
                    a["micro_grids"],
                    a["visited"],
                    _pct(a["coverage"]),
                    a["online_minutes"],
                    a["scheduled_minutes"],
                    _pct(a["online_rate"]),
                ]
                for a in areas
            ],
        }
    return tables


def compute(conn: psycopg.Connection, q: Query) -> dict[str, Any]:
    """The patrol panel for ``q``'s scope and period (local days, the period cut at today).

    Returns {"period", "first_day", "last_day", "has_data", "totals" (the four counts of
    ``COUNT_KEYS`` plus "coverage", "online_rate" (0–1 or None), "grids",
    "micro_grids_current"),
    "ranked" (up to RANK_ROWS grids, furthest behind first), "worst" (WORST_ROWS of them),
    "areas" (the level below the scope, furthest behind first), "targets" (configured
    targets of the two measures), "tables"}. Grid rows:
    code, name, community, micro_grids, visited, coverage, online_minutes, scheduled_minutes,
    online_rate, workers. Rates are fractions, None when undefined ("—")."""
    first, last = q.days
    has_data = has_rollup(conn, q.scope, first, last)
    per_grid = grid_counts(conn, q.scope, first, last)
    meta = conn.execute(_GRIDS_SQL, {"like": q.scope.like, "roles": list(PATROL_ROLES)}).fetchall()
    # Rows of grids retired since are left out: coverage is against today's grids.
    grids = [_grid_row(m, per_grid.get(m[0], (0, 0, 0, 0)), has_data) for m in meta]
    ranked = sorted(grids, key=_sort_key)
    areas = _areas(conn, q.scope, grids, has_data)
    # The scope's counts are the sums over its grids (a micro-grid belongs to one grid); they
    # equal patrol_counts() for the same period, which tests hold them to.
    counts = {
        "micro_grids_visited": sum(g["visited"] for g in grids),
        "micro_grids": sum(g["micro_grids"] for g in grids) if has_data else 0,
        "online_minutes": sum(g["online_minutes"] for g in grids),
        "scheduled_minutes": sum(g["scheduled_minutes"] for g in grids),
    }
    totals = {
        **counts,
        "coverage": rate(counts["micro_grids_visited"], counts["micro_grids"]),
        "online_rate": rate(counts["online_minutes"], counts["scheduled_minutes"]),
        "grids": len(grids),
        # Shown even for a period without data (micro_grids is then 0: "—", not 0 %).
        "micro_grids_current": sum(g["micro_grids"] for g in grids),
    }
    targets = q.settings.analytics_targets
    return {
        "period": q.period.key,
        "targets": {k: targets[k] for k in ("patrol_coverage", "online_rate") if k in targets},
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "has_data": has_data,
        "totals": totals,
        "ranked": ranked[:RANK_ROWS],
        "worst": ranked[:WORST_ROWS],
        "areas": areas,
        "tables": _tables(ranked, areas),
    }
