"""The overdue board's query (超期督办榜, a rotation view of the wall; issue #10): the open
tickets of a jurisdiction in warning or overdue at ``now``, the most urgent of each group, and
the counts of all of them.

Definitions are those of the overdue layer (queries/overdue_layer.py) and the KPI ribbon:
open and not suspended; overdue = ``stage_due_at < now``; warning = ``stage_warn_at <= now <
stage_due_at``; the ladder step is ``queries.supervision.LADDER_SQL`` at ``now``.

Only public facts leave this module: ticket number, category, grid and community names, stage
code, the lead department's name and times. Tickets of a sensitive category (special
populations, disputes: ``domain.access.SENSITIVE_CATEGORY_PREFIXES``) are counted, never
listed (DOMAIN.md §7: counts only). No address, description, reporter or position.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from .overdue_layer import SENSITIVE_LIKE
from .scope import Scope
from .supervision import LADDER_SQL

# Rows per group (overdue, warning) at most: what a wall column holds at 16 px minimum text.
MAX_ROWS = 50

_BOARD_SQL = f"""
WITH o AS MATERIALIZED (
    SELECT t.id, t.ticket_no, t.category_code, t.grid_code, t.stage, t.stage_due_at,
           t.stage_due_at < %(now)s AS overdue,
           coalesce(t.category_code, '') LIKE ANY(%(sensitive)s) AS sensitive,
           ({LADDER_SQL}) AS step
      FROM ticket t
     WHERE t.state NOT IN ('closed', 'surveyed', 'rejected', 'suspended')
       AND t.grid_code LIKE %(like)s
       AND t.stage_warn_at <= %(now)s
       AND (t.stage_due_at < %(now)s OR t.stage_due_at > %(now)s)
), counts AS (
    SELECT count(*) FILTER (WHERE overdue)::int AS n_overdue,
           count(*) FILTER (WHERE NOT overdue)::int AS n_warning,
           count(*) FILTER (WHERE step = 1)::int AS n_step_1,
           count(*) FILTER (WHERE step = 2)::int AS n_step_2,
           count(*) FILTER (WHERE step = 3)::int AS n_step_3,
           count(*) FILTER (WHERE sensitive AND overdue)::int AS n_sensitive_overdue,
           count(*) FILTER (WHERE sensitive AND NOT overdue)::int AS n_sensitive_warning
      FROM o
), top AS (
    -- The most urgent of each group: worst step, then longest overdue (or soonest due).
    SELECT * FROM (
        SELECT o.*, row_number() OVER (
                   PARTITION BY o.overdue ORDER BY o.step DESC, o.stage_due_at, o.ticket_no) AS n
          FROM o WHERE NOT o.sensitive) r
     WHERE r.n <= %(limit)s
), lead AS (
    SELECT DISTINCT ON (k.ticket_id) k.ticket_id, k.department_id
      FROM ticket_task k
     WHERE k.ticket_id = ANY(ARRAY(SELECT id FROM top))
       AND k.role = 'lead' AND k.state <> 'cancelled'
     ORDER BY k.ticket_id, k.dispatched_at DESC
)
-- Counts and rows from one statement (one snapshot): the totals match the rows they sum up.
-- No ticket at all still gives the one row of counts (ticket_no NULL).
SELECT counts.*, top.ticket_no, top.overdue, top.step, top.stage, top.stage_due_at,
       coalesce(mc.name_zh, '') AS major, coalesce(c.name_zh, '') AS minor,
       coalesce(g.name, top.grid_code) AS grid_name, coalesce(g.community, '') AS community_name,
       d.name AS lead_department
  FROM counts
  LEFT JOIN top ON true
  LEFT JOIN lead ON lead.ticket_id = top.id
  LEFT JOIN department d ON d.id = lead.department_id
  LEFT JOIN category c ON c.code = top.category_code
  LEFT JOIN category mc ON mc.code = left(top.category_code, 2)
  -- One index probe per listed row (at most 2 × limit), not a hash of every grid.
  LEFT JOIN LATERAL (
      SELECT g.name, cm.name AS community
        FROM grid g
        LEFT JOIN region cm ON cm.code = g.community_code
              AND cm.valid_from <= %(now)s AND (cm.valid_to IS NULL OR cm.valid_to > %(now)s)
       WHERE g.code = top.grid_code
         AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
       LIMIT 1) g ON true
 ORDER BY top.overdue DESC, top.n
"""  # noqa: S608 - LADDER_SQL is a constant (queries.supervision); every value is bound

_COUNT_NAMES = (
    "overdue",
    "warning",
    "step_1",
    "step_2",
    "step_3",
    "sensitive_overdue",
    "sensitive_warning",
)


def board_rows(
    conn: psycopg.Connection, scope: Scope, now: datetime, limit: int = 20
) -> dict[str, Any]:
    """The board at ``now`` in ``scope``: {"overdue": [row], "warning": [row] (each the
    ``limit`` most urgent, sensitive categories left out), "counts": {"overdue", "warning"
    (all tickets, sensitive ones included), "step_1", "step_2", "step_3" (all tickets by
    ladder step), "sensitive_overdue", "sensitive_warning" (those counted, never listed)}}.
    A row: {"ticket_no", "overdue" (bool), "step" 0–3, "stage" (T1–T7 or None),
    "stage_due_at" (timestamptz), "major", "minor" (category names, "" when unknown),
    "grid_name", "community_name" ("" when unknown), "lead_department" (or None)}."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not 1 <= limit <= MAX_ROWS:
        raise ValueError(f"limit must be between 1 and {MAX_ROWS}")
    params = {"now": now, "like": scope.like, "sensitive": SENSITIVE_LIKE, "limit": limit}
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_BOARD_SQL, params).fetchall()
    counts = {k: int(rows[0][f"n_{k}"]) for k in _COUNT_NAMES} if rows else {}
    listed = [
        {k: v for k, v in r.items() if not k.startswith("n_")}
        for r in rows
        if r["ticket_no"] is not None
    ]
    return {
        "overdue": [r for r in listed if r["overdue"]],
        "warning": [r for r in listed if not r["overdue"]],
        "counts": counts or dict.fromkeys(_COUNT_NAMES, 0),
    }
