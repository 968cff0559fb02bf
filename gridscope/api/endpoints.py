"""The endpoints of /api/v1 and the one registry (``ENDPOINTS``) that both registers their
routes and generates the OpenAPI document and docs page.

Each write request uses one pooled connection: the token check, the write (which commits) and,
with an Idempotency-Key, the stored response. The scope always comes from the token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import flask
import psycopg
from pydantic import BaseModel

from domain.workflow import rules
from domain.workflow.rules import State
from queries import api as q
from queries import services
from queries.db import custom_plans
from queries.positions import record_positions
from queries.tickets import NewTicket, Transition, apply_transition, create_ticket

from . import models as m
from . import state
from .errors import ApiError, json_response
from .parsing import (
    IDEMPOTENCY_HEADER,
    decode_cursor,
    encode_cursor,
    idempotency_key,
    read_json_body,
    read_query,
    request_fingerprint,
)
from .tokens import Caller, authenticate

log = logging.getLogger(__name__)
audit = logging.getLogger("gridscope.audit")

PREFIX = "/api/v1"
CLOCK_SKEW = timedelta(minutes=5)  # how far in the future a client's clock may run
MAX_TICKET_AGE = timedelta(days=366)  # older reports go through the file importer
MAX_FIX_AGE = timedelta(days=30)  # worker tracks are retention-limited L4 data
MAX_DUE_AHEAD = timedelta(days=400)  # an extension further out is a typo
_DONE = {"closed", "surveyed", "rejected"}
_STATES = frozenset(s.value for s in State)


# ---- helpers ---------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(services.current().settings.tz).isoformat()


def _check_instant(name: str, value: datetime | None, now: datetime, max_age: timedelta) -> None:
    if value is None:
        return
    if value > now + CLOCK_SKEW:
        raise ApiError(422, f"invalid request body: {name}", [(name, "is in the future")])
    if value < now - max_age:
        raise ApiError(
            422, f"invalid request body: {name}", [(name, f"is more than {max_age.days} days ago")]
        )


def _ticket_id(ticket_id: int) -> int:
    if not 0 < ticket_id <= m.BIGINT_MAX:
        raise ApiError(
            404, f"no ticket {ticket_id} in your jurisdiction", [("ticket_id", "not found")]
        )
    return ticket_id


def _caller(conn: psycopg.Connection, *, write: bool) -> Caller:
    return authenticate(conn, flask.request.headers.get("Authorization"), write=write)


def _idempotent(
    conn: psycopg.Connection,
    caller: Caller,
    key: str | None,
    body: BaseModel,
    perform: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any], bool]:
    """(status, body, replayed) of ``perform`` run at most once per (token, Idempotency-Key).

    A session advisory lock serialises requests with the same key, so a concurrent duplicate
    waits and then replays. The pending key row is written in the same transaction as the
    change (the write path commits both); the response is recorded right after. Refusals are
    not recorded: the database is unchanged and the client may retry with a fixed request.
    """
    if key is None:
        status, out = perform()
        return status, out, False
    fingerprint = request_fingerprint(body)
    q.lock_idempotency_key(conn, caller.token_id, key)
    try:
        found = q.find_idempotency(conn, caller.token_id, key)
        if found is not None:
            stored_hash, status, out = found
            if stored_hash != fingerprint:
                raise ApiError(
                    422,
                    f"Idempotency-Key {key!r} was already used for a different "
                    "request; use a new key for a new request",
                    [(IDEMPOTENCY_HEADER, "reused with a different request")],
                )
            if status == q.PENDING:
                raise ApiError(
                    409,
                    "the first request with this Idempotency-Key was "
                    "interrupted after its change was committed and before its "
                    "response was recorded; look the result up instead of retrying",
                    [(IDEMPOTENCY_HEADER, "first request interrupted")],
                )
            return status, out, True
        q.record_idempotency(conn, caller.token_id, key, fingerprint, q.PENDING, {})
        status, out = perform()
        q.record_idempotency(conn, caller.token_id, key, fingerprint, status, out)
        conn.commit()
        return status, out, False
    except BaseException:
        conn.rollback()
        raise
    finally:
        q.unlock_idempotency_key(conn, caller.token_id, key)
        conn.commit()


def _write_response(
    status: int, body: dict[str, Any], replayed: bool, location: str | None = None
) -> flask.Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    if location:
        headers["Location"] = location
    return json_response(body, status, headers)


# ---- views -----------------------------------------------------------------------------------


def post_ticket() -> flask.Response:
    """Create a ticket (idempotent on external_id and on Idempotency-Key)."""
    svc, st = services.current(), state.current()
    now = datetime.now(UTC)
    with svc.pool.connection() as conn:
        caller = _caller(conn, write=True)
        body = read_json_body(m.TicketCreate)
        key = idempotency_key()
        _check_instant("requested_datetime", body.requested_datetime, now, MAX_TICKET_AGE)
        clocks = st.clocks(conn, svc.settings)
        extra: dict[str, Any] = {"api_token": caller.prefix}
        if key is not None:
            extra["idempotency_key"] = key
        new = NewTicket(
            category_code=body.service_code,
            lon=body.long,
            lat=body.lat,
            source=body.source,
            urgency=body.urgency,
            grid_code=body.grid_code,
            description=body.description,
            address=body.address_string,
            external_id=body.external_id,
            external_namespace="api",
            created_at=body.requested_datetime,
            extra=extra,
        )

        def perform() -> tuple[int, dict[str, Any]]:
            res = create_ticket(conn, clocks, caller.scope, new, now)
            return (201 if res["created"] else 200), {
                "service_request_id": res["ticket_no"],
                "id": res["id"],
                "ticket_no": res["ticket_no"],
                "state": res["state"],
                "grid_code": res["grid_code"],
                "micro_grid_code": res["micro_grid_code"],
                "requested_datetime": _iso(res["created_at"]),
                "created": res["created"],
            }

        status, out, replayed = _idempotent(conn, caller, key, body, perform)
    return _write_response(status, out, replayed, f"{PREFIX}/tickets/{out['id']}")


def post_transition(ticket_id: int) -> flask.Response:
    """Apply one action of the closed loop to a ticket."""
    svc, st = services.current(), state.current()
    now = datetime.now(UTC)
    with svc.pool.connection() as conn:
        caller = _caller(conn, write=True)
        body = read_json_body(m.TransitionCreate)
        key = idempotency_key()
        _ticket_id(ticket_id)
        _check_instant("at", body.at, now, MAX_TICKET_AGE)
        if body.new_due_at is not None and body.new_due_at > (body.at or now) + MAX_DUE_AHEAD:
            raise ApiError(
                422,
                "invalid request body: new_due_at",
                [("new_due_at", f"is more than {MAX_DUE_AHEAD.days} days ahead")],
            )
        clocks = st.clocks(conn, svc.settings)
        tr = Transition(
            action=body.action,
            actor_kind=body.actor_kind,
            actor_id=body.actor_id,
            at=body.at,
            comment=body.comment,
            department_id=body.department_id,
            assist_department_ids=tuple(body.assist_department_ids),
            new_due_at=body.new_due_at,
            satisfaction=body.satisfaction,
            override=body.override,
        )

        def perform() -> tuple[int, dict[str, Any]]:
            res = apply_transition(conn, clocks, caller.scope, ticket_id, tr, now)
            return 200, {
                "id": res["id"],
                "state": res["state"],
                "stage": res["stage"],
                "allowed_actions": [a.value for a in rules.allowed_actions(res["state"])],
                **({k: res[k] for k in ("task_id", "task_state")} if "task_id" in res else {}),
            }

        status, out, replayed = _idempotent(conn, caller, key, body, perform)
    return _write_response(status, out, replayed)


def post_positions() -> flask.Response:
    """Store a batch of worker GPS fixes (staff of the token's jurisdiction only)."""
    svc, st = services.current(), state.current()
    now = datetime.now(UTC)
    with svc.pool.connection() as conn:
        caller = _caller(conn, write=True)
        body = read_json_body(m.PositionBatch)
        key = idempotency_key()
        problems = []
        for i, p in enumerate(body.positions):
            try:
                _check_instant(f"positions[{i}].at", p.at, now, MAX_FIX_AGE)
            except ApiError as exc:
                problems += [(f["field"], f["problem"]) for f in exc.fields]
        if problems:
            raise ApiError(422, "invalid request body: positions", problems[:50])
        ids = sorted({p.staff_id for p in body.positions})
        outside = set(q.staff_outside(conn, caller.scope, ids))
        if outside:
            fields = [
                (
                    f"positions[{i}].staff_id",
                    f"{p.staff_id} is not active staff of your jurisdiction",
                )
                for i, p in enumerate(body.positions)
                if p.staff_id in outside
            ]
            raise ApiError(
                403, f"{len(outside)} staff id(s) outside your jurisdiction", fields[:50]
            )
        fixes = [(p.staff_id, p.at, p.long, p.lat) for p in body.positions]

        def perform() -> tuple[int, dict[str, Any]]:
            n = record_positions(conn, fixes, on_duty=body.on_duty, store=st.positions)
            return 200, {"stored": n, "max_batch": m.MAX_POSITIONS}

        status, out, replayed = _idempotent(conn, caller, key, body, perform)
    return _write_response(status, out, replayed)


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "service_request_id": row["ticket_no"],
        "external_id": row["external_id"],
        "service_code": row["category_code"],
        "urgency": row["urgency"],
        "source": row["source"],
        "state": row["state"],
        "status": "closed" if row["state"] in _DONE else "open",
        "stage": row["stage"],
        "grid_code": row["grid_code"],
        "requested_datetime": _iso(row["created_at"]),
        "updated_datetime": _iso(row["updated_at"]),
        "stage_due_at": _iso(row["stage_due_at"]),
        "due_at": _iso(row["due_at"]),
        "overdue": bool(row["overdue"]),
        "lat": row["lat"],
        "long": row["lon"],
    }


