"""Retention of personal data with a time limit (DOMAIN.md §7: "worker tracks have a retention
limit"): the purge of worker GPS fixes older than setting ``track_retention_days``. The audit
trail's own purge is ``queries.audit.purge`` (setting ``audit_retention_days``)."""

from __future__ import annotations

from datetime import datetime

import psycopg


def purge_tracks(conn: psycopg.Connection, before: datetime) -> int:
    """Delete the worker GPS fixes (``worker_position``) taken before ``before`` (an aware
    instant: the command's clock minus the retention); returns how many. Each worker's latest
    fix (``worker_last_position``, the live map's dot) is kept: it is the current position, not
    a track. The caller commits."""
    cur = conn.execute("DELETE FROM worker_position WHERE at < %s", (before,))
    return cur.rowcount
