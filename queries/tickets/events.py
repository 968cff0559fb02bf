"""The ticket event log (``ticket_event``): one row appended per step, never rewritten."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb


def append_event(
    cur: psycopg.Cursor,
    ticket_id: int,
    created_at: datetime,
    at: datetime,
    action: str,
    from_state: str | None,
    to_state: str | None,
    actor_kind: str,
    actor_id: int | None,
    task_id: int | None = None,
    comment: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Append one event of ticket (``ticket_id``, ``created_at``) at ``at`` (UTC)."""
    cur.execute(
        "INSERT INTO ticket_event (ticket_id, ticket_created_at, at, action, from_state, to_state,"
        " actor_kind, actor_id, task_id, comment, data)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            ticket_id,
            created_at,
            at,
            action,
            from_state,
            to_state,
            actor_kind,
            actor_id,
            task_id,
            comment,
            Jsonb(dict(data)) if data else None,
        ),
    )