def get_ticket(ticket_id: int) -> flask.Response:
    """One ticket of the jurisdiction with its tasks and timeline."""
    svc = services.current()
    now = datetime.now(UTC)
    with svc.pool.connection() as conn:
        caller = _caller(conn, write=False)
        _ticket_id(ticket_id)
        row = q.ticket_detail(conn, caller.scope, ticket_id, now)
        if row is None:
            raise ApiError(
                404, f"no ticket {ticket_id} in your jurisdiction", [("ticket_id", "not found")]
            )
        events = q.ticket_timeline(conn, ticket_id, row["created_at"])
        tasks = q.ticket_tasks(conn, ticket_id)
    # Addresses and descriptions may hold personal data (L3, DOMAIN.md §7): log the read.
    audit.info("api token %s read ticket %s (address, description)", caller.prefix, ticket_id)
    body = _summary(row)
    body.update(
        micro_grid_code=row["micro_grid_code"],
        address_string=row["address"],
        description=row["description"],
        stage_started_at=_iso(row["stage_started_at"]),
        stage_warn_at=_iso(row["stage_warn_at"]),
        original_due_at=_iso(row["original_due_at"]),
        reported_at=_iso(row["reported_at"]),
        finished_at=_iso(row["finished_at"]),
        closed_at=_iso(row["closed_at"]),
        closed_on_time=row["closed_on_time"],
        self_resolved=row["self_resolved"],
        rework_count=row["rework_count"],
        return_count=row["return_count"],
        extension_count=row["extension_count"],
        escalated=row["escalated"],
        supervision=row["supervision"],
        satisfaction=row["satisfaction"],
        allowed_actions=[a.value for a in rules.allowed_actions(row["state"])],
        tasks=[
            {
                **t,
                **{
                    k: _iso(t[k])
                    for k in ("dispatched_at", "sign_due_at", "signed_at", "due_at", "finished_at")
                },
            }
            for t in tasks
        ],
        timeline=[{**e, "at": _iso(e["at"])} for e in events],
    )
    return json_response(body)


