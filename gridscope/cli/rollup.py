"""`gridscope rollup`: rebuild or catch up the analytics rollups.

``run_rollups`` is what the sweep runs before it purges worker tracks: every rollup whose
source has a retention limit must have read its days by then. Add the other rollups there.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import click

from .common import AppContext, fail, main, pass_app


def _calendar(conn, settings):
    from domain.clock.work_calendar import WorkCalendar
    from queries.item_list import load_calendar_overrides

    return WorkCalendar(tz=settings.timezone, overrides=load_calendar_overrides(conn))


def roll_up_patrol(
    conn, settings, first: date, last: date, now: datetime, *, catch_up: bool = False
) -> dict[str, Any]:
    """Rebuild the patrol rollups of the local days ``first`` .. ``last`` from the positions
    (queries.analytics.patrol_build) and commit. With ``catch_up``, also every earlier day
    still complete in worker_position that has fixes and no rollup yet (a sweep that did not
    run for a while). Days begun before ``now - track_retention_days`` are skipped: their
    positions are (partly) purged and their rollup is kept. Then prunes the monthly summary of
    micro-grids retired since (a grid import)."""
    from queries.analytics.patrol_build import rollup_patrol, unrolled_days
    from queries.analytics.patrol_months import prune_retired
    from queries.scope import Scope

    scope = Scope(settings.jurisdiction)
    calendar = _calendar(conn, settings)
    retained = now - timedelta(days=settings.track_retention_days)
    result: dict[str, Any] = {"built": [], "kept": [], "skipped": [], "visits": 0, "online_rows": 0}
    days = [(first, last)]
    if catch_up:
        days = [(d, d) for d in unrolled_days(conn, scope, settings.tz, first, retained)] + days
    for a, b in days:
        got = rollup_patrol(
            conn, a, b, settings.tz, calendar, scope=scope, now=now, retained_since=retained
        )
        for key in ("built", "kept", "skipped"):
            result[key] += got[key]
        result["visits"] += got["visits"]
        result["online_rows"] += got["online_rows"]
    result["pruned"] = prune_retired(conn, scope)
    conn.commit()
    return result


def run_rollups(conn, app: AppContext, now: datetime) -> list[str]:
    """Every rollup that reads data with a retention limit, for yesterday and today (local)
    and any earlier day not rolled up yet; commits, bumps the data version when something was
    rebuilt and returns one line per rollup for the log. The sweep calls this before it
    purges; the lead adds the other rollups here."""
    from queries.cache import bump_data_version

    settings = app.settings
    today = now.astimezone(settings.tz).date()
    lines = []
    patrol = roll_up_patrol(conn, settings, today - timedelta(days=1), today, now, catch_up=True)
    lines.append("rollup patrol: " + describe(patrol))
    taken = take_backlog(conn, settings, now)
    lines.append(f"rollup backlog: {taken} day(s) of open-past-due snapshots taken")
    if patrol["built"] or taken:
        bump_data_version(conn)
        conn.commit()
    return lines


def take_backlog(conn, settings, now: datetime) -> int:
    """The open-past-due snapshots (tickets and department tasks) of the ended days since the
    last one taken (queries.analytics.backlog.catch_up); commits; returns the days taken."""
    from queries.analytics import backlog

    first = conn.execute("SELECT min(created_at) FROM ticket").fetchone()[0]
    if first is None:
        return 0
    days = backlog.catch_up(conn, settings.tz, now, first.astimezone(settings.tz).date())
    conn.commit()
    return days


def describe(result: dict[str, Any]) -> str:
    """One line: the days built, kept and skipped, and the rows written."""

    def days(values: list[str]) -> str:
        if not values:
            return "0"
        if len(values) <= 3:
            return f"{len(values)} ({', '.join(values)})"
        return f"{len(values)} ({values[0]} … {values[-1]})"

    text = (
        f"{days(result['built'])} day(s) built, {result['visits']} visit row(s), "
        f"{result['online_rows']} online row(s)"
    )
    if result["kept"]:
        text += f"; {days(result['kept'])} kept (no positions, earlier rollup stands)"
    if result["skipped"]:
        text += f"; {days(result['skipped'])} skipped (positions past retention)"
    if result.get("pruned"):
        text += f"; {result['pruned']} monthly row(s) of retired micro-grids pruned"
    return text


@main.group("rollup")
def rollup_group() -> None:
    """Rebuild the analytics rollups (patrol coverage and online time; the open-past-due
    snapshots) from their sources."""


@rollup_group.command("patrol")
@click.option(
    "--from",
    "first",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="First local day (YYYY-MM-DD). Default: yesterday.",
)
@click.option(
    "--to",
    "last",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Last local day (YYYY-MM-DD). Default: today.",
)
@pass_app
def rollup_patrol_cmd(app: AppContext, first: datetime | None, last: datetime | None) -> None:
    """Patrol visits (micro-grids visited by the grid's workers) and online minutes against
    the work calendar's schedule, per local day, from the worker positions. Re-running a day
    replaces it; days whose positions are past track_retention_days are kept as they are."""
    from queries.cache import bump_data_version
    from queries.db import DatabaseUnavailable, connect

    settings = app.settings
    now = app.clock.now()
    today = now.astimezone(settings.tz).date()
    a = first.date() if first else today - timedelta(days=1)
    b = last.date() if last else today
    if b < a:
        raise click.UsageError(f"--to {b} is before --from {a}")
    if b > today:
        raise click.UsageError(f"--to {b} is after today ({today}): nothing to roll up yet")
    if (b - a).days >= 366:
        raise click.UsageError(
            f"{a} … {b} is more than a year: positions are kept "
            f"{settings.track_retention_days} days"
        )
    try:
        with connect(settings) as conn:
            result = roll_up_patrol(conn, settings, a, b, now)
            if result["built"]:
                bump_data_version(conn)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    click.echo(f"rollup patrol {a} … {b}: " + describe(result))


@rollup_group.command("backlog")
@pass_app
def backlog_cmd(app: AppContext) -> None:
    """Take the daily snapshots of tickets and tasks open past their due time for every ended
    day since the last one taken (the sweep does it too)."""
    from queries.db import connect

    now = app.clock.now()
    with connect(app.settings) as conn:
        conn.execute("SET statement_timeout = 0")
        days = take_backlog(conn, app.settings, now)
    click.echo(f"open-past-due snapshots: {days} day(s) taken")
