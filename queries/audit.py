"""The audit trail (table ``audit_event``, append-only): one row per login, L3/L4 read, export,
track read and administrative change, written in the request that did it.

Rows are inserted on the request's own connection in their own short transaction, so a read
that is served is audited even when the rest of the request only reads; log levels do not
matter (the ``gridscope.audit`` log line is a copy, not the record).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from .scope import Scope

MAX_SEARCH_ROWS = 500


@dataclass(frozen=True)
class AuditEvent:
    """One audited act. ``actor_kind`` is user, wall, token, anonymous or cli."""

    actor_kind: str
    actor_name: str
    action: str
    actor_id: int | None = None
    role: str = ""
    jurisdiction: str = ""
    object: str = ""
    object_ids: Sequence[str] = ()
    count: int | None = None
    tier: int | None = None
    outcome: str = "ok"
    client_addr: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


_INSERT = """
INSERT INTO audit_event (at, actor_kind, actor_id, actor_name, role, jurisdiction, action,
                         object, object_ids, count, tier, outcome, client_addr, detail)
VALUES (%(at)s, %(actor_kind)s, %(actor_id)s, %(actor_name)s, %(role)s, %(jurisdiction)s,
        %(action)s, %(object)s, %(object_ids)s, %(count)s, %(tier)s, %(outcome)s,
        %(client_addr)s, %(detail)s::jsonb)
"""


def write(
    conn: psycopg.Connection, event: AuditEvent, at: datetime, *, commit: bool = True
) -> None:
    """Insert ``event`` at ``at`` (the app clock's now) and commit the connection's current
    transaction, so the row lands even when the request only read (call it after the reads it
    records). ``commit=False`` inside a ``conn.transaction()`` block: the row then lands, or
    not, with the change it records."""
    params = {
        "at": at,
        "actor_kind": event.actor_kind,
        "actor_id": event.actor_id,
        "actor_name": event.actor_name[:200],
        "role": event.role,
        "jurisdiction": event.jurisdiction,
        "action": event.action,
        "object": event.object[:200],
        "object_ids": [str(i)[:64] for i in list(event.object_ids)[:1000]],
        "count": event.count,
        "tier": event.tier,
        "outcome": event.outcome,
        "client_addr": event.client_addr[:64],
        "detail": json.dumps(event.detail, ensure_ascii=False, default=str),
    }
    conn.execute(_INSERT, params)
    if commit and not conn.autocommit:
        conn.commit()


def search(
    conn: psycopg.Connection,
    scope: Scope,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Audit rows about ``scope`` (the event's jurisdiction lies inside it, or is narrower),
    newest first, at most ``min(limit, MAX_SEARCH_ROWS)``; ``actor`` matches the actor name
    as a substring, ``action`` exactly."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT id, at, actor_kind, actor_id, actor_name, role, jurisdiction, action, object,
                   object_ids, count, tier, outcome, client_addr, detail
              FROM audit_event
             WHERE jurisdiction LIKE %(like)s
               AND (%(since)s::timestamptz IS NULL OR at >= %(since)s)
               AND (%(until)s::timestamptz IS NULL OR at < %(until)s)
               AND (%(actor)s::text IS NULL OR strpos(actor_name, %(actor)s) > 0)
               AND (%(action)s::text IS NULL OR action = %(action)s)
             ORDER BY at DESC, id DESC
             LIMIT %(limit)s
            """,
            {
                "like": scope.like,
                "since": since,
                "until": until,
                "actor": actor or None,
                "action": action or None,
                "limit": max(1, min(limit, MAX_SEARCH_ROWS)),
            },
        ).fetchall()


def purge(conn: psycopg.Connection, before: datetime) -> int:
    """Delete audit rows older than ``before`` (the retention setting); returns how many. The
    only DELETE the append-only trigger lets through."""
    with conn.transaction():
        conn.execute("SELECT set_config('gridscope.audit_purge', 'on', true)")
        cur = conn.execute("DELETE FROM audit_event WHERE at < %s", (before,))
        return cur.rowcount


def actions(conn: psycopg.Connection) -> list[str]:
    """The distinct actions recorded so far (the admin page's filter choices)."""
    return [r[0] for r in conn.execute("SELECT DISTINCT action FROM audit_event ORDER BY 1")]


def event_for(viewer: Any, action: str, **fields: Any) -> AuditEvent:
    """An AuditEvent for ``action`` by ``viewer`` (a queries.viewer.Viewer or None for an
    anonymous caller); ``fields`` fill the rest (object, object_ids, count, tier, outcome,
    detail, client_addr)."""
    if viewer is None:
        return AuditEvent(actor_kind="anonymous", actor_name="", action=action, **fields)
    fields.setdefault("client_addr", viewer.client_addr)
    fields.setdefault("tier", int(viewer.tier))
    return AuditEvent(
        actor_kind=viewer.kind,
        actor_id=viewer.id,
        actor_name=viewer.name,
        role=str(viewer.role),
        jurisdiction=viewer.scope.prefix,
        action=action,
        **fields,
    )


def ticket_read(
    conn: psycopg.Connection,
    viewer: Any,
    action: str,
    ticket_ids: Iterable[int],
    at: datetime,
    **detail: Any,
) -> None:
    """Write the audit row of a read of personal ticket data by ``viewer`` at ``at`` (the app's
    now) and commit it: call after the reads, before the response is sent."""
    ids = [str(i) for i in ticket_ids]
    event = event_for(
        viewer, action, object="ticket", object_ids=ids, count=len(ids), detail=detail
    )
    write(conn, event, at)
