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
data (DOMAIN.md §7). Positions are the ticket points, WGS84 lon/lat. The layer
(layers/overdue.py) turns the rows into the map's GeoJSON and names stages and steps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from domain.categories import MAJOR_CODES
from domain.supervision import Step

from .scope import Scope
from .supervision import LADDER_SQL

# The lowest step shown: all (warning and worse), overdue (yellow and red) or red only.
MIN_STEPS: dict[str, int] = {"all": Step.WARNING, "overdue": Step.YELLOW, "red": Step.RED}
# Features per payload at most, worst first; the rest are counted in meta.truncated.
MAX_FEATURES = 20_000

# The ladder in SQL, so filtering by step happens before the cap. Warning or overdue implies
# stage_warn_at <= now (warn precedes due), the key of the partial index ticket_open_warn
# (migration 0004), which covers every column read here: an index-only range scan.
_OVERDUE_SQL = f"""
WITH o AS MATERIALIZED (
    SELECT x.*, count(*) OVER () AS total
      FROM (SELECT t.id, t.ticket_no, t.category_code, t.grid_code, t.stage, t.stage_due_at,
                   t.rework_count, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat,
                   ({LADDER_SQL}) AS step
              FROM ticket t
             WHERE t.state NOT IN ('closed', 'surveyed', 'rejected')
               AND t.grid_code LIKE %(like)s
               AND t.state <> 'suspended'
               AND t.stage_warn_at <= %(now)s
               AND (t.stage_due_at < %(now)s
                    OR (t.stage_warn_at <= %(now)s AND t.stage_due_at > %(now)s))
               AND left(t.category_code, 2) LIKE %(major)s) x
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
    warning or overdue at ``now``, worst step first, then earliest stage due. Each ticket:
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
    }
    with conn.transaction(), conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        rows = cur.execute(_OVERDUE_SQL, params).fetchall()
    total = rows[0]["total"] if rows else 0
    for r in rows:
        del r["total"]
    return rows, total
