"""`gridscope serve`: the dashboard and the API under gunicorn (or the Dash dev server)."""

from __future__ import annotations

import logging

import click

from .common import AppContext, fail, main, pass_app


@main.command("serve")
@click.option("--debug", is_flag=True, help="Dash development server with hot reload.")
@click.option("--host", default=None, help="Bind address (default from settings).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default 8050).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="gunicorn worker processes (default from settings).",
)
@pass_app
def serve(
    app: AppContext, debug: bool, host: str | None, port: int | None, workers: int | None
) -> None:
    """Serve the dashboard (gunicorn; --debug for the Dash dev server)."""
    from datetime import timedelta

    from queries.bulk import ensure_ticket_partitions
    from queries.db import DatabaseUnavailable, connect
    from queries.migrate import SchemaMismatch, check_schema

    if not debug:
        from gridscope.memory import reexec_with_system_malloc

        reexec_with_system_malloc()  # before any work: the process starts again from the top
    settings = app.settings
    # psycopg_pool logs every failed reconnect attempt of every worker; services.faults
    # reports an outage once instead (issue #10: 1,140 lines in a minute of outage).
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
    host = host or settings.host
    port = port or settings.port
    try:
        with connect(settings) as conn:
            check_schema(conn)
            # Partitions for the next two months of the clock the app will run on.
            now = app.clock.now()
            ensure_ticket_partitions(conn, now, now + timedelta(days=62))
            conn.commit()
    except SchemaMismatch as exc:
        fail(str(exc))
    except DatabaseUnavailable as exc:
        # Serve anyway: the workers answer 503 until PostgreSQL answers, then check the schema
        # themselves (a server that refuses to start cannot recover by itself).
        click.echo(
            f"gridscope: warning: {exc}; serving 503 until the database answers "
            "(ticket partitions not checked)",
            err=True,
        )
    click.echo(f"gridscope serving on http://{host}:{port}/screen")
    if debug:
        from app import create_app

        create_app(settings).run(host=host, port=port, debug=True)
        return
    from gridscope.wsgi import run_gunicorn

    run_gunicorn(settings, host=host, port=port, workers=workers or settings.workers)
