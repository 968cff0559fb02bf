"""/admin/walls: the wall links in the administrator's jurisdiction with each wall's last
refresh and rotation; create one (the link is shown once, here, and never again), revoke one,
set one's rotation (playlist, domain/playlist.py; checked as it is typed). Changes are audited
(queries.admin, queries.walls)."""

from __future__ import annotations

import logging
from typing import Any

import flask
import psycopg
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from gridscope.auth import walls
from queries import accounts, admin
from queries import walls as wall_queries
from queries.scope import Scope
from queries.services import Services
from queries.viewer import Viewer

from .common import (
    DENIED,
    UNAVAILABLE,
    acting,
    admin_page,
    field,
    jurisdiction_list,
    notice,
    scope_text,
    table,
    text,
    when,
)
from .wall_rotation import playlist_form, rotation_form, save_playlist

log = logging.getLogger(__name__)

PATH = "/admin/walls"
COLUMNS = (
    ("id", "编号"),
    ("name", "名称"),
    ("prefix", "链接前缀"),
    ("jurisdiction", "辖区"),
    ("layout", "布局"),
    ("created", "创建"),
    ("last_seen", "最近刷新"),
    ("address", "最近地址"),
    ("playlist", "轮播"),
    ("state", "状态"),
)


def listing(conn: psycopg.Connection, scope: Scope, tz) -> tuple[Any, list[dict[str, Any]]]:
    """(the links table, the revoke dropdown's options: links not yet revoked)."""
    rows = accounts.list_walls(conn, scope)
    names = admin.unit_names(conn, [r["jurisdiction"] for r in rows])
    rotation = wall_queries.playlists(conn, scope)
    cells = [
        {
            "id": str(r["id"]),
            "name": r["name"],
            "prefix": f"gw_{r['prefix']}_…",
            "jurisdiction": scope_text(r["jurisdiction"], names),
            "layout": walls.LAYOUTS.get(r["layout"], r["layout"]),
            "created": f"{when(r['created_at'], tz)} · {r['created_by'] or '—'}",
            "last_seen": when(r["last_seen_at"], tz),
            "address": r["last_address"] or "—",
            "playlist": rotation.get(r["id"]) or "默认",
            "state": f"已吊销 {when(r['revoked_at'], tz)}" if r["revoked_at"] else "有效",
        }
        for r in rows
    ]
    options = [
        {"label": f"{r['id']} · {r['name']}（gw_{r['prefix']}）", "value": r["id"]}
        for r in rows
        if r["revoked_at"] is None
    ]
    return table(COLUMNS, cells, "本辖区还没有大屏链接"), options


def create_link(
    svc: Services, actor: admin.Actor, form: dict[str, Any]
) -> tuple[bool, str, str | None]:
    """Create the link the form describes; (ok, message, the link's path /wall/<token> or
    None). The token is returned once and stored only as a hash."""
    name = " ".join(text(form.get("name"), 200).split())
    layout = form.get("layout")
    try:
        if not name or len(name) > 100:
            raise admin.AdminError("name", "请填写大屏名称（1–100 个字符），如 建设街道指挥中心")
        if not isinstance(layout, str) or layout not in walls.LAYOUTS:
            raise admin.AdminError("layout", "请选择布局")
        with svc.pool.connection() as conn:
            code = admin.check_jurisdiction(conn, form.get("jurisdiction"), actor.bound)
            with conn.transaction():
                wid, token = walls.create(conn, name, code, layout, f"user:{actor.name}")
                prefix = token.split("_")[1]
                admin.record_wall_create(
                    conn, actor, svc.clock.now(), wid, prefix, name, code, layout
                )
            conn.commit()
    except admin.AdminError as exc:
        return False, exc.message, None
    except walls.WallLinkError as exc:
        log.warning("admin: wall link refused: %s", exc)
        return False, "无法创建大屏链接，请检查名称、辖区与布局", None
    except psycopg.Error:
        log.exception("admin: creating a wall link failed")
        return False, UNAVAILABLE, None
    return True, f"已创建大屏链接 {wid}「{name}」（辖区 {code}）", f"/wall/{token}"


def revoke_link(svc: Services, actor: admin.Actor, wall_id: Any) -> tuple[bool, str]:
    try:
        with svc.pool.connection() as conn:
            done = admin.revoke_wall(conn, actor, svc.clock.now(), wall_id)
            conn.commit()
    except admin.AdminError as exc:
        return False, exc.message
    except psycopg.Error:
        log.exception("admin: revoking a wall link failed")
        return False, UNAVAILABLE
    if not done:
        return False, f"大屏链接 {wall_id} 已被吊销"
    return True, f"已吊销大屏链接 {wall_id}：使用它的大屏将在下次刷新时退出"


def link_box(path: str) -> html.Div:
    """The new link, shown once."""
    url = flask.request.host_url.rstrip("/") + path
    return html.Div(
        [
            html.P("请立即复制此链接并在大屏浏览器中打开；离开本页后无法再次查看："),
            dcc.Input(
                id="adm-walls-link-url",
                value=url,
                readOnly=True,
                className="gs-admin-input gs-admin-link",
            ),
        ],
        className="gs-admin-linkbox",
    )


