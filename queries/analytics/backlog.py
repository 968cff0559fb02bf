"""Tickets open past their handling due time at the end of a day: the stock half of 应结案数
(DOMAIN.md §5: closed in the period + open past their handling due time, suspended excluded).

A ticket is open past due at instant E when ``due_at < E <= closed_at`` (or it is still open),
it was not rejected, and it was not suspended (挂账) at E, meaning its last suspend/resume event
before E was not a suspension. The flows of a period (closed, on time …) are in stat_daily;
this stock is kept as a snapshot per local day and grid (stat_backlog_daily, the day's end),
taken after a bulk load and daily by the sweep. The current day is counted live from the open
tickets, and a past day that has no snapshot yet is counted directly at its end instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo

import psycopg

from ..scope import Scope

# Suspension spans from the event log: each suspend until the next suspend/resume event.
_SNAPSHOT_SQL = """
WITH ev AS MATERIALIZED (
    SELECT ticket_id, ticket_created_at, action, at AS s_from,
           lead(at) OVER (PARTITION BY ticket_id, ticket_created_at ORDER BY at, id) AS s_to
      FROM ticket_event
     WHERE action IN ('suspend', 'resume')
), susp AS MATERIALIZED (
    SELECT ticket_id, ticket_created_at, s_from, s_to FROM ev WHERE action = 'suspend'
), late AS MATERIALIZED (
    SELECT id, created_at, grid_code, due_at,
           CASE WHEN closed_at > due_at THEN closed_at END AS closed_at
      FROM ticket
     WHERE due_at IS NOT NULL AND (closed_at IS NULL OR closed_at > due_at)
       AND state <> 'rejected'
       AND due_at < %(last_end)s AND (closed_at IS NULL OR closed_at >= %(first_end)s)
), spans AS (
    SELECT l.*, d.day::date AS day,
           (d.day::date + 1)::timestamp AT TIME ZONE %(tz)s AS e
      FROM late l
     CROSS JOIN LATERAL generate_series(
           greatest((l.due_at AT TIME ZONE %(tz)s)::date, %(first)s::date),
           least(coalesce((l.closed_at AT TIME ZONE %(tz)s)::date, %(last)s::date),
                 %(last)s::date),
           interval '1 day') AS d(day)
)
INSERT INTO stat_backlog_daily (day, grid_code, open_past_due)
SELECT sp.day, sp.grid_code, count(*)
  FROM spans sp
 WHERE sp.due_at < sp.e AND (sp.closed_at IS NULL OR sp.closed_at >= sp.e)
   AND NOT EXISTS (SELECT 1 FROM susp s
                    WHERE s.ticket_id = sp.id AND s.ticket_created_at = sp.created_at
                      AND s.s_from < sp.e AND (s.s_to IS NULL OR s.s_to >= sp.e))
 GROUP BY 1, 2
"""

_TAKEN_SQL = """
INSERT INTO stat_backlog_day (day, taken_at)
SELECT d::date, %(now)s FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') d
ON CONFLICT (day) DO UPDATE SET taken_at = EXCLUDED.taken_at
"""

# The same stock counted at one instant straight from the tickets and the event log: for the
# live end of a period and for past days without a snapshot. The GiST index ticket_late_span
# finds the spans containing E.
_AT_SQL = """
SELECT t.grid_code, count(*)
  FROM ticket t
 WHERE tstzrange(t.due_at, CASE WHEN t.closed_at > t.due_at THEN t.closed_at END, '(]')
       @> %(at)s::timestamptz
   AND t.due_at IS NOT NULL AND (t.closed_at IS NULL OR t.closed_at > t.due_at)
   AND t.state <> 'rejected' AND t.grid_code LIKE %(like)s
   AND coalesce((SELECT s.action FROM ticket_event s
                  WHERE s.ticket_id = t.id AND s.ticket_created_at = t.created_at
                    AND s.action IN ('suspend', 'resume') AND s.at < %(at)s
                  ORDER BY s.at DESC, s.id DESC LIMIT 1), '') <> 'suspend'
 GROUP BY 1
"""

# Now: the open tickets, by state (the predicate of the partial index ticket_open).
_LIVE_SQL = """
SELECT grid_code, count(*)
  FROM ticket
 WHERE state NOT IN ('closed', 'surveyed', 'rejected') AND state <> 'suspended'
   AND due_at < %(now)s AND grid_code LIKE %(like)s
 GROUP BY 1
"""

_SNAPSHOT_READ_SQL = """
SELECT day, grid_code, open_past_due FROM stat_backlog_daily
 WHERE day = ANY(%(days)s) AND grid_code LIKE %(like)s
