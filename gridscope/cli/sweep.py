"""`gridscope sweep`: record the supervision steps reached (reminder, yellow, red card)."""

from __future__ import annotations

import click

from .common import AppContext, fail, main, pass_app


@main.command("sweep")
@click.option(
    "--every",
    type=click.FloatRange(min=5),
    default=None,
    help="Repeat every this many seconds (default: once, for cron).",
)
@pass_app
def sweep_cmd(app: AppContext, every: float | None) -> None:
    """Record supervision steps (reminder, yellow card, red card) reached since the last sweep."""
    import time

    from queries.db import DatabaseUnavailable, connect
    from queries.scope import Scope
    from queries.supervision import sweep

    clock = app.clock
    try:
        with connect(app.settings) as conn:
            while True:
                n = sweep(conn, Scope(app.settings.jurisdiction), clock.now())
                click.echo(f"sweep: {n} supervision step(s) recorded")
                if every is None:
                    return
                time.sleep(every)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        return
