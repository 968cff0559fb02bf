"""The big screen's ticker: the newest open alerts (urgent, overdue or under supervision).
Public facts and codes only (DOMAIN.md §7); the dashboard names states, stages and steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from ..db import generic_plans
from ..scope import Scope

TICKER_LIMIT = 20

# Newest alerts first: an alert is "new" when the ticket was created urgent, when its stage
# went overdue, or when supervision last changed it (updated_at). The newest N by that latest
# moment are among the newest N of each kind (a ticket ahead of one in the result is ahead of
# it in the list of the kind that gives its moment, ties broken by number in both), so three
# ordered scans of the partial indexes of migration 0012 give the candidates; each branch's
# predicate is its index's, verbatim. Open tickets: the predicate of ticket_open.
_TICKER_SQL = """
WITH a AS (
    SELECT c.ticket_no, c.category_code, c.grid_code, c.state, c.stage, c.urgency,
           c.supervision, c.stage_due_at,
           (c.state <> 'suspended' AND c.stage_due_at < %(now)s) AS overdue,
           greatest(CASE WHEN c.urgency = 'urgent' THEN c.created_at END,
                    CASE WHEN c.state <> 'suspended' AND c.stage_due_at < %(now)s
                         THEN c.stage_due_at END,
                    CASE WHEN c.supervision > 0 THEN c.updated_at END) AS alert_at
      FROM (
        (SELECT t.ticket_no, t.category_code, t.grid_code, t.state, t.stage, t.urgency,
                t.supervision, t.stage_due_at, t.created_at, t.updated_at
           FROM ticket t  -- ticket_alert_overdue
          WHERE t.state NOT IN ('closed', 'surveyed', 'rejected', 'suspended')
            AND t.stage_due_at < %(now)s AND t.grid_code LIKE %(like)s
          ORDER BY t.stage_due_at DESC, t.ticket_no LIMIT %(limit)s)
        UNION
        (SELECT t.ticket_no, t.category_code, t.grid_code, t.state, t.stage, t.urgency,
                t.supervision, t.stage_due_at, t.created_at, t.updated_at
           FROM ticket t  -- ticket_alert_urgent
          WHERE t.urgency = 'urgent' AND t.state NOT IN ('closed', 'surveyed', 'rejected')
            AND t.grid_code LIKE %(like)s
          ORDER BY t.created_at DESC, t.ticket_no LIMIT %(limit)s)
        UNION
        (SELECT t.ticket_no, t.category_code, t.grid_code, t.state, t.stage, t.urgency,
                t.supervision, t.stage_due_at, t.created_at, t.updated_at
           FROM ticket t  -- ticket_alert_supervised
          WHERE t.supervision > 0 AND t.state NOT IN ('closed', 'surveyed', 'rejected')
            AND t.grid_code LIKE %(like)s
          ORDER BY t.updated_at DESC, t.ticket_no LIMIT %(limit)s)
      ) c
     ORDER BY alert_at DESC NULLS LAST, c.ticket_no
     LIMIT %(limit)s
)
SELECT a.ticket_no, coalesce(mc.name_zh, '') AS major, coalesce(c.name_zh, '') AS category,
       coalesce(g.name, a.grid_code) AS grid_name, a.state, a.stage, a.urgency, a.supervision,
       a.overdue, a.stage_due_at
  FROM a
  LEFT JOIN category c ON c.code = a.category_code
  LEFT JOIN category mc ON mc.code = left(a.category_code, 2)
  LEFT JOIN grid g ON g.code = a.grid_code
        AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
 ORDER BY a.alert_at DESC NULLS LAST, a.ticket_no
"""


def ticker(
    conn: psycopg.Connection, scope: Scope, now: datetime, limit: int = TICKER_LIMIT
) -> list[dict[str, Any]]:
    """The newest open alerts (urgent, overdue or under supervision), newest first, at most
    ``limit``: [{"ticket_no", "major", "minor" (category names from table ``category``, ""
    when unknown), "grid" (name), "state", "stage" (codes; stage None outside a stage),
    "urgent", "supervision" (recorded ladder step 0–3), "overdue_min" (whole minutes the
    current stage is past due, 0 when not overdue)}]. No personal data, no address."""
    if not 1 <= limit <= 200:
        raise ValueError("limit must be between 1 and 200")
    params = {"like": scope.like, "now": now, "limit": limit}
    with generic_plans(conn):
        rows = conn.execute(_TICKER_SQL, params, prepare=True).fetchall()
    out = []
    for no, major, minor, grid, state, stage, urgency, sup, overdue, due in rows:
        overdue_min = int((now - due).total_seconds() // 60) if overdue and due else 0
        out.append(
            {
                "ticket_no": no,
                "major": major,
                "minor": minor,
                "grid": grid,
                "state": state,
                "stage": stage,
                "urgent": urgency == "urgent",
                "supervision": int(sup),
                "overdue_min": overdue_min,
            }
        )
    return out
