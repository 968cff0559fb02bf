"""SQL of the HTTP ingest API (``gridscope/api``): tokens, idempotency keys, ticket reads.

Writes of tickets and positions go through ``queries.tickets`` and ``queries.positions``; this
module only adds what the API needs around them. Every read of jurisdiction data takes the
caller's ``Scope`` (from the API token, never from the request) and applies it in SQL; the few
functions without one say why in their docstring (token bookkeeping, keys owned by a token,
the jurisdiction-free item list). Coordinates are WGS84 lon/lat degrees (EPSG:4326); instants
are ``timestamptz`` (returned as aware datetimes).

Time: ticket reads take the app's ``now`` (its injected clock). The token bookkeeping columns
(``created_at``, ``last_used_at``, ``revoked_at``) record when the server really saw something
happen, so they use the database's own clock (SQL ``now()``), consistent with one another even
when the app runs on a pinned clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from .db import one
from .scope import Scope

# The finished states ('closed', 'surveyed', 'rejected': the states outside
# domain.workflow.rules.OPEN_STATES) are spelled out in the SQL below like the partial index
# ticket_open of the migrations, so that the planner can use it.

# --------------------------------------------------------------------------------------------
# API tokens


@dataclass(frozen=True)
class TokenRow:
    """One stored API token (the secret itself is never stored, only its SHA-256)."""

    id: int
    name: str
    prefix: str
    token_hash: str
    scope_prefix: str
    can_write: bool
    role: str  # a domain.access.Role: the tier of what the token reads back, what it may do
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    # Whether last_used_at is older than the touch interval by the database clock (set by
    # ``active_token`` only).
    touch_due: bool = False


_TOKEN_COLUMNS = (
    "id, name, prefix, token_hash, scope_prefix, can_write, role, created_at, revoked_at,"
    " last_used_at"
)


def insert_token(
    conn: psycopg.Connection,
    name: str,
    prefix: str,
    token_hash: str,
    scope_prefix: str,
    can_write: bool,
    role: str = "dispatcher",
) -> int:
    """Store a new token by its hex SHA-256; returns its id. Raises UniqueViolation when the
    prefix is taken (the caller draws another). ``role`` is a domain.access.Role value."""
    row = conn.execute(
        "INSERT INTO api_token (name, prefix, token_hash, scope_prefix, can_write, role)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (name, prefix, token_hash, scope_prefix, can_write, role),
    ).fetchone()
    return int(one(row)[0])


def active_token(conn: psycopg.Connection, prefix: str, stale_s: int = 60) -> TokenRow | None:
    """The unrevoked token with this public prefix, or None; ``touch_due`` says whether its
    last use is older than ``stale_s`` seconds (database clock). The caller compares the hash.

    Takes no scope: this is how a request's scope is found (it is the token's own
    ``scope_prefix``), so no jurisdiction is known yet. The caller checks the hash in constant
    time and then uses ``Scope(row.scope_prefix)`` for every other query of the request."""
    row = conn.execute(
        f"SELECT {_TOKEN_COLUMNS},"  # noqa: S608 (a constant column list)
        " (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => %s))"
        " FROM api_token WHERE prefix = %s AND revoked_at IS NULL",
        (stale_s, prefix),
    ).fetchone()
    return TokenRow(*row) if row else None


def touch_token(conn: psycopg.Connection, token_id: int, stale_s: int = 60) -> None:
    """Record use (at most once per ``stale_s`` seconds); never waits for a concurrent toucher.

    Uses the database clock: ``last_used_at`` is bookkeeping of real use, shown next to
    ``created_at`` and ``revoked_at`` (also database time) by ``gridscope token list``."""
    conn.execute(
        "UPDATE api_token SET last_used_at = now() WHERE id = ("
        " SELECT id FROM api_token WHERE id = %s"
        "   AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => %s))"
        " FOR UPDATE SKIP LOCKED)",
        (token_id, stale_s),
    )


def list_tokens(conn: psycopg.Connection) -> list[TokenRow]:
    """Every token, newest first (revoked ones included). No scope: an administrator's command
    (``gridscope token list``) run with database access, not an API read."""
    rows = conn.execute(
        f"SELECT {_TOKEN_COLUMNS} FROM api_token ORDER BY created_at DESC, id DESC"  # noqa: S608
    ).fetchall()
    return [TokenRow(*r) for r in rows]


def revoke_token(conn: psycopg.Connection, prefix: str) -> tuple[str, str]:
    """Revoke by prefix: ('revoked' | 'already' (was revoked before) | 'unknown', the token's
    jurisdiction prefix). No scope: an administrator's command (``gridscope token revoke``)."""
    row = conn.execute(
        "UPDATE api_token SET revoked_at = coalesce(revoked_at, now()) WHERE prefix = %s"
        " RETURNING revoked_at = now(), scope_prefix",
        (prefix,),
    ).fetchone()
    if row is None:
        return "unknown", ""
    return ("revoked" if row[0] else "already"), row[1]


