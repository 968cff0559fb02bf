"""The `gridscope` command. Usage errors exit with 2; operational errors print one line, exit 1."""

from __future__ import annotations

import logging
import sys

import click

from gridscope.config import Settings, load_settings


class AppContext:
    def __init__(self) -> None:
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings()
            except ValueError as exc:
                raise click.UsageError(f"configuration: {exc}".replace("\n", " ")) from None
        return self._settings


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def fail(message: str) -> None:
    """Print a one-line error and exit 1 (no traceback for operational failures)."""
    click.echo(f"gridscope: error: {message}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log at INFO level.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """gridscope: command-centre GIS dashboard for grid-based service management."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.ensure_object(AppContext)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("migrate")
@click.option("--create/--no-create", default=True, help="Create the database if missing.")
@pass_app
def db_migrate(app: AppContext, create: bool) -> None:
    """Apply schema migrations (idempotent)."""
    from queries.db import DatabaseUnavailable
    from queries.migrate import SchemaMismatch, ensure_database, upgrade

    settings = app.settings
    try:
        if create and ensure_database(settings):
            click.echo("created database")
        before, after = upgrade(settings)
    except (DatabaseUnavailable, SchemaMismatch) as exc:
        fail(str(exc))
    if before == after:
        click.echo(f"schema already at revision {after}")
    else:
        click.echo(f"schema migrated from {before or 'empty'} to {after}")


@db.command("check")
@pass_app
def db_check(app: AppContext) -> None:
    """Check that the database is reachable and at this version's schema."""
    from queries.db import DatabaseUnavailable, connect
    from queries.migrate import SchemaMismatch, check_schema

    try:
        with connect(app.settings) as conn:
            check_schema(conn)
    except (DatabaseUnavailable, SchemaMismatch) as exc:
        fail(str(exc))
    click.echo("database ok")


@main.group()
def demo() -> None:
    """The demo city: load it, keep it alive."""


@demo.command("load")
@click.option("--size", type=click.Choice(["small", "city", "large"]), default="city",
              show_default=True, help="small: one town, ~5k tickets; city: 22 towns, 320k tickets;"
              " large: 72 towns, 5M tickets.")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=42, show_default=True,
              help="Random seed; the same seed gives the same city.")
@click.option("--reuse", is_flag=True,
              help="Do nothing when a demo of this size and seed is already loaded.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_app
def demo_load(app: AppContext, size: str, seed: int, reuse: bool, quiet: bool) -> None:
    """Generate the demo city and bulk-load it (replaces any demo data)."""
    from gridscope.demo.load import load_demo, loaded_demo
    from queries.db import DatabaseUnavailable
    from queries.migrate import SchemaMismatch

    settings = app.settings
    try:
        if reuse:
            meta = loaded_demo(settings)
            if meta and meta.get("size") == size and meta.get("seed") == seed:
                click.echo(f"demo already loaded ({size}, seed {seed}, {meta.get('tickets'):,}"
                           f" tickets, loaded {meta.get('loaded_at')}); reusing it")
                return
        report = load_demo(settings, size, seed, echo=click.echo, progress=not quiet)
    except (DatabaseUnavailable, SchemaMismatch) as exc:
        fail(str(exc))
    click.echo(
        f"loaded {report.size} demo (seed {report.seed}): {report.grids:,} grids, "
        f"{report.micro_grids:,} micro-grids, {report.staff:,} staff, {report.tickets:,} tickets, "
        f"{report.tasks:,} tasks, {report.events:,} events in {report.seconds_total:.1f} s "
        f"(territory {report.seconds_territory:.1f} s, simulation {report.seconds_simulate:.1f} s,"
        f" COPY {report.seconds_copy:.1f} s, indexes+rollups {report.seconds_index:.1f} s)")
    click.echo(f"load rate: {report.tickets_per_s:,.0f} tickets/s (simulate + COPY)")


@demo.command("live")
@click.option("--rate", type=click.FloatRange(0, 6000), default=6.0, show_default=True,
              help="New tickets per minute.")
@click.option("--steps", type=click.FloatRange(0, 60000), default=40.0, show_default=True,
              help="Workflow steps per minute.")
@click.option("--ping", type=click.FloatRange(1, 600), default=15.0, show_default=True,
              help="Seconds between a worker's GPS fixes.")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=1, show_default=True)
@click.option("--duration", type=click.FloatRange(min=1), default=None,
              help="Stop after this many seconds (default: run until Ctrl-C).")
@pass_app
def demo_live(app: AppContext, rate: float, steps: float, ping: float, seed: int,
              duration: float | None) -> None:
    """Keep the demo alive in real time: new tickets, workflow steps, worker GPS fixes."""
    from gridscope.demo.live import run_live
    from queries.db import DatabaseUnavailable

    try:
        stats = run_live(app.settings, rate_per_min=rate, steps_per_min=steps,
                         ping_interval_s=ping, seed=seed, duration_s=duration, echo=click.echo)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        return
    click.echo(f"live: created {stats.created}, advanced {stats.advanced}, "
               f"refused {stats.refused}, fixes {stats.fixes}")


@main.command("serve")
@click.option("--debug", is_flag=True, help="Dash development server with hot reload.")
@click.option("--host", default=None, help="Bind address (default from settings).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default 8050).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="gunicorn worker processes (default from settings).")
@pass_app
def serve(app: AppContext, debug: bool, host: str | None, port: int | None,
          workers: int | None) -> None:
    """Serve the dashboard (gunicorn; --debug for the Dash dev server)."""
    from datetime import UTC, datetime, timedelta

    from queries.bulk import ensure_ticket_partitions
    from queries.db import DatabaseUnavailable, connect
    from queries.migrate import SchemaMismatch, check_schema

    settings = app.settings
    host = host or settings.host
    port = port or settings.port
    try:
        with connect(settings) as conn:
            check_schema(conn)
            now = datetime.now(UTC)
            ensure_ticket_partitions(conn, now, now + timedelta(days=62))
            conn.commit()
    except (DatabaseUnavailable, SchemaMismatch) as exc:
        fail(str(exc))
    click.echo(f"gridscope serving on http://{host}:{port}/screen")
    if debug:
        from app import create_app

        create_app(settings).run(host=host, port=port, debug=True)
        return
    from gridscope.wsgi import run_gunicorn

    run_gunicorn(settings, host=host, port=port, workers=workers or settings.workers)


if __name__ == "__main__":  # pragma: no cover
    main()
