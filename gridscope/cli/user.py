"""`gridscope user`: sign-in accounts (add, list, passwd, disable, enable, role).

Every change is audited (actor_kind 'cli', actor_name $USER) in the transaction that makes it;
the rules are those of the admin page /admin/users (queries.admin). Passwords are read from a
hidden prompt, or one line of standard input with --password-stdin (for scripts), and pass the
strength rule (gridscope.auth.passwords; demo passwords only with setting demo_mode).
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from .common import AppContext, fail, local_minute, main, pass_app


def cli_actor(app: AppContext):
    """The command line as the actor of an audited change: every account, new jurisdictions
    inside the deployment bound (setting ``jurisdiction``)."""
    from gridscope.imports.actor import command_line_actor

    return command_line_actor(app.settings)


def refuse(exc, option: str | None = None) -> NoReturn:
    """A rule's refusal (queries.admin.AdminError) as a usage error (exit 2)."""
    hints = {"username": "USERNAME", "role": "--role", "jurisdiction": "--jurisdiction"}
    raise click.BadParameter(exc.message, param_hint=option or hints.get(exc.field, exc.field))


def read_password(username: str, from_stdin: bool, demo_mode: bool) -> str:
    """A new password for ``username``: prompted twice (hidden) or one line of stdin; a weak
    one is a usage error naming why."""
    from gridscope.auth.passwords import WeakPassword, check_strength

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(
            f"password for {username}", hide_input=True, confirmation_prompt=True
        )
    if not password:
        raise click.UsageError("password refused: empty")
    try:
        check_strength(password, username, demo_mode=demo_mode)
    except WeakPassword as exc:
        raise click.UsageError(f"password refused: {exc}") from None
    return password


def _jurisdiction_option(jurisdiction: str | None, whole: bool) -> str | None:
    if whole and jurisdiction:
        raise click.BadParameter(
            "give either a code or --all, not both", param_hint="--jurisdiction"
        )
    if whole:
        return ""
    if jurisdiction is not None and not jurisdiction.strip():
        raise click.BadParameter(
            "empty: give a region or grid code, or --all for the whole deployment",
            param_hint="--jurisdiction",
        )
    return jurisdiction


@main.group()
def user() -> None:
    """Sign-in accounts: each with a role and a jurisdiction (docs/access.md)."""


_ROLES = click.Choice(["wall", "leader", "analyst", "dispatcher", "admin"])


