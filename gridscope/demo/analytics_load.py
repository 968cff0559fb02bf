"""After a demo load: the analytics records and rollups that follow from the loaded tickets
and workers (survey records, per-department and per-worker rollups, patrol history, the planted
hotspot). Each step lives with the concept it fills; this module only orders them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import psycopg

from domain.config import Settings
from queries.analytics import backlog


def after_load(
    conn: psycopg.Connection,
    settings: Settings,
    territory,
    seed: int,
    now: datetime,
    echo: Callable[[str], None] = print,
) -> None:
    """Run every analytics step of a demo load on ``conn`` (the caller commits)."""
    from gridscope.demo import hotspot_plant, patrol, surveys

    # The planted hotspot adds tickets: before anything that counts tickets.
    hotspot_plant.after_load(conn, settings, territory, seed, now, echo)
    echo("survey records, department and worker rollups …")
    surveys.after_load(conn, settings, territory, seed, now, echo)
    echo("patrol history …")
    patrol.after_load(conn, settings, territory, seed, now, echo)

    first = conn.execute("SELECT min(created_at) FROM ticket").fetchone()[0]
    if first is not None:
        tz = settings.tz
        echo("open-past-due snapshots …")
        backlog.take_snapshots(
            conn,
            first.astimezone(tz).date(),
            now.astimezone(tz).date() - timedelta(days=1),
            tz,
            now,
        )
