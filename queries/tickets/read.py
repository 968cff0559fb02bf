"""Reading one ticket for the write path (and the API's echo of a step)."""

from __future__ import annotations

from typing import Any

import psycopg

from ..scope import Scope

TICKET_COLUMNS = (
    "id, created_at, ticket_no, category_code, urgency, state, stage, stage_started_at, "
    "stage_due_at, due_at, original_due_at, grid_code, reported_at, finished_at, closed_at, "
    "closed_on_time, self_resolved, rework_count, return_count, extension_count, escalated, "
    "satisfaction"
)


def get_ticket(
    conn: psycopg.Connection, scope: Scope, ticket_id: int, *, for_update: bool = False
) -> dict[str, Any] | None:
    """One ticket in scope as a dict (None when absent or outside the jurisdiction)."""
    query = (
        f"SELECT {TICKET_COLUMNS} FROM ticket WHERE id = %s AND grid_code LIKE %s"  # noqa: S608
        + (" FOR UPDATE" if for_update else "")
    )
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(query, (ticket_id, scope.like))
        return cur.fetchone()
