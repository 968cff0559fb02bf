"""The big screen's basic-data panel (grids, households, staff, online, staffing gaps, the work
calendar's notice) and the name of the jurisdiction. Codes and counts only: the dashboard names
roles, grid kinds and rules."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

import psycopg

from domain.vocabulary import STAFF_ROLES

from ..calendar import unconfirmed_years
from ..db import one
from ..scope import Scope
from ..staffing import staffing_counts
from .kpis import ONLINE_WINDOW

_GRIDS_BY_TYPE_SQL = """
SELECT grid_type, exclusive_kind, count(*)::int, coalesce(sum(households), 0)::bigint,
       coalesce(sum(population), 0)::bigint
  FROM grid g
 WHERE g.code LIKE %(like)s
   AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
 GROUP BY grid_type, exclusive_kind
"""

_MICRO_GRIDS_SQL = """
SELECT count(*) FROM micro_grid g
 WHERE g.grid_code LIKE %(like)s
   AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
"""

_STAFF_BY_ROLE_SQL = """
SELECT a.role, count(DISTINCT a.staff_id)::int
  FROM staff_assignment a JOIN staff s ON s.id = a.staff_id AND s.active
 WHERE a.grid_code LIKE %(like)s AND a.valid_from <= %(now)s
   AND (a.valid_to IS NULL OR a.valid_to > %(now)s)
 GROUP BY a.role
"""

# The few recent fixes (~2,000 on the large demo) look their worker up by key: OFFSET 0 keeps
# the lateral subquery from being flattened into a hash join that reads all ~58,000 staff rows
# on every refresh (9 -> 5 ms at any scope).
_ONLINE_BY_ROLE_SQL = """
SELECT s.role, count(*)::int
  FROM worker_last_position w
 CROSS JOIN LATERAL (SELECT role, region_code FROM staff
                      WHERE id = w.staff_id AND active OFFSET 0) s
 WHERE w.at > %(since)s AND w.on_duty
   AND coalesce(w.grid_code, s.region_code) LIKE %(like)s
 GROUP BY s.role
"""


# The local day of an instant in the session's zone (queries.db sets gridscope.timezone from
# the setting ``timezone`` on every connection), for callers that do not pass the zone.
_LOCAL_DAY_SQL = """
SELECT (%(now)s::timestamptz AT TIME ZONE coalesce(
           nullif(current_setting('gridscope.timezone', true), ''),
           current_setting('TimeZone')))::date
"""


def local_day(conn: psycopg.Connection, now: datetime, tz: tzinfo | None) -> date:
    """The local date of ``now``: in ``tz`` when given, else in the session's gridscope zone."""
    if tz is not None:
        return now.astimezone(tz).date()
    return one(conn.execute(_LOCAL_DAY_SQL, {"now": now}).fetchone())[0]


def basic_data(
    conn: psycopg.Connection, scope: Scope, now: datetime, tz: tzinfo | None = None
) -> dict[str, Any]:
    """Counts for the basic-data panel (L1 aggregates only):
    {"grids": {"comprehensive": n, "exclusive": n, "total": n, "exclusive_kinds": [{"kind",
    "count"}] (largest first)}, "micro_grids": n, "households": n, "population": n,
    "staff": [{"role", "count"}] (people assigned to current grids, by assignment role, in
    STAFF_ROLES order), "online": {"total": n, "by_role": {role: n}}, "staffing":
    {"violations": n, "notices": n, "by_rule": {rule id: n}} (queries.staffing, one statement;
    the hotline setting is not the jurisdiction's and is left out), "calendar_unconfirmed":
    [year] (work-calendar years of the next 60 days nobody confirmed)}. Days are local to
    ``tz`` (default: the session's zone, the setting ``timezone``)."""
    p = {"like": scope.like, "now": now, "since": now - ONLINE_WINDOW}
    grids = {"comprehensive": 0, "exclusive": 0, "total": 0}
    kinds: dict[str, int] = {}
    households = population = 0
    with conn.cursor() as cur:
        for gtype, kind, n, hh, pop in cur.execute(_GRIDS_BY_TYPE_SQL, p).fetchall():
            grids[gtype] = grids.get(gtype, 0) + n
            grids["total"] += n
            households += hh
            population += pop
            if kind:
                kinds[kind] = kinds.get(kind, 0) + n
        micro = one(cur.execute(_MICRO_GRIDS_SQL, p).fetchone())[0]
        staff: dict[str, int] = dict(cur.execute(_STAFF_BY_ROLE_SQL, p).fetchall())
        online: dict[str, int] = dict(cur.execute(_ONLINE_BY_ROLE_SQL, p).fetchall())
    order = list(STAFF_ROLES)
    roles = sorted(staff, key=lambda r: (order.index(r) if r in order else len(order), r))
    return {
        "grids": grids
        | {
            "exclusive_kinds": [
                {"kind": k, "count": n}
                for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
        },
        "micro_grids": int(micro),
        "households": int(households),
        "population": int(population),
        "staff": [{"role": r, "count": staff[r]} for r in roles],
        "online": {"total": sum(online.values()), "by_role": online},
        **notices(conn, scope, now, tz),
    }


def notices(
    conn: psycopg.Connection, scope: Scope, now: datetime, tz: tzinfo | None = None
) -> dict[str, Any]:
    """The panel's alerts: {"staffing": {"violations", "notices", "by_rule"},
    "calendar_unconfirmed": [year]} (see basic_data)."""
    today = local_day(conn, now, tz)
    summary = staffing_counts(conn, scope, now, today)
    return {
        "staffing": {
            "violations": summary.violations,
            "notices": summary.notices,
            "by_rule": dict(summary.by_rule),
        },
        "calendar_unconfirmed": unconfirmed_years(conn, today),
    }


_JURISDICTION_SQL = """
SELECT name FROM region WHERE code = %(code)s AND valid_to IS NULL
UNION ALL
SELECT name FROM grid WHERE code = %(code)s AND valid_to IS NULL
LIMIT 1
"""
_TOP_REGIONS_SQL = """
SELECT name FROM region
 WHERE valid_to IS NULL AND code LIKE %(like)s
   AND (parent_code IS NULL OR parent_code NOT IN (SELECT code FROM region WHERE valid_to IS NULL))
 ORDER BY code LIMIT 2
"""


def jurisdiction_name(conn: psycopg.Connection, scope: Scope) -> str | None:
    """The name of the region or grid whose code is the scope's prefix; for the empty prefix
    the single top-level region; None when there is no such unit (or several top regions)."""
    if scope.prefix:
        row = conn.execute(_JURISDICTION_SQL, {"code": scope.prefix}).fetchone()
        return row[0] if row else None
    rows = conn.execute(_TOP_REGIONS_SQL, {"like": scope.like}).fetchall()
    return rows[0][0] if len(rows) == 1 else None
