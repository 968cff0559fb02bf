"""What a reader's role sees of a ticket (DOMAIN.md §7): the API, the workbench's table,
drawer and exports all go through here; the audit row of what was seen is
``queries.audit.ticket_read``. The tier of the reader's role
(``domain.access``) decides, field by field, through ``domain.masking``:

- the exact point (``ticket.point``, L3; ``ticket.sensitive_point``, L4, for special
  populations and disputes): shown, or left out (``lat``/``long`` null);
- the address (``ticket.address``, L3): shown as stored, or cut to road level;
- free text a resident's report may carry personal data in (description, timeline comments):
  shown from the address's tier up, left out below it.

A response that shows L3 or L4 data writes one ``audit_event`` row on the request's connection
before it is sent.
"""

from __future__ import annotations

from typing import Any

from domain.access import is_sensitive_category
from domain.masking import Masker

POINT = "ticket.point"
SENSITIVE_POINT = "ticket.sensitive_point"
ADDRESS = "ticket.address"

READ_ACTION = "api_ticket_read"
LIST_ACTION = "api_ticket_list"


def point_field(category_code: str | None) -> str:
    """The field (of ``domain.access.FIELD_TIERS``) a ticket's exact point is read as."""
    return SENSITIVE_POINT if is_sensitive_category(category_code) else POINT


def point(masker: Masker, row: dict[str, Any]) -> tuple[float | None, float | None]:
    """(lat, long) of the ticket (WGS84 degrees) when the reader's tier shows its exact point,
    else (None, None)."""
    if not masker.sees(point_field(row["category_code"])):
        return None, None
    return row["lat"], row["lon"]


def address(masker: Masker, value: str | None) -> str | None:
    """The ticket's address as the reader may see it (cut to road level below L3)."""
    return masker.field(ADDRESS, value)


def free_text(masker: Masker, value: str | None) -> str | None:
    """Free text of a report (description, comments): as stored from the address's tier up,
    left out below it (a resident's name or phone may be in it; it cannot be masked reliably)."""
    return value if masker.sees(ADDRESS) else None


def shown_fields(masker: Masker, category_code: str | None) -> list[str]:
    """The personal fields (L3 and up) of a ticket of ``category_code`` that the reader gets
    unmasked: empty when nothing needs an audit row."""
    return [f for f in (ADDRESS, point_field(category_code)) if masker.sees(f)]
