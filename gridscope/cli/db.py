"""`gridscope db`: the database schema (migrate, check)."""

from __future__ import annotations

import click

from .common import AppContext, fail, main, pass_app


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
    """Check that the database is reachable and at this version's schema; warn when the work
    calendar of the next 60 days is not confirmed (docs/calendar.md)."""
    from queries.calendar import unconfirmed_years
    from queries.db import DatabaseUnavailable, connect
    from queries.migrate import SchemaMismatch, check_schema

    today = app.clock.now().astimezone(app.settings.tz).date()
    try:
        with connect(app.settings) as conn:
            check_schema(conn)
            pending = unconfirmed_years(conn, today)
    except (DatabaseUnavailable, SchemaMismatch) as exc:
        fail(str(exc))
    click.echo("database ok")
    # A warning, not a failure: deadlines are still computed (Monday–Friday), and scripts that
    # gate deployments on this check should not stop over a calendar an administrator enters.
    for year in pending:
        click.echo(
            f"warning: work calendar {year} not confirmed and within 60 days: Monday–Friday is"
            f" assumed; enter the State Council's schedule and run `gridscope calendar confirm"
            f" {year}` (docs/calendar.md)",
            err=True,
        )