# --------------------------------------------------------------------------------------------
# Idempotency keys (table idempotency_key, migration 0002)

# Status stored while the first request with a key runs; it commits with the write itself, so a
# row left in this state means the server stopped between the write and recording its response.
PENDING = 0


def lock_idempotency_key(conn: psycopg.Connection, token_id: int, key: str) -> None:
    """Take the session-level advisory lock of (token, key); concurrent duplicates wait here."""
    conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (f"{token_id}:{key}",))


def unlock_idempotency_key(conn: psycopg.Connection, token_id: int, key: str) -> None:
    """Release the lock taken by ``lock_idempotency_key``."""
    conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (f"{token_id}:{key}",))


def find_idempotency(
    conn: psycopg.Connection, token_id: int, key: str
) -> tuple[str, int, Any] | None:
    """(request_hash, status, response) stored for the key, or None. Keys belong to one token
    (``token_id``), so a response is only ever replayed to the token whose scope made it."""
    row = conn.execute(
        "SELECT request_hash, status, response FROM idempotency_key"
        " WHERE token_id = %s AND key = %s",
        (token_id, key),
    ).fetchone()
    return (row[0], int(row[1]), row[2]) if row else None


def record_idempotency(
    conn: psycopg.Connection, token_id: int, key: str, request_hash: str, status: int, response: Any
) -> None:
    """Insert or complete the key's row (``status`` PENDING while the write runs)."""
    conn.execute(
        "INSERT INTO idempotency_key (token_id, key, request_hash, status, response)"
        " VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (token_id, key) DO UPDATE SET status = EXCLUDED.status,"
        "   response = EXCLUDED.response",
        (token_id, key, request_hash, status, Jsonb(response)),
    )


# --------------------------------------------------------------------------------------------
# Ticket reads

_SUMMARY = sql.SQL(
    "SELECT t.id, t.ticket_no, t.external_id, t.category_code, t.urgency, t.source, t.state,"
    " t.stage, t.grid_code, t.created_at, t.updated_at, t.stage_due_at, t.due_at,"
    " ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat,"
    " (t.state NOT IN ('closed', 'surveyed', 'rejected') AND t.state <> 'suspended'"
    "  AND t.stage_due_at < %(now)s) AS overdue,"
    " t.closed_on_time, t.source_type, t.source_reason"
)

_DETAIL_EXTRA = sql.SQL(
    ", t.micro_grid_code, t.address, t.description, t.stage_started_at, t.stage_warn_at,"
    " t.original_due_at, t.reported_at, t.finished_at, t.closed_at, t.self_resolved,"
    " t.rework_count, t.return_count, t.extension_count, t.escalated,"
    " t.supervision, t.satisfaction"
)


