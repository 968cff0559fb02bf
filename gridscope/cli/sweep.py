"""`gridscope sweep`: record the supervision steps reached (reminder, yellow, red card), roll
up what reads worker tracks (patrol coverage, online time) for yesterday and today, and purge
what is past retention (audit rows, worker GPS tracks) once a day. ``purge_expired`` runs the
rollups itself before it deletes a single fix, so no day is lost to retention; between purges
the rollups run hourly so that today's figures stay current."""

from __future__ import annotations

from datetime import datetime, timedelta

import click

from .common import AppContext, fail, main, pass_app

# With --every, retention purges run at most this often (the settings speak in days).
PURGE_EVERY = timedelta(days=1)
# With --every, the rollups of yesterday and today run this often between purges: today's
# patrol coverage and online rate on /analytics are at most this old.
ROLLUP_EVERY = timedelta(hours=1)


def purge_expired(conn, app: AppContext, now: datetime) -> tuple[int, int]:
    """Roll up what reads worker tracks (``rollup.run_rollups``: yesterday, today and any day
    not rolled up yet) and commit, then delete audit rows older than ``audit_retention_days``
    and worker GPS fixes older than ``track_retention_days`` (by ``now``) and commit; returns
    (audit rows, fixes). A rollup that fails raises before anything is purged."""
    from queries.retention import purge_tracks

    from .audit import purge_audit
    from .rollup import run_rollups

    for line in run_rollups(conn, app, now):
        click.echo(line)
    audit_n = purge_audit(conn, app, now)
    tracks_n = purge_tracks(conn, now - timedelta(days=app.settings.track_retention_days))
    conn.commit()
    return audit_n, tracks_n


def onboarding_sweep(conn, app: AppContext, now: datetime) -> list[str]:
    """Close the staff assignments whose end date has come and bring the item list's in-force
    flags (category.admitted) to the decisions effective today; commit. One line per change."""
    from queries import item_list, roster
    from queries.cache import bump_data_version

    today = now.astimezone(app.settings.tz).date()
    lines = []
    if n := roster.close_ended(conn, today, app.settings.tz):
        lines.append(f"staff: {n} assignment(s) reached their end date and were closed")
    if n := item_list.refresh_in_force(conn, today, app.settings.tz):
        lines.append(f"item list: {n} entr(y/ies) came into or went out of force today")
    conn.commit()
    if lines:  # grid cards, the worker layer and the category lists are cached per version
        bump_data_version(conn)
        conn.commit()
    return lines


@main.command("sweep")
@click.option(
    "--every",
    type=click.FloatRange(min=5),
    default=None,
    help="Repeat every this many seconds (default: once, for cron).",
)
@pass_app
def sweep_cmd(app: AppContext, every: float | None) -> None:
    """Record supervision steps (reminder, yellow card, red card) reached since the last sweep;
    roll up patrol coverage and online time of yesterday and today from the worker positions
    (hourly with --every); then purge audit rows and worker tracks past their retention
    (settings audit_retention_days, track_retention_days; daily with --every)."""
    import time

    from queries.db import DatabaseUnavailable, connect
    from queries.scope import Scope
    from queries.supervision import sweep

    from .rollup import run_rollups

    clock = app.clock
    settings = app.settings
    last_purge: datetime | None = None
    last_rollup: datetime | None = None
    try:
        with connect(settings) as conn:
            while True:
                now = clock.now()
                n = sweep(conn, Scope(settings.jurisdiction), now)
                click.echo(f"sweep: {n} supervision step(s) recorded")
                for line in onboarding_sweep(conn, app, now):
                    click.echo(line)
                if last_purge is None or now - last_purge >= PURGE_EVERY:
                    audit_n, tracks_n = purge_expired(conn, app, now)  # rolls up first
                    last_purge = last_rollup = now
                    click.echo(
                        f"retention: {audit_n} audit row(s) older than "
                        f"{settings.audit_retention_days} days, {tracks_n} worker position(s) "
                        f"older than {settings.track_retention_days} days purged"
                    )
                elif last_rollup is None or now - last_rollup >= ROLLUP_EVERY:
                    for line in run_rollups(conn, app, now):
                        click.echo(line)
                    last_rollup = now
                if every is None:
                    return
                time.sleep(every)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        return
