"""The positions view: POST /positions stores a batch of worker GPS fixes. Every staff id
must be active staff of the token's jurisdiction now (else 422 naming each, nothing stored)."""

from __future__ import annotations

from typing import Any

import flask

from queries import api as q
from queries import services
from queries.positions import record_positions

from . import context as ctx
from . import models as m
from . import state
from .errors import ApiError
from .idempotency import idempotent, write_response
from .parsing import idempotency_key, read_json_body


def post_positions() -> flask.Response:
    """Store a batch of worker GPS fixes (staff of the token's jurisdiction only)."""
    svc, st = services.current(), state.current()
    now = ctx.now()
    with ctx.connection(svc) as conn:
        caller = ctx.caller(conn, write=True)
        body = read_json_body(m.PositionBatch)
        key = idempotency_key()
        problems = []
        for i, p in enumerate(body.positions):
            try:
                ctx.check_instant(f"positions[{i}].at", p.at, now, ctx.MAX_FIX_AGE)
            except ApiError as exc:
                problems += [(f["field"], f["problem"]) for f in exc.fields]
        if problems:
            raise ApiError(422, "invalid request body: positions", problems[:50])
        ids = sorted({p.staff_id for p in body.positions})
        outside = set(q.staff_outside(conn, caller.scope, ids, now))
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
                422, f"{len(outside)} staff id(s) outside your jurisdiction", fields[:50]
            )
        fixes = [(p.staff_id, p.at, p.long, p.lat) for p in body.positions]

        def perform() -> tuple[int, dict[str, Any]]:
            n = record_positions(conn, fixes, on_duty=body.on_duty, store=st.positions)
            return 200, {"stored": n, "max_batch": m.MAX_POSITIONS}

        status, out, replayed = idempotent(conn, caller, key, body, perform)
    return write_response(status, out, replayed)
