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


if __name__ == "__main__":  # pragma: no cover
    main()
