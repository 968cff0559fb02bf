"""One ticket for the workbench's drawer: the ticket, its event log in order and its
department tasks, all inside the caller's scope (the API's ticket reads, one copy of the SQL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from queries.api import ticket_detail, ticket_tasks, ticket_timeline
from queries.scope import Scope


def ticket(
    conn: psycopg.Connection, scope: Scope, ticket_id: int, now: datetime
) -> dict[str, Any] | None:
    """{"ticket", "events", "tasks", "grid_name", "category_name"} or None when the ticket is
    not in ``scope``."""
    row = ticket_detail(conn, scope, ticket_id, now)
    if row is None:
        return None
    names = conn.execute(
        "SELECT (SELECT name FROM grid WHERE code = %(g)s AND valid_to IS NULL),"
        " (SELECT name_zh FROM category WHERE code = %(c)s),"
        " d.name, t.source_type, t.source_reason, t.import_flags"
        " FROM ticket t LEFT JOIN department d ON d.id = t.lead_department_id"
        " WHERE t.id = %(id)s AND t.created_at = %(at)s",
        {
            "g": row["grid_code"],
            "c": row["category_code"],
            "id": ticket_id,
            "at": row["created_at"],
        },
    ).fetchone()
    grid_name, category_name, department, stype, sreason, flags = names or (None,) * 6
    return {
        "ticket": {
            **row,
            "source_type": stype,
            "source_reason": sreason,
            "import_flags": list(flags or []),
        },
        "events": ticket_timeline(conn, scope, ticket_id, row["created_at"]),
        "tasks": ticket_tasks(conn, scope, ticket_id, row["created_at"]),
        "grid_name": grid_name,
        "category_name": category_name,
        "department_name": department,
    }
