"""The big screen's KPI ribbon: today's and this month's counts, live open-ticket counts and
workers online (DOMAIN.md §5–6). Raw counts and fractions only; labels are the dashboard's."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from domain import measures

from ..db import one
from ..scope import Scope
from ..window import Window
from .open_tickets import OpenCounts, open_counts
from .sources import Sources, days_list, sources_for

# A worker is online when the last fix is this recent and the worker is on duty.
ONLINE_WINDOW = timedelta(minutes=10)

# Month-to-date sums of the scope's daily rows (queries.screen.sources: a coarse rollup when
# the scope is a whole region, stat_daily otherwise).
_KPI_ROLLUP_SQL = sql.SQL(
    """
SELECT coalesce(sum(s.created) FILTER (WHERE s.day = %(today)s), 0)       AS created_today,
       coalesce(sum(s.reported) FILTER (WHERE s.day = %(today)s), 0)      AS reported_today,
       coalesce(sum(s.self_resolved) FILTER (WHERE s.day = %(today)s), 0) AS self_resolved_today,
       coalesce(sum(s.closed) FILTER (WHERE s.day = %(today)s), 0)        AS closed_today,
       coalesce(sum(s.created), 0)        AS created_mtd,
       coalesce(sum(s.closed), 0)         AS closed_mtd,
       coalesce(sum(s.closed_on_time), 0) AS closed_on_time_mtd,
       coalesce(sum(s.reworked), 0)       AS reworked_mtd
  FROM {daily} AND s.day = ANY(%(days)s)
"""
)

# Workers are looked up by key for the few recent fixes (see basic._ONLINE_BY_ROLE_SQL).
_WORKERS_ONLINE_SQL = """
SELECT count(*)
  FROM worker_last_position w
 CROSS JOIN LATERAL (SELECT region_code FROM staff
                      WHERE id = w.staff_id AND active OFFSET 0) s
 WHERE w.at > %(since)s AND w.on_duty
   AND coalesce(w.grid_code, s.region_code) LIKE %(like)s
"""

_GRID_COUNT_SQL = """
SELECT count(*) FROM grid g
 WHERE g.code LIKE %(like)s
   AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
"""


def workers_online(conn: psycopg.Connection, scope: Scope, now: datetime) -> int:
    """Workers whose last fix is within ONLINE_WINDOW before ``now`` and who are on duty."""
    row = conn.execute(
        _WORKERS_ONLINE_SQL, {"like": scope.like, "since": now - ONLINE_WINDOW, "now": now}
    ).fetchone()
    return int(row[0]) if row else 0


def kpis(
    conn: psycopg.Connection,
    scope: Scope,
    now: datetime,
    tz: tzinfo,
    *,
    sources: Sources | None = None,
    open_now: OpenCounts | None = None,
    grids: int | None = None,
    online: int | None = None,
) -> dict[str, Any]:
    """The KPI ribbon as raw counts plus month-to-date rates (None when nothing was due).

    Keys: created_today, reported_today, self_resolved_today, closed_today (local day in ``tz``,
    from the daily rollups); in_progress (open, not suspended), overdue (open, not suspended,
    stage due before ``now``), warning (not suspended, stage warn time passed, not yet due),
    suspended, open_past_due (open, not suspended, handling due_at before ``now``); created_mtd,
    closed_mtd, closed_on_time_mtd, reworked_mtd, due_to_close_mtd = closed_mtd + open_past_due;
    closure_rate, on_time_rate, rework_rate, composite (fractions 0–1, composite 0–100);
    workers_online; grids (current grids in scope); today and month_start (ISO dates).

    build_screen passes what other panels already counted (the scope's ``sources``, the open
    tickets ``open_now``, the current ``grids`` and the workers ``online``); each is counted
    here when not given.
    """
    w = Window.at(now, tz)
    sources = sources or sources_for(conn, scope)
    days = days_list(w.month_start, w.today)
    p = sources.params(scope) | {"today": w.today, "days": days, "now": now}
    with conn.cursor(row_factory=dict_row) as cur:
        rollup = one(cur.execute(_KPI_ROLLUP_SQL.format(daily=sources.daily), p).fetchone())
    live = (open_now or open_counts(conn, scope, now)).totals
    if grids is None:
        grids = one(conn.execute(_GRID_COUNT_SQL, p).fetchone())[0]
    out: dict[str, Any] = {k: int(v) for k, v in (rollup | live).items()}
    closed, past_due = out["closed_mtd"], out["open_past_due"]
    out["due_to_close_mtd"] = closed + past_due
    out["closure_rate"] = measures.closure_rate(closed, past_due)
    out["on_time_rate"] = measures.on_time_rate(out["closed_on_time_mtd"], closed, past_due)
    out["rework_rate"] = measures.rate(out["reworked_mtd"], closed)
    out["composite"] = measures.composite_score(
        out["closure_rate"], out["on_time_rate"], out["rework_rate"]
    )
    out["workers_online"] = workers_online(conn, scope, now) if online is None else online
    out["grids"] = int(grids)
    out["today"] = w.today.isoformat()
    out["month_start"] = w.month_start.isoformat()
    return out