def _forms(options: list[dict[str, Any]]) -> html.Div:
    layouts = [{"label": label, "value": key} for key, label in walls.LAYOUTS.items()]
    create = html.Section(
        [
            html.H2("新建大屏链接"),
            field(
                "名称",
                dcc.Input(
                    id="adm-walls-name",
                    type="text",
                    maxLength=100,
                    placeholder="如 建设街道指挥中心",
                    className="gs-admin-input",
                ),
            ),
            field(
                "辖区",
                dcc.Input(
                    id="adm-walls-jurisdiction",
                    type="text",
                    list="adm-walls-codes",
                    placeholder="区划或网格编码",
                    className="gs-admin-input",
                ),
                "大屏只显示该辖区的 L1–L2 汇总数据",
            ),
            field(
                "布局",
                dcc.Dropdown(
                    layouts,
                    next(iter(walls.LAYOUTS)),
                    id="adm-walls-layout",
                    clearable=False,
                    searchable=False,
                    className="gs-admin-dropdown",
                ),
            ),
            html.Button("创建链接", id="adm-walls-create", className="gs-admin-button"),
            html.Div(id="adm-walls-create-msg", className="gs-admin-msg"),
            html.Div(id="adm-walls-link"),
        ],
        className="gs-admin-card",
    )
    revoke = html.Section(
        [
            html.H2("吊销大屏链接"),
            field(
                "链接",
                dcc.Dropdown(
                    options,
                    None,
                    id="adm-walls-target",
                    placeholder="选择有效的链接",
                    className="gs-admin-dropdown",
                ),
            ),
            html.Button(
                "吊销", id="adm-walls-revoke", className="gs-admin-button gs-admin-button--danger"
            ),
            html.Div(id="adm-walls-revoke-msg", className="gs-admin-msg"),
        ],
        className="gs-admin-card",
    )
    return html.Div([create, revoke, rotation_form(options)], className="gs-admin-columns")


def _body(svc: Services, viewer: Viewer) -> list:
    with svc.pool.connection() as conn:
        links, options = listing(conn, viewer.scope, svc.settings.tz)
        choices = admin.region_choices(conn, viewer.scope)
    return [
        html.Section(
            [html.H2("大屏链接"), html.Div(links, id="adm-walls-table")],
            className="gs-admin-card gs-admin-wide",
        ),
        _forms(options),
        jurisdiction_list("adm-walls-codes", choices),
    ]


def layout() -> html.Div:
    return admin_page(PATH, _body)


def walls_action(trigger: Any, form: dict[str, Any]) -> tuple:
    """Outputs (create msg, link box, revoke msg, table, revoke options, playlist msg,
    playlist options) for the button ``trigger`` and the form values, whatever their types."""
    acting_now = acting()
    if acting_now is None:
        return notice(False, DENIED), None, no_update, no_update, no_update, no_update, no_update
    svc, actor = acting_now
    link: Any = None
    create_msg: Any = no_update
    revoke_msg: Any = no_update
    playlist_msg: Any = no_update
    if trigger == "adm-walls-create":
        ok, message, path = create_link(svc, actor, form)
        create_msg = notice(ok, message)
        link = link_box(path) if path else None
    elif trigger == "adm-walls-revoke":
        ok, message = revoke_link(svc, actor, form.get("target"))
        revoke_msg = notice(ok, message)
    elif trigger == "adm-walls-playlist-save":
        ok, message = save_playlist(svc, actor, form)
        link, playlist_msg = no_update, notice(ok, message)
    else:
        return (no_update,) * 7
    try:
        with svc.pool.connection() as conn:
            links, options = listing(conn, actor.scope, svc.settings.tz)
    except psycopg.Error:
        log.exception("admin: listing wall links failed")
        links, options = no_update, no_update
    return create_msg, link, revoke_msg, links, options, playlist_msg, options


def register() -> None:
    """The page's callback (called by dashboard/pages/admin_walls.py once per app)."""

    @callback(
        Output("adm-walls-create-msg", "children"),
        Output("adm-walls-link", "children"),
        Output("adm-walls-revoke-msg", "children"),
        Output("adm-walls-table", "children"),
        Output("adm-walls-target", "options"),
        Output("adm-walls-playlist-msg", "children"),
        Output("adm-walls-playlist-target", "options"),
        Input("adm-walls-create", "n_clicks"),
        Input("adm-walls-revoke", "n_clicks"),
        Input("adm-walls-playlist-save", "n_clicks"),
        State("adm-walls-name", "value"),
        State("adm-walls-jurisdiction", "value"),
        State("adm-walls-layout", "value"),
        State("adm-walls-target", "value"),
        State("adm-walls-playlist-target", "value"),
        State("adm-walls-playlist", "value"),
        prevent_initial_call=True,
    )
    def apply(
        _create: Any,
        _revoke: Any,
        _save: Any,
        name: Any,
        code: Any,
        layout_: Any,
        target: Any,
        playlist_target: Any,
        playlist: Any,
    ):
        form = {
            "name": name,
            "jurisdiction": code,
            "layout": layout_,
            "target": target,
            "playlist_target": playlist_target,
            "playlist": playlist,
        }
        return walls_action(ctx.triggered_id, form)

    @callback(
        Output("adm-walls-playlist", "value"),
        Output("adm-walls-playlist-hint", "children"),
        Input("adm-walls-playlist-target", "value"),
        Input("adm-walls-playlist", "value"),
        prevent_initial_call=True,
    )
    def playlist_changed(target: Any, text: Any):
        return playlist_form(ctx.triggered_id, target, text)
