"""The grid card: the public facts of one grid (DOMAIN.md §2, JX 15, ZJ 23, PY 13, YZ 7, AR 20)
and its measures today and this month.

Names and phone numbers of the grid's chief, workers and instructors are public by law on the
grid's notice board, but the product treats them as L3 on screens (domain.access FIELD_TIERS):
this query returns them whole and the map masks them by the viewer's tier (dashboard/map/card.py
``mask_card``), auditing the unmasked reads. Residents' data never appears here. The card is read
only for a grid inside the caller's scope. Types, kinds and roles are codes: the dashboard names
them.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

import psycopg

from domain import measures

from .scope import Scope
from .window import Window

# Roles listed by name and phone on the card, in this order; micro-grid chiefs are counted.
CARD_ROLES = ("grid_chief", "fulltime_worker", "parttime_worker", "grid_instructor")

_GRID_SQL = """
SELECT g.code, g.name, g.grid_type, g.exclusive_kind, g.households, g.population, g.area_m2,
       g.community_code, c.name, t.code, t.name
  FROM grid g
  LEFT JOIN region c ON c.code = g.community_code AND c.valid_to IS NULL
  LEFT JOIN region t ON t.code = c.parent_code AND t.valid_to IS NULL
 WHERE g.code = %(code)s AND g.code LIKE %(like)s
   AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
"""

_STAFF_SQL = """
SELECT a.role, s.name, s.phone
  FROM staff_assignment a JOIN staff s ON s.id = a.staff_id AND s.active
 WHERE a.grid_code = %(code)s
   AND a.role IN ('grid_chief', 'fulltime_worker', 'parttime_worker', 'grid_instructor')
   AND a.valid_from <= %(now)s AND (a.valid_to IS NULL OR a.valid_to > %(now)s)
 ORDER BY array_position(
            ARRAY['grid_chief', 'fulltime_worker', 'parttime_worker', 'grid_instructor'], a.role),
          s.staff_no
"""

_MICRO_SQL = """
SELECT (SELECT count(*) FROM micro_grid m
         WHERE m.grid_code = %(code)s AND m.valid_from <= %(now)s
           AND (m.valid_to IS NULL OR m.valid_to > %(now)s)),
       (SELECT count(DISTINCT a.staff_id) FROM staff_assignment a
         WHERE a.grid_code = %(code)s AND a.role = 'micro_grid_chief'
           AND a.valid_from <= %(now)s AND (a.valid_to IS NULL OR a.valid_to > %(now)s))
"""

_STATS_SQL = """
SELECT coalesce(sum(created) FILTER (WHERE day = %(today)s), 0)::int,
       coalesce(sum(closed) FILTER (WHERE day = %(today)s), 0)::int,
       coalesce(sum(created), 0)::int, coalesce(sum(closed), 0)::int,
       coalesce(sum(closed_on_time), 0)::int
  FROM stat_daily
 WHERE grid_code = %(code)s AND day BETWEEN %(month_start)s AND %(today)s
"""

_OPEN_SQL = """
SELECT count(*) FILTER (WHERE state <> 'suspended')::int,
       count(*) FILTER (WHERE state <> 'suspended' AND stage_due_at < %(now)s)::int,
       count(*) FILTER (WHERE state <> 'suspended' AND due_at < %(now)s)::int
  FROM ticket
 WHERE state NOT IN ('closed', 'surveyed', 'rejected') AND grid_code = %(code)s
"""


def _one(conn: psycopg.Connection, query: str, params: dict[str, Any]) -> tuple:
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise RuntimeError("an aggregate query without GROUP BY returned no row")
    return tuple(row)


def grid_card(
    conn: psycopg.Connection, scope: Scope, code: str, now: datetime, tz: tzinfo
) -> dict[str, Any] | None:
    """The card of grid ``code`` at ``now``, or None when it is not a current grid in scope.

    {"code", "name", "type" ('comprehensive'|'exclusive'), "kind" (exclusive kind code or
    None), "households", "population", "area_km2", "community_code", "community", "town_code",
    "town", "staff": [{"role", "name", "phone"}] (chief, full-time and part-time
    workers, instructors), "micro_grids", "micro_grid_chiefs",
    "today": {"created", "closed", "open", "overdue"},
    "month": {"created", "closed", "closed_on_time", "open_past_due", "due_to_close",
    "closure_rate", "on_time_rate"}} — rates are fractions, None when nothing was due; days
    are local days in ``tz``."""
    if not scope.contains(code):
        return None
    w = Window.at(now, tz)
    p = {
        "code": code,
        "like": scope.like,
        "now": now,
        "today": w.today,
        "month_start": w.month_start,
    }
    row = conn.execute(_GRID_SQL, p).fetchone()
    if not row:
        return None
    (
        gcode,
        name,
        gtype,
        kind,
        households,
        population,
        area_m2,
        comm_code,
        comm,
        town_code,
        town,
    ) = row
    staff = [
        {"role": role, "name": n, "phone": ph}
        for role, n, ph in conn.execute(_STAFF_SQL, p).fetchall()
    ]
    # aggregates without GROUP BY: exactly one row each
    micro_grids, micro_chiefs = _one(conn, _MICRO_SQL, p)
    created_today, closed_today, created_m, closed_m, on_time_m = _one(conn, _STATS_SQL, p)
    open_now, overdue_now, past_due = _one(conn, _OPEN_SQL, p)
    return {
        "code": gcode,
        "name": name,
        "type": gtype,
        "kind": kind or None,
        "households": int(households),
        "population": int(population),
        "area_km2": round(float(area_m2) / 1e6, 3) if area_m2 is not None else None,
        "community_code": comm_code,
        "community": comm or "",
        "town_code": town_code or "",
        "town": town or "",
        "staff": staff,
        "micro_grids": int(micro_grids),
        "micro_grid_chiefs": int(micro_chiefs),
        "today": {
            "created": created_today,
            "closed": closed_today,
            "open": open_now,
            "overdue": overdue_now,
        },
        "month": {
            "created": created_m,
            "closed": closed_m,
            "closed_on_time": on_time_m,
            "open_past_due": past_due,
            "due_to_close": closed_m + past_due,
            "closure_rate": measures.closure_rate(closed_m, past_due),
            "on_time_rate": measures.on_time_rate(on_time_m, closed_m, past_due),
        },
    }