def list_tickets() -> flask.Response:
    """Tickets of the jurisdiction, filtered, newest first, keyset-paged."""
    svc = services.current()
    now = datetime.now(UTC)
    with svc.pool.connection() as conn:
        caller = _caller(conn, write=False)
        query = read_query(m.TicketQuery)
        code, notice = None, []
        if query.grid_code is not None:
            if not query.grid_code.startswith(caller.scope.prefix) and not (
                caller.scope.prefix.startswith(query.grid_code)
            ):
                raise ApiError(
                    403,
                    "grid_code is outside your jurisdiction",
                    [("grid_code", f"outside {caller.scope.prefix!r}")],
                )
            # A prefix of the jurisdiction itself (a wider region) means the whole jurisdiction.
            if len(query.grid_code) > len(caller.scope.prefix):
                code = query.grid_code
            elif query.grid_code != caller.scope.prefix:
                notice.append(
                    f"grid_code {query.grid_code} is wider than your jurisdiction "
                    f"{caller.scope.prefix}: showing your jurisdiction"
                )
        states: tuple[str, ...] = ()
        if query.state:
            states = tuple(s.strip() for s in query.state.split(",") if s.strip())
            unknown = [s for s in states if s not in _STATES]
            if unknown:
                raise ApiError(
                    422,
                    "invalid query: state",
                    [
                        ("state", f"unknown state {s!r} (one of {', '.join(State)})")
                        for s in unknown[:5]
                    ],
                )
        if query.start_date and query.end_date and query.start_date >= query.end_date:
            raise ApiError(
                422, "invalid query: end_date", [("end_date", "must be after start_date")]
            )
        limit = min(query.limit, m.MAX_PAGE)
        flt = q.TicketFilter(
            code_prefix=code,
            category_prefix=query.service_code,
            states=states,
            open=None if query.status is None else query.status == "open",
            overdue=query.overdue,
            created_from=query.start_date,
            created_to=query.end_date,
            after=decode_cursor(query.cursor) if query.cursor else None,
        )
        with custom_plans(conn):
            rows = q.list_tickets(conn, caller.scope, flt, limit + 1, now)
    more = len(rows) > limit
    rows = rows[:limit]
    clamped = query.limit > m.MAX_PAGE
    if clamped:
        notice.append(f"limit {query.limit} clamped to the maximum page size {m.MAX_PAGE}")
    body = {
        "tickets": [_summary(r) for r in rows],
        "paging": {
            "limit": limit,
            "requested_limit": query.limit,
            "clamped": clamped,
            "next_cursor": encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None,
        },
        "notice": "; ".join(notice) or None,
    }
    if clamped:
        log.info(
            "api: token %s asked for %s tickets, clamped to %s",
            caller.prefix,
            query.limit,
            m.MAX_PAGE,
        )
    return json_response(body)


