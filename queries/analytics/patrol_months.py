"""The monthly summaries of the patrol rollups (migration 0008_analytics_patrol), rebuilt from
the daily rows (patrol_visit, stat_online_daily) by the same job (queries.analytics.
patrol_build) and read by queries.analytics.patrol_counts:

* ``patrol_micro_month``: per month and micro-grid, the days it was visited by its grid's
  workers as a bit mask (bit d − 1 for day d), so that coverage of any day range is a bit test
  instead of a DISTINCT over visits. It holds *current* micro-grids only (``prune_retired``
  drops those a grid import retired or moved), so readers need no join to micro_grid.
* ``stat_online_month``: per month and grid, the online and scheduled minutes.
"""

from __future__ import annotations

from datetime import date, timedelta

import psycopg

from ..scope import WHOLE, Scope

_DELETE_MICRO_MONTH = (
    "DELETE FROM patrol_micro_month WHERE month = %(month)s AND grid_code LIKE %(like)s"
)
_DELETE_ONLINE_MONTH = (
    "DELETE FROM stat_online_month WHERE month = %(month)s AND grid_code LIKE %(like)s"
)
_MICRO_MONTH_SQL = """
INSERT INTO patrol_micro_month (month, grid_code, micro_grid_code, days)
SELECT %(month)s, v.grid_code, v.micro_grid_code, bit_or(1 << (extract(day FROM v.day)::int - 1))
  FROM patrol_visit v
  JOIN micro_grid m ON m.code = v.micro_grid_code AND m.grid_code = v.grid_code
       AND m.valid_to IS NULL
 WHERE v.day >= %(month)s AND v.day < %(next)s AND v.grid_code LIKE %(like)s
 GROUP BY v.grid_code, v.micro_grid_code
"""
# The summary keeps current micro-grids only, so that readers need no join to micro_grid: rows
# of micro-grids a grid import retired or moved to another grid go (patrol_visit keeps them).
_PRUNE_SQL = """
DELETE FROM patrol_micro_month pm
 WHERE pm.grid_code LIKE %(like)s
   AND NOT EXISTS (SELECT 1 FROM micro_grid m
                    WHERE m.code = pm.micro_grid_code AND m.grid_code = pm.grid_code
                      AND m.valid_to IS NULL)
"""
_ONLINE_MONTH_SQL = """
INSERT INTO stat_online_month (month, grid_code, online_minutes, scheduled_minutes)
SELECT %(month)s, grid_code, sum(online_minutes), sum(scheduled_minutes)
  FROM stat_online_daily
 WHERE day >= %(month)s AND day < %(next)s AND grid_code LIKE %(like)s
 GROUP BY grid_code
"""


def prune_retired(conn: psycopg.Connection, scope: Scope = WHOLE) -> int:
    """Delete the monthly visit summaries of micro-grids that are no longer current in the
    grid they were visited for (after a grid import); returns how many. Does not commit. The
    sweep runs it with the rollups; readers cap a grid's visited count at its micro-grids
    until then."""
    return conn.execute(_PRUNE_SQL, {"like": scope.like}).rowcount


def refresh_months(conn: psycopg.Connection, months: list[date], scope: Scope = WHOLE) -> None:
    """Rebuild the monthly summaries (``patrol_micro_month``, ``stat_online_month``) of
    ``months`` (first days) for the grids of ``scope`` from the daily rollups. Does not
    commit."""
    for month in months:
        nxt = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        params = {"month": month, "next": nxt, "like": scope.like}
        conn.execute(_DELETE_MICRO_MONTH, params)
        conn.execute(_DELETE_ONLINE_MONTH, params)
        conn.execute(_MICRO_MONTH_SQL, params)
        conn.execute(_ONLINE_MONTH_SQL, params)
