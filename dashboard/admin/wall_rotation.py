"""The rotation card of /admin/walls (轮播, issue #10): choose a wall link, edit its playlist
(domain/playlist.py) with what it means, or the bad step, shown as it is typed; save it
(queries.walls.change_playlist: in the administrator's scope, audited ``wall_playlist``)."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from dash import dcc, html, no_update

from domain.playlist import PlaylistError, describe, parse_playlist
from queries import admin
from queries import walls as wall_queries
from queries.services import Services

from .common import DENIED, UNAVAILABLE, acting, field, notice

log = logging.getLogger(__name__)


def save_playlist(svc: Services, actor: admin.Actor, form: dict[str, Any]) -> tuple[bool, str]:
    """Set the rotation of the chosen link; (ok, message naming the bad step when refused)."""
    try:
        with svc.pool.connection() as conn:
            change = wall_queries.change_playlist(
                conn, actor, svc.clock.now(), form.get("playlist_target"), form.get("playlist")
            )
            conn.commit()
    except admin.AdminError as exc:
        return False, exc.message
    except psycopg.Error:
        log.exception("admin: setting a wall playlist failed")
        return False, UNAVAILABLE
    if change is None:
        return True, "轮播设置未改变"
    if not change.after:
        return True, f"大屏链接 {change.wall_id} 已改为默认轮播（设置 wall_playlist）"
    return True, f"已保存大屏链接 {change.wall_id} 的轮播：{change.after}；大屏下次打开页面时生效"


def playlist_hint(text: Any, default: str) -> tuple[bool, str]:
    """(reads, what the text means or what is wrong with it), for the form as it is typed."""
    if not isinstance(text, str) or not text.strip():
        follows = f"：{default}" if default else "（为空：不轮播）"
        return True, f"留空则使用默认轮播（设置 wall_playlist{follows}）"
    try:
        return True, describe(parse_playlist(text))
    except PlaylistError as exc:
        return False, exc.message


def rotation_form(options: list[dict[str, Any]]) -> html.Section:
    """The rotation card: a link, its playlist (checked as it is typed), save."""
    return html.Section(
        [
            html.H2("大屏轮播"),
            field(
                "链接",
                dcc.Dropdown(
                    options,
                    None,
                    id="adm-walls-playlist-target",
                    placeholder="选择有效的链接",
                    className="gs-admin-dropdown",
                ),
            ),
            field(
                "轮播",
                dcc.Input(
                    id="adm-walls-playlist",
                    type="text",
                    maxLength=2000,
                    debounce=0.4,
                    placeholder="如 overview:60,towns:20,overdue:30",
                    className="gs-admin-input",
                ),
                "视图:秒（10–3600）：overview 全域、towns 各镇轮流、town:<编码>:秒 指定区域、"
                "overdue 超期督办榜、analytics 分析要点（暂未提供，跳过）",
            ),
            html.Div(id="adm-walls-playlist-hint", className="gs-admin-msg"),
            html.Button("保存轮播", id="adm-walls-playlist-save", className="gs-admin-button"),
            html.Div(id="adm-walls-playlist-msg", className="gs-admin-msg"),
        ],
        className="gs-admin-card",
    )


def playlist_form(trigger: Any, target: Any, text: Any) -> tuple:
    """Outputs (playlist input, hint) when a link is chosen (its stored playlist) or the text
    changes (what it means, or the bad step); nothing for a caller who may not administer."""
    acting_now = acting()
    if acting_now is None:
        return no_update, notice(False, DENIED)
    svc, actor = acting_now
    default = svc.settings.wall_playlist
    if trigger == "adm-walls-playlist-target":
        if target is None:
            return "", None
        try:
            with svc.pool.connection() as conn:
                wall = admin.wall_in_scope(conn, actor, target)
                text = wall_queries.playlist_of(conn, wall["id"]) or ""
        except admin.AdminError as exc:
            return no_update, notice(False, exc.message)
        except psycopg.Error:
            log.exception("admin: reading a wall playlist failed")
            return no_update, notice(False, UNAVAILABLE)
        ok, message = playlist_hint(text, default)
        return text, notice(ok, message)
    if trigger == "adm-walls-playlist":
        ok, message = playlist_hint(text, default)
        return no_update, notice(ok, message)
    return no_update, no_update