@dataclass(frozen=True)
class TicketFilter:
    """Filters of the ticket list; every field optional. ``code_prefix`` must already lie
    inside the scope (the caller narrows with ``Scope.narrow``)."""

    code_prefix: str | None = None
    category_prefix: str | None = None
    states: tuple[str, ...] = ()
    open: bool | None = None  # Open311 status: True open, False closed
    overdue: bool | None = None
    # ticket.closed_on_time is set when a ticket closes (NULL until then): True closed by the
    # original due time, False closed late. closed_late=False / on_time=False are the
    # complements (open tickets included), as overdue=False is.
    closed_late: bool | None = None
    on_time: bool | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive
    after: tuple[datetime, int] | None = None  # keyset cursor: (created_at, id) of the last row


def list_tickets(
    conn: psycopg.Connection, scope: Scope, flt: TicketFilter, limit: int, now: datetime
) -> list[dict[str, Any]]:
    """Up to ``limit`` tickets in scope matching ``flt``, newest first (created_at, id
    descending; keyset paging by ``flt.after``). lon/lat are WGS84 degrees; ``overdue`` is
    open, not suspended and past the stage due time at ``now``; ``closed_on_time`` is NULL
    until the ticket closes; ``source_type``/``source_reason`` are the imported source's own
    classification (NULL for tickets born in gridscope)."""
    where: list[sql.Composable] = [sql.SQL("t.grid_code LIKE %(scope)s")]
    params: dict[str, Any] = {
        "scope": scope.like,
        "now": now,
        "limit": limit,
    }
    if flt.code_prefix:
        where.append(sql.SQL("t.grid_code LIKE %(code)s"))
        params["code"] = flt.code_prefix + "%"
    if flt.category_prefix:
        where.append(sql.SQL("t.category_code LIKE %(cat)s"))
        params["cat"] = flt.category_prefix + "%"
    if flt.states:
        where.append(sql.SQL("t.state = ANY(%(states)s)"))
        params["states"] = list(flt.states)
    if flt.open is True:
        where.append(sql.SQL("t.state NOT IN ('closed', 'surveyed', 'rejected')"))
    elif flt.open is False:
        where.append(sql.SQL("t.state IN ('closed', 'surveyed', 'rejected')"))
    if flt.overdue is not None:
        # Spelled like the partial index ticket_open so the planner can use it.
        cond = sql.SQL(
            "(t.state NOT IN ('closed', 'surveyed', 'rejected')"
            " AND t.state <> 'suspended' AND t.stage_due_at < %(now)s)"
        )
        where.append(cond if flt.overdue else sql.SQL("NOT coalesce({}, false)").format(cond))
    if flt.closed_late is not None:
        where.append(
            sql.SQL(
                "t.closed_on_time IS FALSE" if flt.closed_late else "t.closed_on_time IS NOT FALSE"
            )
        )
    if flt.on_time is not None:
        where.append(
            sql.SQL("t.closed_on_time IS TRUE" if flt.on_time else "t.closed_on_time IS NOT TRUE")
        )
    if flt.created_from is not None:
        where.append(sql.SQL("t.created_at >= %(from)s"))
        params["from"] = flt.created_from
    if flt.created_to is not None:
        where.append(sql.SQL("t.created_at < %(to)s"))
        params["to"] = flt.created_to
    if flt.after is not None:
        where.append(sql.SQL("(t.created_at, t.id) < (%(after_at)s, %(after_id)s)"))
        params["after_at"], params["after_id"] = flt.after
    query = sql.SQL(
        "{select} FROM ticket t WHERE {where} ORDER BY t.created_at DESC, t.id DESC LIMIT %(limit)s"
    ).format(select=_SUMMARY, where=sql.SQL(" AND ").join(where))
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def ticket_detail(
    conn: psycopg.Connection, scope: Scope, ticket_id: int, now: datetime
) -> dict[str, Any] | None:
    """One ticket in scope with every column the API shows (lon/lat WGS84), or None."""
    query = sql.SQL(
        "{select}{extra} FROM ticket t WHERE t.id = %(id)s AND t.grid_code LIKE %(scope)s"
    ).format(select=_SUMMARY, extra=_DETAIL_EXTRA)
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, {"id": ticket_id, "scope": scope.like, "now": now})
        return cur.fetchone()


