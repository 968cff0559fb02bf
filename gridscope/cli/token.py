"""`gridscope token`: API tokens of the ingest API (create, list, revoke)."""

from __future__ import annotations

import click

from .common import AppContext, fail, main, pass_app


@main.group()
def token() -> None:
    """API tokens for the ingest API (/api/v1): each bound to a jurisdiction."""


@token.command("create")
@click.option("--name", required=True, help="Who or what uses the token (e.g. 12345-hotline).")
@click.option(
    "--jurisdiction",
    required=True,
    help="Region or grid code prefix the token may read and write (e.g. 330402).",
)
@click.option("--read-only", is_flag=True, help="The token may read but not write.")
@pass_app
def token_create(app: AppContext, name: str, jurisdiction: str, read_only: bool) -> None:
    """Create a token and print its secret (shown once; only its SHA-256 is stored)."""
    from gridscope.api.tokens import create_token
    from queries.api import jurisdiction_exists
    from queries.db import DatabaseUnavailable, connect
    from queries.scope import Scope, ScopeError

    if not name.strip():
        raise click.BadParameter("must not be empty", param_hint="--name")
    try:
        scope = Scope(jurisdiction)
    except ScopeError as exc:
        raise click.BadParameter(str(exc), param_hint="--jurisdiction") from None
    try:
        with connect(app.settings) as conn:
            if scope.prefix and not jurisdiction_exists(conn, scope):
                fail(f"no current region or grid code starts with {jurisdiction!r}")
            prefix, secret = create_token(conn, name.strip(), scope, not read_only)
            conn.commit()
    except DatabaseUnavailable as exc:
        fail(str(exc))
    mode = "read-only" if read_only else "read-write"
    click.echo(
        f"created {mode} token {prefix} '{name.strip()}' for jurisdiction "
        f"{scope.prefix or '(all)'}; the secret is shown only now:",
        err=True,
    )
    click.echo(secret)


@token.command("list")
@pass_app
def token_list(app: AppContext) -> None:
    """List tokens (prefix, name, jurisdiction, mode, created, last used, revoked)."""
    from queries.api import list_tokens
    from queries.db import DatabaseUnavailable, connect

    try:
        with connect(app.settings) as conn:
            rows = list_tokens(conn)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    if not rows:
        click.echo("no API tokens")
        return

    def when(t):
        return t.astimezone(app.settings.tz).strftime("%Y-%m-%d %H:%M") if t else "-"

    click.echo(
        f"{'prefix':<9} {'mode':<10} {'jurisdiction':<16} {'created':<16} "
        f"{'last used':<16} {'revoked':<16} name"
    )
    for t in rows:
        mode = "read-write" if t.can_write else "read-only"
        click.echo(
            f"{t.prefix:<9} {mode:<10} {t.scope_prefix or '(all)':<16} "
            f"{when(t.created_at):<16} {when(t.last_used_at):<16} "
            f"{when(t.revoked_at):<16} {t.name}"
        )


@token.command("revoke")
@click.argument("prefix")
@pass_app
def token_revoke(app: AppContext, prefix: str) -> None:
    """Revoke the token with this prefix (the 8 hex digits after gs_); effective at once."""
    from queries.api import revoke_token
    from queries.db import DatabaseUnavailable, connect

    try:
        with connect(app.settings) as conn:
            outcome = revoke_token(conn, prefix)
            conn.commit()
    except DatabaseUnavailable as exc:
        fail(str(exc))
    if outcome == "unknown":
        fail(f"no API token with prefix {prefix!r}")
    click.echo(f"token {prefix} {'revoked' if outcome == 'revoked' else 'was already revoked'}")
