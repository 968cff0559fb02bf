"""The big screen's town ranking: towns of the jurisdiction by month-to-date composite score
(``domain.measures``), from the rollups and the live open tickets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

import psycopg
from psycopg import sql

from domain import measures

from ..scope import Scope
from ..window import Window
from .open_tickets import OpenCounts, open_counts
from .sources import Sources, days_list, sources_for

# Ranking lists longer than this show the leaders and the last three (leaders ask for both).
RANKING_MAX_ROWS = 10

# Towns come from the hierarchy (grid -> community -> town), not from code arithmetic, because
# the code rule is pluggable. Grids are joined through their latest version, so a grid retired
# this month still counts for its town. Month-to-date flows are summed per community from the
# per-community rollup when the scope is a whole region (its grid -> community map is the same
# latest version's; ~1,200 rows a day for the large demo's city instead of ~19,000) and per grid
# from stat_daily otherwise, each materialized before the join so the planner aggregates once
# and hash-joins (a nested loop over re-run aggregates took minutes on 'city'). The tickets
# open past due come counted per grid (queries.screen.open_tickets) as two arrays.
_TOWN_RANKING_SQL = sql.SQL(
    """
WITH town_of AS MATERIALIZED (
    SELECT DISTINCT ON (g.code) g.code AS grid_code, g.community_code, t.code AS town_code,
           t.name AS town_name
      FROM grid g
      JOIN region c ON c.code = g.community_code AND c.valid_to IS NULL
      JOIN region t ON t.code = c.parent_code AND t.valid_to IS NULL AND t.level = 'town'
     WHERE g.code LIKE %(like)s
     ORDER BY g.code, g.valid_from DESC
), flows AS MATERIALIZED (
    {flows}
), late AS (
    SELECT o.town_code, sum(l.n) AS past_due
      FROM unnest(%(late_grids)s::text[], %(late_counts)s::int[]) AS l(grid_code, n)
      JOIN town_of o ON o.grid_code = l.grid_code
     GROUP BY o.town_code
)
SELECT t.town_code, t.town_name, coalesce(f.closed, 0)::int, coalesce(f.on_time, 0)::int,
       coalesce(f.reworked, 0)::int, coalesce(l.past_due, 0)::int
  FROM (SELECT DISTINCT town_code, town_name FROM town_of) t
  LEFT JOIN flows f ON f.town_code = t.town_code
  LEFT JOIN late l ON l.town_code = t.town_code
"""
)
_COMMUNITY_FLOWS = sql.SQL(
    """SELECT m.town_code, sum(s.closed) AS closed, sum(s.on_time) AS on_time,
           sum(s.reworked) AS reworked
      FROM (SELECT area_code, sum(closed) AS closed, sum(closed_on_time) AS on_time,
                   sum(reworked) AS reworked
              FROM stat_area_daily
             WHERE level = 'community' AND day = ANY(%(days)s) AND area_code LIKE %(like)s
             GROUP BY area_code) s
      JOIN (SELECT DISTINCT community_code, town_code FROM town_of) m
        ON m.community_code = s.area_code
     GROUP BY m.town_code"""
)
_GRID_FLOWS = sql.SQL(
    """SELECT o.town_code, sum(s.closed) AS closed, sum(s.on_time) AS on_time,
           sum(s.reworked) AS reworked
      FROM (SELECT grid_code, sum(closed) AS closed, sum(closed_on_time) AS on_time,
                   sum(reworked) AS reworked
              FROM stat_daily
             WHERE day = ANY(%(days)s) AND grid_code LIKE %(like)s
             GROUP BY grid_code) s
      JOIN town_of o ON o.grid_code = s.grid_code
     GROUP BY o.town_code"""
)


def rank_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows sorted by composite score (None last), ties by on-time rate, then code; adds "rank"
    (equal score and on-time rate share a rank)."""

    def key(r: dict[str, Any]) -> tuple:
        c, t = r["composite"], r["on_time_rate"]
        return (c is None, -(c or 0.0), t is None, -(t or 0.0), r["code"])

    ranked = sorted(rows, key=key)
    prev, rank = None, 0
    for i, r in enumerate(ranked, start=1):
        sig = (r["composite"], r["on_time_rate"])
        if sig != prev:
            rank, prev = i, sig
        r["rank"] = rank
    return ranked


def town_ranking(
    conn: psycopg.Connection,
    scope: Scope,
    now: datetime,
    tz: tzinfo,
    *,
    sources: Sources | None = None,
    open_now: OpenCounts | None = None,
) -> list[dict[str, Any]]:
    """Towns in scope ranked month-to-date by composite score (measures.composite_score),
    ties by on-time rate: [{"rank", "code", "name", "closed", "closed_on_time", "reworked",
    "open_past_due", "due_to_close", "closure_rate", "on_time_rate", "rework_rate",
    "composite"}]; rates are fractions or None when nothing was due. build_screen passes the
    scope's ``sources`` and the open tickets ``open_now`` it counted for the KPI ribbon."""
    w = Window.at(now, tz)
    sources = sources or sources_for(conn, scope)
    late = (open_now or open_counts(conn, scope, now)).past_due_by_grid
    query = _TOWN_RANKING_SQL.format(flows=_COMMUNITY_FLOWS if sources.area else _GRID_FLOWS)
    p = {
        "like": scope.like,
        "days": days_list(w.month_start, w.today),
        "late_grids": list(late),
        "late_counts": list(late.values()),
    }
    out = []
    for code, name, closed, on_time, reworked, past_due in conn.execute(query, p).fetchall():
        closure = measures.closure_rate(closed, past_due)
        on_time_r = measures.on_time_rate(on_time, closed, past_due)
        rework = measures.rate(reworked, closed)
        out.append(
            {
                "code": code,
                "name": name,
                "closed": closed,
                "closed_on_time": on_time,
                "reworked": reworked,
                "open_past_due": past_due,
                "due_to_close": closed + past_due,
                "closure_rate": closure,
                "on_time_rate": on_time_r,
                "rework_rate": rework,
                "composite": measures.composite_score(closure, on_time_r, rework),
            }
        )
    return rank_rows(out)
