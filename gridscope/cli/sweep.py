"""`gridscope sweep`: record the supervision steps reached (reminder, yellow, red card), and
purge what is past retention (audit rows, worker GPS tracks) once a day."""

from __future__ import annotations

from datetime import datetime, timedelta

import click

from .common import AppContext, fail, main, pass_app

# With --every, retention purges run at most this often (the settings speak in days).
PURGE_EVERY = timedelta(days=1)


def purge_expired(conn, app: AppContext, now: datetime) -> tuple[int, int]:
    """Delete audit rows older than ``audit_retention_days`` and worker GPS fixes older than
    ``track_retention_days`` (by ``now``) and commit; returns (audit rows, fixes)."""
    from queries.retention import purge_tracks

    from .audit import purge_audit

    audit_n = purge_audit(conn, app, now)
    tracks_n = purge_tracks(conn, now - timedelta(days=app.settings.track_retention_days))
    conn.commit()
    return audit_n, tracks_n


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
    purge audit rows and worker tracks past their retention (settings audit_retention_days,
    track_retention_days; daily with --every)."""
    import time

    from queries.db import DatabaseUnavailable, connect
    from queries.scope import Scope
    from queries.supervision import sweep

    clock = app.clock
    settings = app.settings
    last_purge: datetime | None = None
    try:
        with connect(settings) as conn:
            while True:
                now = clock.now()
                n = sweep(conn, Scope(settings.jurisdiction), now)
                click.echo(f"sweep: {n} supervision step(s) recorded")
                if last_purge is None or now - last_purge >= PURGE_EVERY:
                    audit_n, tracks_n = purge_expired(conn, app, now)
                    last_purge = now
                    click.echo(
                        f"retention: {audit_n} audit row(s) older than "
                        f"{settings.audit_retention_days} days, {tracks_n} worker position(s) "
                        f"older than {settings.track_retention_days} days purged"
                    )
                if every is None:
                    return
                time.sleep(every)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        return
