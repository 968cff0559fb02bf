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
    """Check that the database is reachable and at this version's schema."""
    from queries.db import DatabaseUnavailable, connect
    from queries.migrate import SchemaMismatch, check_schema

    try:
        with connect(app.settings) as conn:
            check_schema(conn)
    except (DatabaseUnavailable, SchemaMismatch) as exc:
        fail(str(exc))
    click.echo("database ok")