@user.command("add")
@click.argument("username")
@click.option("--role", type=_ROLES, required=True, help="Role (domain/access.py).")
@click.option("--jurisdiction", default=None, help="Region or grid code prefix, e.g. 330402007.")
@click.option("--all", "whole", is_flag=True, help="The whole deployment (no jurisdiction).")
@click.option("--name", "display_name", default="", help="Display name, e.g. 张三.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_app
def user_add(
    app: AppContext,
    username: str,
    role: str,
    jurisdiction: str | None,
    whole: bool,
    display_name: str,
    password_stdin: bool,
) -> None:
    """Create an account (password prompted, or --password-stdin)."""
    from gridscope.auth.passwords import hash_password
    from queries import admin
    from queries.accounts import user_by_name
    from queries.db import DatabaseUnavailable, connect

    code = _jurisdiction_option(jurisdiction, whole)
    if code is None:
        raise click.BadParameter("required (or --all)", param_hint="--jurisdiction")
    actor = cli_actor(app)
    try:
        name = admin.check_username(username)
        shown = admin.check_display_name(display_name)
        role_ = admin.check_role(role)
    except admin.AdminError as exc:
        refuse(exc)
    try:
        with connect(app.settings) as conn:
            try:
                code = admin.check_jurisdiction(conn, code, actor.bound, allow_all=whole)
                if user_by_name(conn, name) is not None:
                    fail(f"an account named {name!r} exists already")
                password = read_password(name, password_stdin, app.settings.demo_mode)
                uid = admin.add_user(
                    conn,
                    actor,
                    app.clock.now(),
                    username=name,
                    display_name=shown,
                    role=role_,
                    jurisdiction=code,
                    password_hash=hash_password(password),
                )
                conn.commit()
            except admin.AdminError as exc:
                refuse(exc)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    click.echo(f"created account {name} (id {uid}): {role_.value}, jurisdiction {code or '(all)'}")


@user.command("list")
@pass_app
def user_list(app: AppContext) -> None:
    """List accounts (username, role, jurisdiction, active, last login, display name)."""
    from queries.accounts import list_users
    from queries.db import DatabaseUnavailable, connect
    from queries.scope import WHOLE

    try:
        with connect(app.settings) as conn:
            rows = list_users(conn, WHOLE)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    if not rows:
        click.echo("no accounts")
        return

    def when(t):
        return local_minute(t, app.settings.tz)

    click.echo(
        f"{'username':<20} {'role':<11} {'jurisdiction':<14} {'active':<7} {'last login':<16} name"
    )
    for r in rows:
        click.echo(
            f"{r['username']:<20} {r['role']:<11} {r['jurisdiction'] or '(all)':<14} "
            f"{'yes' if r['active'] else 'no':<7} {when(r['last_login_at']):<16} "
            f"{r['display_name']}"
        )


def _change(app: AppContext, username: str, apply) -> object:
    """Run ``apply(conn, actor, now, row)`` on the account ``username``; rule refusals exit 2."""
    from queries import admin
    from queries.db import DatabaseUnavailable, connect

    actor = cli_actor(app)
    try:
        with connect(app.settings) as conn:
            try:
                row = admin.find_user(conn, actor, username)
            except admin.AdminError:
                fail(f"no account named {username!r}")
            try:
                outcome = apply(conn, actor, app.clock.now(), row)
                conn.commit()
                return outcome
            except admin.AdminError as exc:
                refuse(exc)
    except DatabaseUnavailable as exc:
        fail(str(exc))


@user.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_app
def user_passwd(app: AppContext, username: str, password_stdin: bool) -> None:
    """Set a new password (ends the account's open sessions)."""
    from gridscope.auth.passwords import hash_password
    from queries import admin

    def apply(conn, actor, now, row):
        password = read_password(row.username, password_stdin, app.settings.demo_mode)
        admin.set_password(conn, actor, now, row, hash_password(password))

    _change(app, username, apply)
    click.echo(f"password of {username} changed; its open sessions are ended")


def _set_active(app: AppContext, username: str, active: bool) -> None:
    from queries import admin

    changed = _change(
        app, username, lambda conn, actor, now, row: admin.set_active(conn, actor, now, row, active)
    )
    state = "enabled" if active else "disabled"
    click.echo(
        f"account {username} {state}" if changed else f"account {username} was already {state}"
    )


@user.command("disable")
@click.argument("username")
@pass_app
def user_disable(app: AppContext, username: str) -> None:
    """Disable an account (it can no longer sign in; its sessions end at once)."""
    _set_active(app, username, False)


@user.command("enable")
@click.argument("username")
@pass_app
def user_enable(app: AppContext, username: str) -> None:
    """Enable a disabled account."""
    _set_active(app, username, True)


@user.command("role")
@click.argument("username")
@click.argument("role", type=_ROLES)
@click.option("--jurisdiction", default=None, help="Also move the account to this code.")
@click.option("--all", "whole", is_flag=True, help="Also move it to the whole deployment.")
@pass_app
def user_role(
    app: AppContext, username: str, role: str, jurisdiction: str | None, whole: bool
) -> None:
    """Change an account's role (and jurisdiction); ends its open sessions."""
    from queries import admin

    code = _jurisdiction_option(jurisdiction, whole)

    def apply(conn, actor, now, row):
        new_code = None
        if code is not None:
            new_code = admin.check_jurisdiction(conn, code, actor.bound, allow_all=whole)
        return admin.set_role(conn, actor, now, row, admin.check_role(role), new_code), new_code

    changed, new_code = _change(app, username, apply)
    where = "" if new_code is None else f", jurisdiction {new_code or '(all)'}"
    if changed:
        click.echo(f"account {username}: role {role}{where}; its open sessions are ended")
    else:
        click.echo(f"account {username} already has role {role}{where}")
