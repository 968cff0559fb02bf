"""`gridscope token`: API tokens of the ingest API (create, list, revoke)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from domain.access import Role

from .common import AppContext, fail, local_minute, main, pass_app

if TYPE_CHECKING:
    import psycopg


def _audit(
    app: AppContext,
    conn: psycopg.Connection,
    action: str,
    prefix: str,
    jurisdiction: str,
    detail: dict[str, Any],
) -> None:
    """The audit row of a token change made from the command line (in the change's
    transaction: it lands with the change or not at all)."""
    from queries import audit

    event = audit.AuditEvent(
        "cli",
        os.environ.get("USER", "") or "cli",
        action,
        jurisdiction=jurisdiction,
        object="api_token",
        object_ids=[prefix],
        detail=detail,
    )
    audit.write(conn, event, app.clock.now(), commit=False)


@main.group()
def token() -> None:
    """API tokens for the ingest API (/api/v1): each bound to a jurisdiction."""


@token.command("create")
@click.option("--name", required=True, help="Who or what uses the token (e.g. 12345-hotline).")
@click.option(
    "--jurisdiction",
    default=None,
    help="Region or grid code prefix the token may read and write (e.g. 330402); required "
    "unless --all.",
)
@click.option(
    "--all",
    "whole",
    is_flag=True,
    help="The token covers the whole database (bounded by the server's jurisdiction).",
)
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.DISPATCHER.value,
    show_default=True,
    help="Role of domain.access: the tier of the data the token reads back unmasked, and "
    "whether it may write (only roles with write_tickets).",
)
@click.option("--read-only", is_flag=True, help="The token may read but not write.")
@pass_app
def token_create(
    app: AppContext,
    name: str,
    jurisdiction: str | None,
    whole: bool,
    role: str,
    read_only: bool,
) -> None:
    """Create a token and print its secret (shown once; only its SHA-256 is stored)."""
    from domain.access import Action, may
    from gridscope.api.tokens import create_token
    from queries.accounts import region_or_grid_exists
    from queries.db import DatabaseUnavailable, connect
    from queries.scope import Scope, ScopeError, bounded_scope

    if not name.strip():
        raise click.BadParameter("must not be empty", param_hint="--name")
    code = (jurisdiction or "").strip()
    if whole and jurisdiction is not None:
        raise click.UsageError("give either --jurisdiction or --all, not both")
    if not whole and not code:
        # An empty prefix is the whole database: never by accident.
        raise click.BadParameter(
            "must name a region or grid code prefix (use --all for a whole-database token)",
            param_hint="--jurisdiction",
        )
    try:
        scope = Scope(code)
    except ScopeError as exc:
        raise click.BadParameter(str(exc), param_hint="--jurisdiction") from None
    if bounded_scope(Scope(app.settings.jurisdiction), scope.prefix) is None:
        raise click.BadParameter(
            f"{code!r} lies outside this server's jurisdiction {app.settings.jurisdiction!r}",
            param_hint="--jurisdiction",
        )
    can_write = not read_only and may(role, Action.WRITE_TICKETS)
    try:
        with connect(app.settings) as conn:
            if scope.prefix and not region_or_grid_exists(conn, scope.prefix):
                fail(f"no current region or grid code starts with {code!r}")
            with conn.transaction():
                prefix, secret = create_token(conn, name.strip(), scope, can_write, Role(role))
                detail = {"name": name.strip(), "role": role, "can_write": can_write}
                _audit(app, conn, "token_create", prefix, scope.prefix, detail)
            conn.commit()
    except DatabaseUnavailable as exc:
        fail(str(exc))
    mode = "read-write" if can_write else "read-only"
    click.echo(
        f"created {mode} {role} token {prefix} '{name.strip()}' for jurisdiction "
        f"{scope.prefix or '(all)'}; the secret is shown only now:",
        err=True,
    )
    click.echo(secret)


@token.command("list")
@pass_app
def token_list(app: AppContext) -> None:
    """List tokens (prefix, mode, role, jurisdiction, created, last used, revoked, name)."""
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
        return local_minute(t, app.settings.tz)

    click.echo(
        f"{'prefix':<9} {'mode':<10} {'role':<10} {'jurisdiction':<16} {'created':<16} "
        f"{'last used':<16} {'revoked':<16} name"
    )
    for t in rows:
        mode = "read-write" if t.can_write else "read-only"
        click.echo(
            f"{t.prefix:<9} {mode:<10} {t.role:<10} {t.scope_prefix or '(all)':<16} "
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
            with conn.transaction():
                outcome, jurisdiction = revoke_token(conn, prefix)
                if outcome == "revoked":
                    _audit(app, conn, "token_revoke", prefix, jurisdiction, {})
            conn.commit()
    except DatabaseUnavailable as exc:
        fail(str(exc))
    if outcome == "unknown":
        fail(f"no API token with prefix {prefix!r}")
    click.echo(f"token {prefix} {'revoked' if outcome == 'revoked' else 'was already revoked'}")
