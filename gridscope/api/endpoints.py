"""The one registry of /api/v1 (``ENDPOINTS``): it registers the routes and generates the
OpenAPI document and docs page. The views live by concern: ``tickets`` (create, list, detail),
``transitions``, ``positions`` and ``reference`` (services, documents, index).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import flask
from pydantic import BaseModel

from . import item_models as im
from . import models as m
from .context import PREFIX
from .items import get_item_history, list_items, post_item_decision
from .positions import post_positions
from .reference import get_docs, get_index, get_openapi, list_services
from .tickets import get_ticket, list_tickets, post_ticket
from .transitions import post_transition

__all__ = ["ENDPOINTS", "PREFIX", "Endpoint", "get_index"]

# ---- the registry ------------------------------------------------------------------------------

_E401 = (401, "Missing, unknown or revoked token.")
_E403R = (403, "The token's jurisdiction lies outside this server's.")
_E403W = (
    403,
    "Read-only token or role, or the token's jurisdiction lies outside this server's.",
)
_E422 = (422, "Invalid field(s); the body names each field and its problem.")
_E400 = (400, "Body empty, not UTF-8 or not JSON.")
_E413 = (413, "Body larger than the limit (setting max_body_bytes, 1 MiB by default).")
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
            (403, "Read-only token or role, or grid_code outside the jurisdiction."),
            (409, "external_id used outside your jurisdiction, or Idempotency-Key interrupted."),
            _E413,
            _E415,
            _E422,
        ),
        idempotency_key=True,
        description="Open311 GeoReport v2 field names plus grid_code, urgency, source and "
        "external_id. The point must lie in the token's jurisdiction (422 lat/long) and, when "
        "grid_code is given, in that grid (422 grid_code), each within the tolerance "
        "(setting point_tolerance_m, 50 m by default). Without grid_code the grid covering "
        "the point is used, or the nearest one within the tolerance.",
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
        errors=(
            _E401,
            (403, "grid_code outside the jurisdiction, or the token's outside this server's."),
            _E422,
        ),
        description=f"Keyset paging: pass paging.next_cursor as cursor. At most "
        f"{m.MAX_PAGE} tickets a page; a larger limit is clamped and the response says so "
        "(paging.clamped, notice). No address or description in lists; lat/long are null "
        "below tier L3 (special populations and disputes: below L4). Lists with exact points "
        "are written to the audit log.",
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
            _E403R,
            (404, "No such ticket in the jurisdiction."),
        ),
        description="Masked by the token's role: below tier L3 the address is cut to road "
        "level, description, comments and the point are null. Reads of personal data "
        "(tier L3 and up) are written to the audit log.",
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
        "event log, rollups and stage clocks, in one transaction. actor_id must be active "
        "staff of the token's jurisdiction (422 otherwise).",
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
            _E403W,
            _E413,
            _E415,
            (
                422,
                f"Invalid fix(es), staff outside the jurisdiction, or more than "
                f"{m.MAX_POSITIONS} in one batch.",
            ),
        ),
        idempotency_key=True,
        tags=("positions",),
        description=f"At most {m.MAX_POSITIONS} fixes per request. Every staff id must "
        "be active staff of the token's jurisdiction now, else nothing is stored (422 naming "
        "each).",
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
        errors=(_E401, _E403R),
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
        errors=(_E401, _E403R),
        tags=("services",),
        alias_of="list_services",
    ),
    Endpoint(
        "list_items",
        "GET",
        "/items",
        list_items,
        "The item list in force on a day",
        "read",
        query=im.ItemQuery,
        ok=((200, "The entries in force on the day, by code.", im.ItemList),),
        errors=(_E401, _E403R, _E422),
        tags=("items",),
        description="The item list (事项清单) as its decisions leave it on the local day `on` "
        "(default today): codes, names, limits (一般时限 and 紧急时限, the T5 handling "
        "limits), matter, and the decision number and effective date of each entry's version "
        "(null for entries of the list from before decisions were recorded).",
    ),
    Endpoint(
        "get_item_history",
        "GET",
        "/items/<code>/history",
        get_item_history,
        "The decisions of one entry",
        "read",
        ok=((200, "The entry's decisions in effective order.", im.ItemHistory),),
        errors=(_E401, _E403R, (404, "No such entry in the item list.")),
        tags=("items",),
    ),
    Endpoint(
        "create_item_decision",
        "POST",
        "/items/decisions",
        post_item_decision,
        "Admit, amend or withdraw an entry",
        "write",
        body=im.ItemDecisionCreate,
        ok=(
            (201, "Recorded.", im.ItemDecisionResult),
            (200, "The same decision was recorded before: nothing changed.", im.ItemDecisionResult),
        ),
        errors=(
            _E400,
            _E401,
            (
                403,
                "Not a read-write token of the admin role whose jurisdiction holds the whole "
                "deployment.",
            ),
            (409, "The decision number is already used for another decision of this entry."),
            _E413,
            _E415,
            (
                422,
                "Invalid field(s), a decision the list's history refuses, or a licensing, "
                "penalty or enforcement matter (the message quotes PY 14 and JX 12).",
            ),
        ),
        tags=("items",),
        description="Decisions take effect on their effective date (today or earlier: at once). "
        "Withdrawing a major withdraws its minors in force that day. Audited (item_admit, "
        "item_amend, item_withdraw; a guarded matter: item_refused).",
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
