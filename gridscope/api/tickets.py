"""Ticket views: create (POST /tickets), list (GET /tickets) and detail (GET /tickets/{id}).

A write uses one pooled connection for the token check, the write (which commits) and, with
an Idempotency-Key, the stored response. The scope always comes from the token (bounded by the
deployment's); "now" is the app's clock, read once per request. What a read shows of each
ticket depends on the token's role (``disclosure``: masking and the audit row).
"""

from __future__ import annotations

import logging
from typing import Any

import flask

from domain.masking import Masker
from domain.workflow import rules
from domain.workflow.rules import State
from queries import api as q
from queries import services
from queries.db import custom_plans
from queries.tickets import NewTicket, create_ticket

from . import context as ctx
from . import disclosure as dis
from . import models as m
from . import state
from .errors import ApiError, json_response
from .idempotency import idempotent, write_response
from .parsing import decode_cursor, encode_cursor, idempotency_key, read_json_body, read_query

log = logging.getLogger(__name__)
audit = logging.getLogger("gridscope.audit")

_STATES = frozenset(s.value for s in State)


def post_ticket() -> flask.Response:
    """Create a ticket (idempotent on external_id and on Idempotency-Key)."""
    svc, st = services.current(), state.current()
    now = ctx.now()
    with ctx.connection(svc) as conn:
        caller = ctx.caller(conn, write=True)
        body = read_json_body(m.TicketCreate)
        key = idempotency_key()
        ctx.check_instant("requested_datetime", body.requested_datetime, now, ctx.MAX_TICKET_AGE)
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
            res = create_ticket(
                conn, clocks, caller.scope, new, now, tolerance_m=svc.settings.point_tolerance_m
            )
            return (201 if res["created"] else 200), {
                "service_request_id": res["ticket_no"],
                "id": res["id"],
                "ticket_no": res["ticket_no"],
                "state": res["state"],
                "grid_code": res["grid_code"],
                "micro_grid_code": res["micro_grid_code"],
                "requested_datetime": ctx.iso(res["created_at"]),
                "created": res["created"],
            }

        status, out, replayed = idempotent(conn, caller, key, body, perform)
    return write_response(status, out, replayed, f"{ctx.PREFIX}/tickets/{out['id']}")


def summary(row: dict[str, Any], masker: Masker) -> dict[str, Any]:
    """A ticket row as the API shows it in lists (no address or description), the exact point
    only to a tier that may see it. ``closed_late`` is a closure after the original due time
    (``closed_on_time`` false; an open ticket is not late *closed*, whatever its clock says)."""
    lat, lon = dis.point(masker, row)
    return {
        "id": row["id"],
        "service_request_id": row["ticket_no"],
        "external_id": row["external_id"],
        "service_code": row["category_code"],
        "urgency": row["urgency"],
        "source": row["source"],
        "state": row["state"],
        "status": "open" if row["state"] in rules.OPEN_STATES else "closed",
        "stage": row["stage"],
        "grid_code": row["grid_code"],
        "requested_datetime": ctx.iso(row["created_at"]),
        "updated_datetime": ctx.iso(row["updated_at"]),
        "stage_due_at": ctx.iso(row["stage_due_at"]),
        "due_at": ctx.iso(row["due_at"]),
        "overdue": bool(row["overdue"]),
        "closed_on_time": row["closed_on_time"],
        "closed_late": row["closed_on_time"] is False,
        "source_type": row["source_type"],
        "source_reason": row["source_reason"],
        "lat": lat,
        "long": lon,
    }


def get_ticket(ticket_id: int) -> flask.Response:
    """One ticket of the jurisdiction with its tasks and timeline, masked by the token's role;
    a read of personal data (L3 and up) is audited."""
    svc = services.current()
    now = ctx.now()
    with ctx.connection(svc) as conn:
        caller = ctx.caller(conn, write=False)
        ctx.ticket_id(ticket_id)
        row = q.ticket_detail(conn, caller.scope, ticket_id, now)
        if row is None:
            raise ApiError(
                404, f"no ticket {ticket_id} in your jurisdiction", [("ticket_id", "not found")]
            )
        events = q.ticket_timeline(conn, caller.scope, ticket_id, row["created_at"])
        tasks = q.ticket_tasks(conn, caller.scope, ticket_id, row["created_at"])
        viewer = ctx.viewer()
        masker = viewer.masker
        fields = dis.shown_fields(masker, row["category_code"])
        if fields:
            # Addresses, descriptions and points are personal data (L3, DOMAIN.md §7): the
            # audit row lands before the response is sent.
            dis.audit_read(conn, viewer, dis.READ_ACTION, [ticket_id], now, fields=fields)
            audit.info("api token %s read ticket %s (%s)", caller.prefix, ticket_id, fields)
    body = summary(row, masker)
    body.update(
        micro_grid_code=row["micro_grid_code"],
        address_string=dis.address(masker, row["address"]),
        description=dis.free_text(masker, row["description"]),
        stage_started_at=ctx.iso(row["stage_started_at"]),
        stage_warn_at=ctx.iso(row["stage_warn_at"]),
        original_due_at=ctx.iso(row["original_due_at"]),
        reported_at=ctx.iso(row["reported_at"]),
        finished_at=ctx.iso(row["finished_at"]),
        closed_at=ctx.iso(row["closed_at"]),
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
                    k: ctx.iso(t[k])
                    for k in ("dispatched_at", "sign_due_at", "signed_at", "due_at", "finished_at")
                },
            }
            for t in tasks
        ],
        timeline=[
            {**e, "at": ctx.iso(e["at"]), "comment": dis.free_text(masker, e["comment"])}
            for e in events
        ],
    )
    return json_response(body)


def list_tickets() -> flask.Response:
    """Tickets of the jurisdiction, filtered, newest first, keyset-paged."""
    svc = services.current()
    now = ctx.now()
    with ctx.connection(svc) as conn:
        caller = ctx.caller(conn, write=False)
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
            closed_late=query.closed_late,
            on_time=query.on_time,
            created_from=query.start_date,
            created_to=query.end_date,
            after=decode_cursor(query.cursor) if query.cursor else None,
        )
        with custom_plans(conn):
            rows = q.list_tickets(conn, caller.scope, flt, limit + 1, now)
        more = len(rows) > limit
        rows = rows[:limit]
        viewer = ctx.viewer()
        masker = viewer.masker
        shown = [r for r in rows if masker.sees(dis.point_field(r["category_code"]))]
        if shown:  # exact points of residents' reports are L3: audited
            fields = sorted({dis.point_field(r["category_code"]) for r in shown})
            dis.audit_read(
                conn, viewer, dis.LIST_ACTION, [r["id"] for r in shown], now, fields=fields
            )
    clamped = query.limit > m.MAX_PAGE
    if clamped:
        notice.append(f"limit {query.limit} clamped to the maximum page size {m.MAX_PAGE}")
    body = {
        "tickets": [summary(r, masker) for r in rows],
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
