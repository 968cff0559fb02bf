"""The SQL of the demo's planted hotspot (gridscope/demo/hotspot_plant.py): where to plant it,
and writing the planted tickets the way the write path writes tickets (ticket row, event log,
stat_daily and stat_worker_daily counts through queries.tickets)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import psycopg

from ..bulk import get_meta, set_meta
from ..tickets.events import append_event
from ..tickets.rollup import stat_upsert, worker_upsert

META_KEY = "demo_hotspot"
# Roles whose members find problems on patrol (the demo's worker roles).
PATROL_ROLES = ("fulltime_worker", "parttime_worker", "grid_chief", "micro_grid_chief")

_ACTIVITY_SQL = """
SELECT g.code, coalesce(sum(s.created), 0)::int
  FROM grid g
  LEFT JOIN stat_daily s ON s.grid_code = g.code AND s.day BETWEEN %(a)s AND %(b)s
 WHERE g.valid_to IS NULL AND g.grid_type = 'comprehensive'
 GROUP BY g.code
 ORDER BY g.code
"""

_WORKERS_SQL = """
SELECT DISTINCT a.staff_id FROM staff_assignment a JOIN staff s ON s.id = a.staff_id
 WHERE a.grid_code = %(grid)s AND a.valid_to IS NULL AND a.role = ANY(%(roles)s) AND s.active
 ORDER BY a.staff_id
"""

_ADDRESSES_SQL = """
SELECT DISTINCT address FROM ticket
 WHERE grid_code = %(grid)s AND address IS NOT NULL ORDER BY address LIMIT 60
"""

_INSERT_SQL = """
INSERT INTO ticket (id, created_at, ticket_no, source, category_code, urgency, state, stage,
                    stage_started_at, stage_warn_at, stage_due_at, due_at, original_due_at,
                    grid_code, micro_grid_code, geom, address, description, finished_at,
                    closed_at, closed_on_time, self_resolved, updated_at)
SELECT %(id)s, %(created_at)s, %(ticket_no)s, %(source)s, %(category_code)s, %(urgency)s,
       %(state)s, %(stage)s, %(stage_started_at)s, %(stage_warn_at)s, %(stage_due_at)s,
       %(due_at)s, %(original_due_at)s, %(grid_code)s,
       (SELECT m.code FROM micro_grid m WHERE m.grid_code = %(grid_code)s
           AND m.valid_to IS NULL AND ST_Covers(m.geom, p.pt) ORDER BY m.code LIMIT 1),
       p.pt, %(address)s, %(description)s, %(finished_at)s, %(closed_at)s, %(closed_on_time)s,
       %(self_resolved)s, %(updated_at)s
  FROM (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS pt) p
"""


def grid_activity(conn: psycopg.Connection, first: date, last: date) -> list[tuple[str, int]]:
    """(code, tickets created from ``first`` to ``last``, local days) of every current
    comprehensive grid, by code."""
    return [(c, int(n)) for c, n in conn.execute(_ACTIVITY_SQL, {"a": first, "b": last})]


def grid_workers(conn: psycopg.Connection, grid_code: str) -> list[int]:
    """Staff ids of the active patrol workers assigned to ``grid_code``."""
    rows = conn.execute(_WORKERS_SQL, {"grid": grid_code, "roles": list(PATROL_ROLES)})
    return [int(r[0]) for r in rows]


def grid_addresses(conn: psycopg.Connection, grid_code: str) -> list[str]:
    """Up to 60 addresses tickets of ``grid_code`` already carry (so planted ones look alike)."""
    return [r[0] for r in conn.execute(_ADDRESSES_SQL, {"grid": grid_code})]


def next_ticket_ids(conn: psycopg.Connection, n: int) -> list[int]:
    """``n`` fresh ticket ids from the ticket sequence."""
    rows = conn.execute("SELECT nextval('ticket_id_seq') FROM generate_series(1, %s)", (n,))
    return [int(r[0]) for r in rows]


def write_tickets(
    conn: psycopg.Connection,
    tickets: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    stats: Mapping[tuple[date, str, str], Mapping[str, int]],
    worker_stats: Mapping[tuple[date, int, str], Mapping[str, int]],
) -> None:
    """Insert ticket rows (the columns of _INSERT_SQL, the point as lon/lat), their events
    (append_event's arguments by name) and add their rollup counts, in the caller's
    transaction."""
    with conn.cursor() as cur:
        cur.executemany(_INSERT_SQL, list(tickets))
        for e in events:
            append_event(cur, **e)
        for (day, grid, category), counts in sorted(stats.items()):
            stat_upsert(cur, day, grid, category, counts)
        for (day, staff, grid), counts in sorted(worker_stats.items()):
            worker_upsert(cur, day, staff, grid, counts)


def planted(conn: psycopg.Connection) -> dict | None:
    """The record of the planted hotspot when its tickets are still in the database (a reload
    empties the tickets but keeps gridscope_meta), else None."""
    meta = get_meta(conn, META_KEY)
    if not meta or not meta.get("ticket_ids"):
        return None
    lo, hi = meta["ticket_ids"]
    row = conn.execute(
        "SELECT count(*) FROM ticket WHERE id BETWEEN %s AND %s AND grid_code = %s"
        " AND category_code = %s",
        (lo, hi, meta["grid"], meta["category"]),
    ).fetchone()
    return meta if row and row[0] == meta["tickets"] else None


def record(conn: psycopg.Connection, value: dict) -> None:
    """Remember what was planted (gridscope_meta 'demo_hotspot')."""
    set_meta(conn, META_KEY, value)
