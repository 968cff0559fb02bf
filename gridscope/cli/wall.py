"""`gridscope wall`: wall links (create, list, revoke). A wall cannot type a password: a link
``/wall/gw_<prefix>_<secret>`` bound to a jurisdiction and a layout opens a wall session. The
secret is printed once, at creation; only its SHA-256 is stored. Changes are audited."""

from __future__ import annotations

import click

from .common import AppContext, fail, local_minute, main, pass_app
from .user import cli_actor, refuse


@main.group()
def wall() -> None:
    """Wall links for command-centre screens (no password; revocable)."""


def _layouts() -> list[str]:
    from gridscope.auth.walls import LAYOUTS

    return list(LAYOUTS)


@wall.command("create")
@click.option("--jurisdiction", required=True, help="Region or grid code, e.g. 330402007.")
@click.option("--name", required=True, help='Which wall, e.g. "建设街道指挥中心".')
@click.option(
    "--layout",
    type=click.Choice(_layouts()),
    default="standard",
    show_default=True,
    help="Screen layout the link pins.",
)
@pass_app
def wall_create(app: AppContext, jurisdiction: str, name: str, layout: str) -> None:
    """Create a wall link and print it (shown only now)."""
    from gridscope.auth import walls
    from queries import admin
    from queries.db import DatabaseUnavailable, connect

    actor = cli_actor(app)
    if not name.strip() or len(name.strip()) > 100:
        raise click.BadParameter("1–100 characters", param_hint="--name")
    try:
        with connect(app.settings) as conn:
            try:
                code = admin.check_jurisdiction(conn, jurisdiction, actor.bound)
            except admin.AdminError as exc:
                refuse(exc)
            with conn.transaction():
                try:
                    wid, token = walls.create(conn, name, code, layout, f"cli:{actor.name}")
                except walls.WallLinkError as exc:
                    raise click.UsageError(str(exc)) from None
                prefix = token.split("_")[1]
                admin.record_wall_create(
                    conn, actor, app.clock.now(), wid, prefix, name.strip(), code, layout
                )
            conn.commit()
    except DatabaseUnavailable as exc:
        fail(str(exc))
    settings = app.settings
    click.echo(
        f"created wall link {wid} ({prefix}) '{name.strip()}' for jurisdiction {code}, layout "
        f"{layout}; the link is shown only now (gridscope wall revoke {wid} ends it):",
        err=True,
    )
    click.echo(f"/wall/{token}")
    click.echo(f"http://{settings.host}:{settings.port}/wall/{token}")


@wall.command("list")
@pass_app
def wall_list(app: AppContext) -> None:
    """List wall links (id, prefix, jurisdiction, layout, created, last refresh, revoked)."""
    from queries.accounts import list_walls
    from queries.db import DatabaseUnavailable, connect
    from queries.scope import WHOLE

    try:
        with connect(app.settings) as conn:
            rows = list_walls(conn, WHOLE)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    if not rows:
        click.echo("no wall links")
        return

    def when(t):
        return local_minute(t, app.settings.tz)

    click.echo(
        f"{'id':>4} {'prefix':<9} {'jurisdiction':<14} {'layout':<9} {'created':<16} "
        f"{'last refresh':<16} {'revoked':<16} name"
    )
    for w in rows:
        click.echo(
            f"{w['id']:>4} {w['prefix']:<9} {w['jurisdiction']:<14} {w['layout']:<9} "
            f"{when(w['created_at']):<16} {when(w['last_seen_at']):<16} "
            f"{when(w['revoked_at']):<16} {w['name']}"
        )


@wall.command("revoke")
@click.argument("wall_id", metavar="ID", type=int)
@pass_app
def wall_revoke(app: AppContext, wall_id: int) -> None:
    """Revoke wall link ID: its screens are signed out on their next refresh."""
    from queries import admin
    from queries.db import DatabaseUnavailable, connect

    try:
        with connect(app.settings) as conn:
            try:
                done = admin.revoke_wall(conn, cli_actor(app), app.clock.now(), wall_id)
                conn.commit()
            except admin.AdminError:
                fail(f"no wall link with id {wall_id}")
    except DatabaseUnavailable as exc:
        fail(str(exc))
    click.echo(f"wall link {wall_id} {'revoked' if done else 'was already revoked'}")
