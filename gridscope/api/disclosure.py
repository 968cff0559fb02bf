"""The API's view of ``domain.disclosure`` (what a token's role sees of a ticket) and of
``queries.audit.ticket_read`` (the audit row of what it saw), under the names the API's
modules use."""

from __future__ import annotations

from domain.disclosure import (
    ADDRESS,
    LIST_ACTION,
    POINT,
    READ_ACTION,
    SENSITIVE_POINT,
    address,
    free_text,
    point,
    point_field,
    shown_fields,
)
from queries.audit import ticket_read as audit_read

__all__ = [
    "ADDRESS",
    "LIST_ACTION",
    "POINT",
    "READ_ACTION",
    "SENSITIVE_POINT",
    "address",
    "audit_read",
    "free_text",
    "point",
    "point_field",
    "shown_fields",
]
