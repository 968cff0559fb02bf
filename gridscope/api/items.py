"""Item list views (docs/item-list.md): the list in force on a day (GET /items), the history of
one entry (GET /items/{code}/history) and a decision (POST /items/decisions).

Any token reads the list (it is published: PY 14 "向社会公布后实施"). A decision changes the
list of the whole deployment, so it takes what the admin page takes: a read-write token whose
role is ``admin`` (``Action.ADMINISTER``) and whose jurisdiction holds every current grid of
the deployment (``queries.item_list.covers_deployment``); anything else is 403. Decisions are
idempotent by their number, so no Idempotency-Key is needed: the same decision sent again is a
200 with ``created: false``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import flask

from domain.access import Action, may
from domain.item_list import CODE, ItemRefused, decision_from
from queries import services
from queries.admin import Actor
from queries.cache import bump_data_version
from queries.item_decisions import record_decision, record_refusal
from queries.item_list import covers_deployment, history_rows, listing_rows, load_timeline

from . import context as ctx
from .errors import ApiError, json_response
from .item_models import ItemDecisionCreate, ItemQuery
from .parsing import read_json_body, read_query


def _today() -> date:
    return ctx.now().astimezone(services.current().settings.tz).date()


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def list_items() -> flask.Response:
    """The list in force on ``on`` (default today): every entry with names, limits, matter and
    the decision that made its version."""
    svc = services.current()
    with ctx.connection(svc) as conn:
        ctx.caller(conn, write=False)
        query = read_query(ItemQuery)
        day = query.on or _today()
        rows = listing_rows(load_timeline(conn), day)
    items = [{**r, "effective_on": _iso(r["effective_on"])} for r in rows]
    return json_response({"on": day.isoformat(), "items": items})


def _decision(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in ("actor", "recorded_at")}
    out["effective_on"] = _iso(row["effective_on"])
    out["recorded_at"] = ctx.iso(row["recorded_at"])
    return out


def get_item_history(code: str) -> flask.Response:
    """The decisions of one entry in effective order (empty for an entry of the list from
    before decisions were recorded); 404 for a code that is not an entry."""
    svc = services.current()
    with ctx.connection(svc) as conn:
        ctx.caller(conn, write=False)
        timeline = load_timeline(conn) if CODE.fullmatch(code) else None
        if timeline is None or code not in timeline.codes():
            raise ApiError(404, f"no entry {code[:20]!r} in the item list", [("code", "not found")])
        rows = history_rows(conn, code)
        in_force = timeline.in_force(code, _today())
    return json_response(
        {"code": code, "in_force_today": in_force, "decisions": [_decision(r) for r in rows]}
    )


def post_item_decision() -> flask.Response:
    """Record an admit, amend or withdraw decision (audited); 201, or 200 when it was already
    recorded. 422 names the field a rule refuses (the guard's message quotes PY 14 and JX 12
    and is audited as ``item_refused``); 409 for a decision number taken by another decision."""
    svc = services.current()
    settings = svc.settings
    now = ctx.now()
    with ctx.connection(svc) as conn:
        caller = ctx.caller(conn, write=True)
        if not may(caller.role, Action.ADMINISTER):
            raise ApiError(
                403,
                "only an administrator's token may change the item list",
                [("Authorization", f"role {caller.role.value} may not administer")],
            )
        if not covers_deployment(conn, caller.scope, services.app_services().scope):
            raise ApiError(
                403,
                "the item list is one list for the whole deployment: this token's jurisdiction"
                " does not hold all of it",
                [("Authorization", f"jurisdiction {caller.scope.prefix!r} is part of it only")],
            )
        body = read_json_body(ItemDecisionCreate)
        fields = {
            "code": body.code,
            "action": body.action,
            "decision_no": body.decision_no,
            "effective_on": body.effective_on,
            "name_zh": body.name_zh,
            "name_en": body.name_en,
            "normal": body.normal_limit,
            "urgent": body.urgent_limit,
            "matter": body.matter,
            "note": body.note,
        }
        actor = Actor.of_viewer(ctx.viewer())
        about = settings.jurisdiction
        try:
            proposal = decision_from(**fields)
            done = record_decision(
                conn, actor, now, _today(), proposal, about=about, tz=settings.tz
            )
            conn.commit()
        except ItemRefused as exc:
            conn.rollback()
            if exc.guarded:
                record_refusal(conn, actor, now, exc, fields, about=about)
                conn.commit()
            name = {"normal": "normal_limit", "urgent": "urgent_limit"}.get(exc.field, exc.field)
            raise ApiError(
                409 if exc.conflict else 422, f"{name}: {exc.message}", [(name, exc.message)]
            ) from None
        if done.created:
            bump_data_version(conn)
            conn.commit()
        first = done.decisions[0]
        (row,) = [r for r in history_rows(conn, first.code) if r["id"] == first.id]
    return json_response(
        {
            "created": done.created,
            "in_force": done.in_force,
            "decision": _decision(row),
            "withdrawn_minors": [d.code for d in done.decisions[1:]],
        },
        201 if done.created else 200,
    )