def list_services() -> flask.Response:
    """The admitted categories of the item list as Open311 services (a bare JSON array)."""
    svc = services.current()
    with svc.pool.connection() as conn:
        _caller(conn, write=False)
        rows = q.services(conn)
    return json_response(
        [
            {
                "service_code": r["code"],
                "service_name": r["name_zh"],
                "description": f"{r['name_zh']} ({r['name_en']})",
                "metadata": False,
                "type": "realtime",
                "keywords": r["name_en"],
                "group": r["group_name"] or r["name_zh"],
                "name_en": r["name_en"],
                "parent_code": r["parent_code"],
            }
            for r in rows
        ]
    )


def get_openapi() -> flask.Response:
    """The OpenAPI 3.1 document of this API."""
    resp = flask.Response(state.current().openapi_json, mimetype="application/json")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def get_docs() -> flask.Response:
    """Human-readable API documentation (static HTML, no external resources)."""
    resp = flask.Response(state.current().docs_html, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return resp


def get_index() -> flask.Response:
    """Links to the documents of the API."""
    return json_response(
        {
            "name": "gridscope ingest API",
            "version": "v1",
            "openapi": f"{PREFIX}/openapi.json",
            "docs": f"{PREFIX}/docs",
        }
    )


# ---- the registry ------------------------------------------------------------------------------

_E401 = (401, "Missing, unknown or revoked token.")
_E403W = (403, "Read-only token, or outside the token's jurisdiction.")
_E422 = (422, "Invalid field(s); the body names each field and its problem.")
_E400 = (400, "Body empty, not UTF-8 or not JSON.")
_E413 = (413, "Body larger than the limit (1 MiB).")
_E415 = (415, "Content-Type is not application/json (UTF-8).")


@dataclass(frozen=True)
class Endpoint:
    """One operation: route, view, permission and what the OpenAPI document says about it."""

    name: str
    method: str
    rule: str  # Flask rule under PREFIX
    view: Callable[..., flask.Response]
    summary: str
    auth: str  # 'none', 'read' or 'write'
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    ok: tuple[tuple[int, str, Any], ...] = ()  # (status, description, model | schema | None)
    errors: tuple[tuple[int, str], ...] = ()
    idempotency_key: bool = False
    description: str = ""
    tags: tuple[str, ...] = field(default=("tickets",))
    alias_of: str | None = None


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "create_ticket",
        "POST",
        "/tickets",
        post_ticket,
        "Create a ticket",
        "write",
        body=m.TicketCreate,
        ok=(
            (201, "Created.", m.TicketCreated),
            (
                200,
                "Already created by an earlier request with the same external_id.",
                m.TicketCreated,
            ),
        ),
        errors=(
            _E400,
            _E401,
            (403, "Read-only token, or grid_code outside the jurisdiction."),
            (409, "external_id used outside your jurisdiction, or Idempotency-Key interrupted."),
            _E413,
            _E415,
            _E422,
        ),
        idempotency_key=True,
        description="Open311 GeoReport v2 field names plus grid_code, urgency, source and "
        "external_id. The grid is found by point-in-polygon when grid_code is absent; a "
        "point outside every grid of the jurisdiction is refused (422).",
    ),
    Endpoint(
        "list_tickets",
        "GET",
        "/tickets",
        list_tickets,
        "List tickets",
        "read",
        query=m.TicketQuery,
        ok=((200, "A page of tickets, newest first.", m.TicketPage),),
        errors=(_E401, (403, "grid_code outside the jurisdiction."), _E422),
        description=f"Keyset paging: pass paging.next_cursor as cursor. At most "
        f"{m.MAX_PAGE} tickets a page; a larger limit is clamped and the response says so "
        "(paging.clamped, notice). No personal data (address, description) in lists.",
    ),
    Endpoint(
        "get_ticket",
        "GET",
        "/tickets/<int:ticket_id>",
        get_ticket,
        "Get a ticket with its timeline",
        "read",
        ok=((200, "The ticket, its department tasks and its event log.", m.TicketDetail),),
        errors=(
            _E401,
            (404, "No such ticket in the jurisdiction."),
        ),
        description="Reads of address and description are written to the audit log.",
    ),
    Endpoint(
        "create_transition",
        "POST",
        "/tickets/<int:ticket_id>/transitions",
        post_transition,
        "Apply a transition",
        "write",
        body=m.TransitionCreate,
        ok=((200, "The ticket's new state.", m.TransitionResult),),
        errors=(
            _E400,
            _E401,
            _E403W,
            (404, "No such ticket in the jurisdiction."),
            (409, "The action is not allowed in the ticket's state."),
            _E413,
            _E415,
            _E422,
        ),
        idempotency_key=True,
        description="Moves the ticket through the closed loop (DOMAIN.md §4) with its "
        "event log, rollups and stage clocks, in one transaction.",
    ),
    Endpoint(
        "record_positions",
        "POST",
        "/positions",
        post_positions,
        "Record worker positions",
        "write",
        body=m.PositionBatch,
        ok=((200, "Fixes stored.", m.PositionsResult),),
        errors=(
            _E400,
            _E401,
            (403, "Read-only token or staff outside the jurisdiction."),
            _E413,
            _E415,
            (422, f"Invalid fix(es), or more than {m.MAX_POSITIONS} in one batch."),
        ),
        idempotency_key=True,
        tags=("positions",),
        description=f"At most {m.MAX_POSITIONS} fixes per request. Every staff id must "
        "be active staff of the token's jurisdiction, else nothing is stored (403).",
    ),
    Endpoint(
        "list_services",
        "GET",
        "/services",
        list_services,
        "List categories as Open311 services",
        "read",
        ok=(
            (
                200,
                "Admitted categories of the item list.",
                {"type": "array", "items": {"$ref": "#/components/schemas/Service"}},
            ),
        ),
        errors=(_E401,),
        tags=("services",),
    ),
    Endpoint(
        "list_services_json",
        "GET",
        "/services.json",
        list_services,
        "List categories as Open311 services (Open311 path)",
        "read",
        ok=(
            (
                200,
                "Same as /services.",
                {"type": "array", "items": {"$ref": "#/components/schemas/Service"}},
            ),
        ),
        errors=(_E401,),
        tags=("services",),
        alias_of="list_services",
    ),
    Endpoint(
        "openapi",
        "GET",
        "/openapi.json",
        get_openapi,
        "This OpenAPI document",
        "none",
        ok=((200, "OpenAPI 3.1.", {"type": "object"}),),
        tags=("meta",),
    ),
    Endpoint(
        "docs",
        "GET",
        "/docs",
        get_docs,
        "Human-readable documentation",
        "none",
        ok=((200, "HTML.", None),),
        tags=("meta",),
    ),
)
