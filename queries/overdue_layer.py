"""The overdue-ticket layer's query: open tickets in warning or overdue (not suspended), each with
its supervision ladder step at the instant ``now`` (DOMAIN.md §4).

Open and overdue/warning use the screen's definitions verbatim (queries/screen/kpis.py): open =
the predicate of the partial index ``ticket_open``; overdue = ``stage_due_at < now``;
warning = ``stage_warn_at <= now AND stage_due_at > now``; suspended tickets are left out.

The ladder step is derived at ``now`` by ``queries.supervision.LADDER_SQL`` (the sweep's rule,
``domain.supervision.ladder_step``), not read from the stored ``supervision`` column, which
records what the centre actually issued: 1 reminder in warning, 2 yellow card overdue, 3 red
card overdue by at least the stage's whole limit or reworked twice.

Only public facts leave this module: ticket number, category and grid names (from their
tables), stage code, lead department, times. No address, description, reporter or any personal
data (DOMAIN.md §7). Positions are WGS84 lon/lat: the ticket points (``overdue_tickets``, for
roles with exact points; never tickets of a sensitive category) or each grid's stored anchor
with its counts (``overdue_by_grid``: everyone else, and sensitive categories for everyone).
The layer (layers/overdue.py) turns the rows into the map's GeoJSON and names stages and steps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from domain.access import SENSITIVE_CATEGORY_PREFIXES
from domain.categories import MAJOR_CODES
from domain.supervision import Step

from .scope import Scope
from .supervision import LADDER_SQL

# The lowest step shown: all (warning and worse), overdue (yellow and red) or red only.
MIN_STEPS: dict[str, int] = {"all": Step.WARNING, "overdue": Step.YELLOW, "red": Step.RED}
# Features per payload at most, worst first; the rest are counted in meta.truncated.
MAX_FEATURES = 20_000
# Sensitive categories (domain.access) as LIKE patterns: never a point, on any map.
SENSITIVE_LIKE = [f"{p}%" for p in SENSITIVE_CATEGORY_PREFIXES]

# The tickets on the layer: open, not suspended, in warning or overdue, of a major category.
# Warning or overdue implies stage_warn_at <= now (warn precedes due), the key of the partial
# index ticket_open_warn (migration 0004), which covers every column read here.
_OVERDUE_WHERE = """
             WHERE t.state NOT IN ('closed', 'surveyed', 'rejected')
               AND t.grid_code LIKE %(like)s
               AND t.state <> 'suspended'
               AND t.stage_warn_at <= %(now)s
               AND (t.stage_due_at < %(now)s
                    OR (t.stage_warn_at <= %(now)s AND t.stage_due_at > %(now)s))
               AND left(t.category_code, 2) LIKE %(major)s"""

# The ladder in SQL, so filtering by step happens before the cap: an index-only range scan.
_OVERDUE_SQL = f"""
WITH o AS MATERIALIZED (
    SELECT x.*, count(*) OVER () AS total
      FROM (SELECT t.id, t.ticket_no, t.category_code, t.grid_code, t.stage, t.stage_due_at,
                   t.rework_count, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat,
                   ({LADDER_SQL}) AS step
              FROM ticket t{_OVERDUE_WHERE}
               AND NOT (coalesce(t.category_code, '') LIKE ANY(%(sensitive)s))) x
     WHERE x.step >= %(min_step)s
     ORDER BY x.step DESC, x.stage_due_at, x.ticket_no
     LIMIT %(limit)s
), lead AS (
    -- One index probe per ticket through ticket_task_ticket (= ANY of an array), not a
    -- correlated subquery per row: the latest lead task that is not cancelled.
    SELECT DISTINCT ON (k.ticket_id) k.ticket_id, k.department_id
      FROM ticket_task k
     WHERE k.ticket_id = ANY(ARRAY(SELECT id FROM o))
       AND k.role = 'lead' AND k.state <> 'cancelled'
     ORDER BY k.ticket_id, k.dispatched_at DESC
)
SELECT o.ticket_no, o.lon, o.lat, o.step, o.stage, o.stage_due_at, o.rework_count,
       o.grid_code, coalesce(mc.name_zh, '') AS major, coalesce(c.name_zh, '') AS minor,
       coalesce(g.name, o.grid_code) AS grid_name, d.name AS lead_department,
       o.total::int AS total
  FROM o
  LEFT JOIN lead ON lead.ticket_id = o.id
  LEFT JOIN department d ON d.id = lead.department_id
  LEFT JOIN category c ON c.code = o.category_code
  LEFT JOIN category mc ON mc.code = left(o.category_code, 2)
  LEFT JOIN grid g ON g.code = o.grid_code
        AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
 ORDER BY o.step DESC, o.stage_due_at, o.ticket_no
