"""`gridscope wall`: wall links (create, list, revoke, playlist). A wall cannot type a password: a
link ``/wall/gw_<prefix>_<secret>`` bound to a jurisdiction and a layout opens a wall session.
The secret is printed once, at creation; only its SHA-256 is stored. A link may carry its own
rotation (``--playlist``, ``gridscope wall playlist``; grammar in domain/playlist.py), else it
follows the setting ``wall_playlist``. Changes are audited."""

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
@click.option(
    "--playlist",
    default="",
    help='Rotation of this wall, e.g. "overview:60,towns:20,overdue:30" (view:seconds, 10–3600'
    " s; views overview, towns, town:<code>, overdue, analytics); empty = the setting"
    " wall_playlist.",
)
@pass_app
def wall_create(app: AppContext, jurisdiction: str, name: str, layout: str, playlist: str) -> None:
    """Create a wall link and print it (shown only now)."""
    from domain.playlist import PlaylistError, parse_playlist
    from gridscope.auth import walls
    from queries import admin
    from queries import walls as wall_queries
    from queries.db import DatabaseUnavailable, connect

    actor = cli_actor(app)
    if not name.strip() or len(name.strip()) > 100:
        raise click.BadParameter("1–100 characters", param_hint="--name")
    try:
        parse_playlist(playlist)  # before anything is created
    except PlaylistError as exc:
        raise click.BadParameter(exc.message, param_hint="--playlist") from None
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
                if playlist.strip():
                    try:
                        wall_queries.change_playlist(conn, actor, app.clock.now(), wid, playlist)
                    except admin.AdminError as exc:  # a town outside the jurisdiction
                        refuse(exc, "--playlist")
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
    from queries.walls import playlists

    try:
        with connect(app.settings) as conn:
            rows = list_walls(conn, WHOLE)
            rotation = playlists(conn, WHOLE)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    if not rows:
        click.echo("no wall links")
        return

    def when(t):
        return local_minute(t, app.settings.tz)

    click.echo(
        f"{'id':>4} {'prefix':<9} {'jurisdiction':<14} {'layout':<9} {'created':<16} "
        f"{'last refresh':<16} {'revoked':<16} name [playlist]"
    )
    for w in rows:
        click.echo(
            f"{w['id']:>4} {w['prefix']:<9} {w['jurisdiction']:<14} {w['layout']:<9} "
            f"{when(w['created_at']):<16} {when(w['last_seen_at']):<16} "
            f"{when(w['revoked_at']):<16} {w['name']}"
            + (f" [{rotation[w['id']]}]" if rotation.get(w["id"]) else "")
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


@wall.command("playlist")
@click.argument("wall_id", metavar="ID", type=int)
@click.argument("text", metavar="TEXT", required=False)
@pass_app
def wall_playlist(app: AppContext, wall_id: int, text: str | None) -> None:
    """Show or set the rotation of wall link ID: TEXT such as "overview:60,towns:20,overdue:30"
    (views overview, towns, town:<code>, overdue, analytics; 10–3600 s each); "" = follow the
    setting wall_playlist. Screens pick a change up when they next load the page."""
    from domain.playlist import describe, parse_playlist
    from queries import admin
    from queries import walls as wall_queries
    from queries.db import DatabaseUnavailable, connect

    default = app.settings.wall_playlist
    try:
        with connect(app.settings) as conn:
            current = wall_queries.playlist_of(conn, wall_id)
            if current is None:
                fail(f"no wall link with id {wall_id} (or it was revoked)")
            if text is None:
                conn.rollback()
                if current:
                    click.echo(f"wall link {wall_id}: {current}")
                    click.echo(describe(parse_playlist(current)))
                else:
                    follows = default or "(empty: no rotation)"
                    click.echo(f"wall link {wall_id}: none of its own; wall_playlist: {follows}")
                return
            try:
                change = wall_queries.change_playlist(
                    conn, cli_actor(app), app.clock.now(), wall_id, text
                )
            except admin.AdminError as exc:
                if exc.field == "wall":
                    fail(exc.message)
                refuse(exc, "TEXT")
            conn.commit()
    except DatabaseUnavailable as exc:
        fail(str(exc))
    if change is None:
        click.echo(f"wall link {wall_id}: playlist unchanged")
        return
    shown = change.after or f"none (follows the setting wall_playlist: {default or 'empty'})"
    click.echo(f"wall link {wall_id} playlist: {shown} (was: {change.before or 'none'})")
    click.echo(describe(parse_playlist(change.after)))
    click.echo("screens of this link pick it up when they next load the page", err=True)
