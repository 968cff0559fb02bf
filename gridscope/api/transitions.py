"""The transition view: POST /tickets/{id}/transitions applies one action of the closed loop.
An ``actor_id`` must be active staff of the token's jurisdiction now (else 422 naming it)."""

from __future__ import annotations

from typing import Any

import flask

from domain.workflow import rules
from queries import api as q
from queries import services
from queries.tickets import Transition, apply_transition

from . import context as ctx
from . import models as m
from . import state
from .errors import ApiError
from .idempotency import idempotent, write_response
from .parsing import idempotency_key, read_json_body


def post_transition(ticket_id: int) -> flask.Response:
    """Apply one action of the closed loop to a ticket."""
    svc, st = services.current(), state.current()
    now = ctx.now()
    with ctx.connection(svc) as conn:
        caller = ctx.caller(conn, write=True)
        body = read_json_body(m.TransitionCreate)
        key = idempotency_key()
        ctx.ticket_id(ticket_id)
        ctx.check_instant("at", body.at, now, ctx.MAX_TICKET_AGE)
        if body.new_due_at is not None and body.new_due_at > (body.at or now) + ctx.MAX_DUE_AHEAD:
            raise ApiError(
                422,
                "invalid request body: new_due_at",
                [("new_due_at", f"is more than {ctx.MAX_DUE_AHEAD.days} days ahead")],
            )
        if body.actor_id is not None and q.staff_outside(conn, caller.scope, [body.actor_id], now):
            raise ApiError(
                422,
                "invalid request body: actor_id",
                [("actor_id", f"{body.actor_id} is not active staff of your jurisdiction")],
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
            channel=body.channel,
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

        status, out, replayed = idempotent(conn, caller, key, body, perform)
    return write_response(status, out, replayed)