def ticket_timeline(
    conn: psycopg.Connection, scope: Scope, ticket_id: int, created_at: datetime
) -> list[dict[str, Any]]:
    """The event log, in order (at, id), of the ticket ``ticket_id`` created at ``created_at``
    (as ``ticket_detail`` returned it); empty when the ticket is not in ``scope``."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT e.at, e.action, e.from_state, e.to_state, e.actor_kind, e.actor_id,"
            " e.task_id, e.comment, e.data"
            " FROM ticket_event e WHERE e.ticket_id = %(id)s"
            " AND e.ticket_created_at = %(created_at)s"
            # The ticket itself in scope (created_at, the partition key, prunes to one).
            " AND EXISTS (SELECT 1 FROM ticket t WHERE t.id = %(id)s"
            "   AND t.created_at = %(created_at)s AND t.grid_code LIKE %(scope)s)"
            " ORDER BY e.at, e.id",
            {"id": ticket_id, "created_at": created_at, "scope": scope.like},
        )
        return cur.fetchall()


def ticket_tasks(
    conn: psycopg.Connection, scope: Scope, ticket_id: int, created_at: datetime
) -> list[dict[str, Any]]:
    """The department tasks (lead and assisting), in dispatch order, of the ticket
    ``ticket_id`` created at ``created_at``; empty when the ticket is not in ``scope``."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT k.id, k.department_id, d.name AS department_name, k.role, k.state,"
            " k.dispatched_at, k.sign_due_at, k.signed_at, k.due_at, k.finished_at, k.on_time"
            " FROM ticket_task k JOIN department d ON d.id = k.department_id"
            " WHERE k.ticket_id = %(id)s"
            " AND EXISTS (SELECT 1 FROM ticket t WHERE t.id = %(id)s"
            "   AND t.created_at = %(created_at)s AND t.grid_code LIKE %(scope)s)"
            " ORDER BY k.dispatched_at, k.id",
            {"id": ticket_id, "created_at": created_at, "scope": scope.like},
        )
        return cur.fetchall()


# --------------------------------------------------------------------------------------------
# Categories as Open311 services, staff of a jurisdiction


def services(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Admitted categories of the item list (major 'CC' and minor 'CCSS'), in display order,
    with the name of their major category as ``group_name``. No scope: the item list is one
    list for every jurisdiction (reference data, not data of a jurisdiction)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT c.code, c.name_zh, c.name_en, c.parent_code, p.name_zh AS group_name"
            " FROM category c LEFT JOIN category p ON p.code = c.parent_code"
            " WHERE c.admitted ORDER BY coalesce(c.parent_code, c.code), c.sort_order, c.code"
        )
        return cur.fetchall()


def staff_outside(
    conn: psycopg.Connection, scope: Scope, staff_ids: list[int], at: datetime
) -> list[int]:
    """The ids among ``staff_ids`` that are not active staff of the jurisdiction at ``at`` (the
    app's now): staff whose region code is in scope, or who hold a grid assignment in scope
    valid at ``at``. Ascending; ids that name no staff at all are among them."""
    rows = conn.execute(
        "SELECT u.id FROM unnest(%(ids)s::bigint[]) AS u(id)"
        " WHERE NOT EXISTS (SELECT 1 FROM staff s WHERE s.id = u.id AND s.active AND"
        "   (s.region_code LIKE %(like)s OR EXISTS (SELECT 1 FROM staff_assignment a"
        "     WHERE a.staff_id = s.id AND a.grid_code LIKE %(like)s"
        "       AND a.valid_from <= %(at)s AND (a.valid_to IS NULL OR a.valid_to > %(at)s))))"
        " ORDER BY u.id",
        {"ids": staff_ids, "like": scope.like, "at": at},
    ).fetchall()
    return [int(r[0]) for r in rows]
