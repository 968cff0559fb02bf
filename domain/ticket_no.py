"""Ticket numbers: 'GS' + local yyyymmdd of creation + the id, zero-padded to 7 digits.

Written once here; the write path binds the parts into its INSERT, the importer and the demo
build whole columns with the same parts.
"""

from __future__ import annotations

from datetime import date

PREFIX = "GS"
ID_DIGITS = 7


def day_part(local_day: date) -> str:
    """The day part of a number: the local calendar day of creation as yyyymmdd."""
    return f"{local_day:%Y%m%d}"


def ticket_no(local_day: date, ticket_id: int) -> str:
    """The number of ticket ``ticket_id`` created on ``local_day`` (local calendar day)."""
    return f"{PREFIX}{day_part(local_day)}{ticket_id:0{ID_DIGITS}d}"
