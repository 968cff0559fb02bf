"""Staff, their assignments and departments (issue #13). Placeholder until its owner fills it."""

from __future__ import annotations

from datetime import date, tzinfo

import psycopg


def close_ended(conn: psycopg.Connection, today: date, tz: tzinfo) -> int:
    """Close (valid_to = the start of ``ends_on`` local time) the current assignments whose
    ``ends_on`` is on or before ``today``; returns how many."""
    return 0