"""  # noqa: S608 - LADDER_SQL is a constant (queries.supervision); every value is bound

# Counts per grid at the grid's stored anchor (latest version of the code, so retired grids
# still place their tickets): every ticket (``sensitive_only`` false) or the sensitive ones.
_BY_GRID_SQL = f"""
WITH o AS (
    SELECT x.grid_code, x.step
      FROM (SELECT t.grid_code, ({LADDER_SQL}) AS step
              FROM ticket t{_OVERDUE_WHERE}
               AND (NOT %(sensitive_only)s
                    OR coalesce(t.category_code, '') LIKE ANY(%(sensitive)s))) x
     WHERE x.step >= %(min_step)s
), c AS (
    SELECT grid_code, count(*)::int AS n,
           count(*) FILTER (WHERE step = 1)::int AS s1,
           count(*) FILTER (WHERE step = 2)::int AS s2,
           count(*) FILTER (WHERE step = 3)::int AS s3
      FROM o GROUP BY grid_code
)
SELECT c.grid_code, coalesce(p.name, c.grid_code), ST_X(p.anchor), ST_Y(p.anchor),
       c.n, c.s1, c.s2, c.s3
  FROM c
  LEFT JOIN LATERAL (SELECT g.name, g.anchor FROM grid g WHERE g.code = c.grid_code
                      ORDER BY g.valid_to IS NULL DESC, g.valid_from DESC LIMIT 1) p ON true
 ORDER BY c.grid_code
"""  # noqa: S608 - constants only (LADDER_SQL, _OVERDUE_WHERE); every value is bound


def check_options(*, major: str, min_step: str) -> None:
    """ValueError unless both options are in their allowlists."""
    if major != "all" and major not in MAJOR_CODES:
        raise ValueError(f"unknown category {major!r}; allowed: all, {', '.join(MAJOR_CODES)}")
    if min_step not in MIN_STEPS:
        raise ValueError(f"unknown step filter {min_step!r}; allowed: {', '.join(MIN_STEPS)}")


def overdue_tickets(
    conn: psycopg.Connection,
    scope: Scope,
    now: datetime,
    *,
    major: str = "all",
    min_step: str = "all",
    limit: int = MAX_FEATURES,
) -> tuple[list[dict[str, Any]], int]:
    """([ticket], total before the cap): open, not suspended tickets of the jurisdiction in
    warning or overdue at ``now``, worst step first, then earliest stage due; never a ticket
    of a sensitive category (``overdue_by_grid`` counts those). Each ticket:
    {"ticket_no", "lon", "lat", "step" 1–3, "stage" (T1–T7), "stage_due_at", "rework_count",
    "grid_code", "major", "minor" (category names, "" when unknown), "grid_name",
    "lead_department" (or None)}."""
    check_options(major=major, min_step=min_step)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not 1 <= limit <= MAX_FEATURES:
        raise ValueError(f"limit must be between 1 and {MAX_FEATURES}")
    params = {
        "now": now,
        "like": scope.like,
        "major": "%" if major == "all" else major,
        "min_step": int(MIN_STEPS[min_step]),  # a plain int: psycopg binds enums by name
        "limit": limit,
        "sensitive": SENSITIVE_LIKE,
    }
    with conn.transaction(), conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        rows = cur.execute(_OVERDUE_SQL, params).fetchall()
    total = rows[0]["total"] if rows else 0
    for r in rows:
        del r["total"]
    return rows, total


def overdue_by_grid(
    conn: psycopg.Connection,
    scope: Scope,
    now: datetime,
    *,
    major: str = "all",
    min_step: str = "all",
    sensitive_only: bool = False,
) -> list[dict[str, Any]]:
    """The same tickets as ``overdue_tickets`` (all of them, or with ``sensitive_only`` only
    those of a sensitive category) counted per grid, by grid code: [{"grid_code",
    "grid_name", "lon", "lat" (the grid's stored anchor, EPSG:4326; None when the code has
    no geometry), "count", "by_step": {1: n, 2: n, 3: n}}]. One row per grid, so no cap."""
    check_options(major=major, min_step=min_step)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    params = {
        "now": now,
        "like": scope.like,
        "major": "%" if major == "all" else major,
        "min_step": int(MIN_STEPS[min_step]),
        "sensitive_only": sensitive_only,
        "sensitive": SENSITIVE_LIKE,
    }
    with conn.transaction():
        rows = conn.execute(_BY_GRID_SQL, params).fetchall()
    return [
        {
            "grid_code": code,
            "grid_name": name,
            "lon": None if lon is None else float(lon),
            "lat": None if lat is None else float(lat),
            "count": int(n),
            "by_step": {1: int(s1), 2: int(s2), 3: int(s3)},
        }
        for code, name, lon, lat, n, s1, s2, s3 in rows
    ]