"""
_SNAPSHOT_SUM_SQL = """
SELECT day, sum(open_past_due)::bigint FROM stat_backlog_daily
 WHERE day = ANY(%(days)s) AND grid_code LIKE %(like)s GROUP BY day
"""


def day_end(day: date, tz: tzinfo) -> datetime:
    """The instant local ``day`` ends (the next local midnight)."""
    return datetime.combine(day + timedelta(days=1), time(), tz)


def take_snapshots(
    conn: psycopg.Connection, first: date, last: date, tz: tzinfo, now: datetime
) -> int:
    """(Re)take the snapshots of local days ``first``..``last`` (each must have ended by
    ``now``), the tickets' and the departments' tasks' (task_backlog), in the caller's
    transaction; returns the rows written."""
    if last < first:
        return 0
    if day_end(last, tz) > now:
        raise ValueError(f"day {last} has not ended at {now.isoformat()}: no snapshot yet")
    conn.execute("DELETE FROM stat_backlog_daily WHERE day BETWEEN %s AND %s", (first, last))
    params = {
        "first": first,
        "last": last,
        "first_end": day_end(first, tz),
        "last_end": day_end(last, tz),
        "tz": str(tz),
        "now": now,
    }
    cur = conn.execute(_SNAPSHOT_SQL, params)
    from . import task_backlog  # the departments' stock is taken with the tickets'

    tasks = task_backlog.write_snapshots(conn, params)
    conn.execute(_TAKEN_SQL, params)
    return cur.rowcount + tasks


def catch_up(conn: psycopg.Connection, tz: tzinfo, now: datetime, since: date) -> int:
    """Take the snapshots of the ended days after the last one taken (from ``since`` when
    none was): what the sweep runs. Returns the days taken."""
    row = conn.execute("SELECT max(day) FROM stat_backlog_day").fetchone()
    first = (row[0] + timedelta(days=1)) if row and row[0] else since
    last = now.astimezone(tz).date() - timedelta(days=1)
    if last < first:
        return 0
    take_snapshots(conn, first, last, tz, now)
    return (last - first).days + 1


def forget_from(conn: psycopg.Connection, first: date) -> int:
    """Drop the snapshots of ``first`` and every later day (tickets imported into the past
    change what was open then): those days are counted directly until the sweep's catch_up
    takes them again, in the caller's transaction; returns the days dropped."""
    conn.execute("DELETE FROM stat_backlog_daily WHERE day >= %s", (first,))
    conn.execute("DELETE FROM stat_task_backlog_daily WHERE day >= %s", (first,))
    return conn.execute("DELETE FROM stat_backlog_day WHERE day >= %s", (first,)).rowcount


def _taken(conn: psycopg.Connection, days: Sequence[date]) -> set[date]:
    rows = conn.execute(
        "SELECT day FROM stat_backlog_day WHERE day = ANY(%s)", (list(days),)
    ).fetchall()
    return {r[0] for r in rows}


def _by_grid_at(conn: psycopg.Connection, scope: Scope, at: datetime, live: bool) -> dict:
    sql_text = _LIVE_SQL if live else _AT_SQL
    rows = conn.execute(sql_text, {"like": scope.like, "at": at, "now": at}).fetchall()
    return {g: int(n) for g, n in rows}


def open_past_due_by_grid(
    conn: psycopg.Connection, scope: Scope, day: date, now: datetime, tz: tzinfo
) -> dict[str, int]:
    """Per grid of ``scope``: tickets open past due at the end of local ``day`` (at ``now``
    when the day has not ended)."""
    if day_end(day, tz) > now:
        return _by_grid_at(conn, scope, now, live=True)
    if _taken(conn, [day]):
        rows = conn.execute(_SNAPSHOT_READ_SQL, {"days": [day], "like": scope.like}).fetchall()
        return {g: int(n) for _d, g, n in rows}
    return _by_grid_at(conn, scope, day_end(day, tz), live=False)


def open_past_due_totals(
    conn: psycopg.Connection, scope: Scope, days: Sequence[date], now: datetime, tz: tzinfo
) -> list[int]:
    """For each local day of ``days``: the scope's tickets open past due at the day's end (at
    ``now`` for a day that has not ended)."""
    out: dict[date, int] = {}
    ended = [d for d in days if day_end(d, tz) <= now]
    taken = _taken(conn, ended) if ended else set()
    if taken:
        rows = conn.execute(_SNAPSHOT_SUM_SQL, {"days": sorted(taken), "like": scope.like})
        out.update({d: int(n) for d, n in rows.fetchall()})
        out.update({d: out.get(d, 0) for d in taken})
    for d in days:
        if d in out:
            continue
        live = day_end(d, tz) > now
        at = now if live else day_end(d, tz)
        out[d] = sum(_by_grid_at(conn, scope, at, live).values())
    return [out[d] for d in days]
