"""The big screen's town ranking: towns of the jurisdiction by month-to-date composite score
(``domain.measures``), from the rollups and the live open tickets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

import psycopg

from domain import measures

from ..scope import Scope
from ..window import Window

# Ranking lists longer than this show the leaders and the last three (leaders ask for both).
RANKING_MAX_ROWS = 10

# Towns come from the hierarchy (grid -> community -> town), not from code arithmetic, because
# the code rule is pluggable. Grids are joined through their latest version, so a grid retired
# this month still counts for its town. Per-grid sums are materialized first so the planner
# aggregates once and hash-joins (a nested loop over re-run aggregates took minutes on 'city').
# Open tickets: the predicate of the partial index ticket_open, verbatim.
_TOWN_RANKING_SQL = """
WITH s AS MATERIALIZED (
    SELECT grid_code, sum(closed) AS closed, sum(closed_on_time) AS on_time,
           sum(reworked) AS reworked
      FROM stat_daily
     WHERE day BETWEEN %(month_start)s AND %(today)s AND grid_code LIKE %(like)s
     GROUP BY grid_code
), o AS MATERIALIZED (
    SELECT grid_code, count(*) AS past_due
      FROM ticket
     WHERE state NOT IN ('closed', 'surveyed', 'rejected') AND grid_code LIKE %(like)s
       AND state <> 'suspended' AND due_at < %(now)s
     GROUP BY grid_code
), per_grid AS MATERIALIZED (
    SELECT coalesce(s.grid_code, o.grid_code) AS grid_code, coalesce(s.closed, 0) AS closed,
           coalesce(s.on_time, 0) AS on_time, coalesce(s.reworked, 0) AS reworked,
           coalesce(o.past_due, 0) AS past_due
      FROM s FULL JOIN o ON o.grid_code = s.grid_code
), town_of AS MATERIALIZED (
    SELECT DISTINCT ON (g.code) g.code AS grid_code, t.code AS town_code, t.name AS town_name
      FROM grid g
      JOIN region c ON c.code = g.community_code AND c.valid_to IS NULL
      JOIN region t ON t.code = c.parent_code AND t.valid_to IS NULL AND t.level = 'town'
     WHERE g.code LIKE %(like)s
     ORDER BY g.code, g.valid_from DESC
)
SELECT t.town_code, t.town_name,
       coalesce(sum(p.closed), 0)::int, coalesce(sum(p.on_time), 0)::int,
       coalesce(sum(p.reworked), 0)::int, coalesce(sum(p.past_due), 0)::int
  FROM town_of t
  LEFT JOIN per_grid p ON p.grid_code = t.grid_code
 GROUP BY t.town_code, t.town_name
"""


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
    conn: psycopg.Connection, scope: Scope, now: datetime, tz: tzinfo
) -> list[dict[str, Any]]:
    """Towns in scope ranked month-to-date by composite score (measures.composite_score),
    ties by on-time rate: [{"rank", "code", "name", "closed", "closed_on_time", "reworked",
    "open_past_due", "due_to_close", "closure_rate", "on_time_rate", "rework_rate",
    "composite"}]; rates are fractions or None when nothing was due."""
    w = Window.at(now, tz)
    p = {"like": scope.like, "today": w.today, "month_start": w.month_start, "now": now}
    out = []
    for code, name, closed, on_time, reworked, past_due in conn.execute(
        _TOWN_RANKING_SQL, p
    ).fetchall():
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
