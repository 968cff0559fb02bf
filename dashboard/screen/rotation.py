"""The wall's rotation at run time (轮播, issue #10): the playlist of the wall link (or the
setting ``wall_playlist`` when the link has none), expanded on the server into the concrete
views the browser cycles through (assets/35_rotation.js).

Every unit a view shows is resolved here, inside the viewer's scope (queries.walls): the
browser receives codes, names and bounds and never makes a code up; the feeds it then asks
with ``unit=`` check the code again (404 outside the scope). A step that cannot be shown is
left out with a note (zh-CN) that the page carries and the browser logs: a unit outside the
scope, a ``towns`` step on a wall with no towns below it, the reserved ``analytics`` view.

Only wall sessions rotate: a person at /screen moves the map as they like.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
import psycopg_pool
from dash import html

from domain.access import PAGE_PATHS
from domain.geo.display import lonlat_to_display
from domain.playlist import (
    ANALYTICS,
    OVERDUE,
    OVERVIEW,
    TOWN,
    TOWNS,
    PlaylistError,
    Step,
    parse_playlist,
)
from layers.labels import jurisdiction_label
from queries import walls
from queries.scope import Scope
from queries.services import Services

log = logging.getLogger(__name__)

ELEMENT_ID = "gs-rotation"
ANALYTICS_PATH = "/analytics"
# A touch, a click or a key stops the rotation this long (the operator is looking at something).
PAUSE_S = 60
BOARD_LABEL = "超期督办榜"


@dataclass
class Rotation:
    """The expanded rotation of one wall: ``steps`` (dicts the browser reads), ``notes`` on
    what was left out, where the playlist came from ("link", "settings" or "" for none)."""

    playlist: str = ""
    source: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "playlist": self.playlist,
            "source": self.source,
            "steps": self.steps,
            "notes": self.notes,
            "pause_s": PAUSE_S,
        }


def _bounds(unit: walls.RotationUnit | None, crs: str) -> list | None:
    """[[south, west], [north, east]] in the display datum (as the map's own bounds)."""
    if unit is None or unit.bounds is None:
        return None
    w, s, e, n = unit.bounds
    west, south = lonlat_to_display(w, s, crs)
    east, north = lonlat_to_display(e, n, crs)
    return [[south, west], [north, east]]


def _unit_label(unit: walls.RotationUnit) -> str:
    return f"{unit.parent_name} {unit.name}" if unit.parent_name else unit.name


def _view(step: Step, unit: str | None, label: str, bounds: list | None) -> dict[str, Any]:
    return {
        "kind": step.kind,
        "seconds": step.seconds,
        "unit": unit,
        "label": label,
        "board": step.kind == OVERDUE,
        "bounds": bounds,
    }


def expand(
    conn: psycopg.Connection,
    scope: Scope,
    steps: tuple[Step, ...],
    now: datetime,
    crs: str,
) -> tuple[list[dict[str, Any]], list[str]]:
    """(the views of ``steps`` in the wall's ``scope`` at ``now``, notes on the steps left
    out). A view: {"kind", "seconds", "unit" (a code inside the scope, None for the whole
    jurisdiction), "label" (zh-CN), "board" (the overdue board shows), "bounds"
    ([[south, west], [north, east]] in the display datum of ``crs``, or None)}."""
    own = walls.unit_in(conn, scope, scope.prefix, now) if scope.prefix else None
    whole = jurisdiction_label(own.name if own else None, scope.prefix)
    views: list[dict[str, Any]] = []
    notes: list[str] = []
    for n, step in enumerate(steps, start=1):
        where = f"第 {n} 步「{step.text}」"
        if step.kind == OVERVIEW:
            views.append(_view(step, None, f"{whole} · 全域总览", _bounds(own, crs)))
        elif step.kind == OVERDUE:
            views.append(_view(step, None, f"{BOARD_LABEL} · {whole}", _bounds(own, crs)))
        elif step.kind == TOWNS:
            units, more = walls.towns_in(conn, scope, now)
            if not units:
                notes.append(f"{where}：{whole}没有下级镇（街道）或社区，已跳过")
            if more:
                notes.append(f"{where}：只轮播前 {len(units)} 个区域（上限 {walls.MAX_UNITS}）")
            views += [_view(step, u.code, _unit_label(u), _bounds(u, crs)) for u in units]
        elif step.kind == TOWN:
            unit = walls.unit_in(conn, scope, step.unit, now)
            if unit is None:
                notes.append(f"{where}：{step.unit} 不是本大屏辖区内的现行区域，已跳过")
            else:
                views.append(_view(step, unit.code, _unit_label(unit), _bounds(unit, crs)))
        elif step.kind == ANALYTICS:
            # Reserved for the analytics highlights: the wall cannot show a page that does not
            # exist, and has no way yet to show one that does.
            missing = ANALYTICS_PATH not in PAGE_PATHS
            why = (
                "分析要点页面（/analytics）尚未提供"
                if missing
                else "大屏暂不支持轮播分析要点（请在 /analytics 态势分析页查看）"
            )
            notes.append(f"{where}：{why}，已跳过")
    return views, notes


def rotation_of(services: Services) -> Rotation:
    """The rotation of the request's viewer: its wall link's playlist, else the setting
    ``wall_playlist``, expanded in its scope; no steps for anyone but a wall. Never raises for
    a database outage or a bad stored text (the screen must render): both become notes."""
    viewer = services.viewer
    if viewer is None or viewer.kind != "wall":
        return Rotation()
    settings = services.settings
    now = services.clock.now()
    rot = Rotation()
    source = "postgres-replica" if services.replica_pool is not None else "postgres"
    try:
        with services.read_pool.connection() as conn:
            own = walls.playlist_of(conn, viewer.id) or ""
            if own:
                rot.playlist, rot.source = own, "link"
            else:
                rot.playlist, rot.source = settings.wall_playlist, "settings"
            if not rot.playlist.strip():
                return Rotation()
            try:
                steps = parse_playlist(rot.playlist)
            except PlaylistError as exc:
                origin = "大屏链接" if rot.source == "link" else "设置 wall_playlist"
                log.warning("wall %s: %s playlist does not read: %s", viewer.id, origin, exc)
                rot.notes.append(f"{origin}的轮播设置有误，不轮播：{exc.message}")
                return rot
            rot.steps, notes = expand(conn, services.scope, steps, now, settings.basemap_crs)
            rot.notes += notes
        services.faults.ok(source)
    except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
        services.faults.failed(source, exc)
        rot.steps = []
        rot.notes.append("数据库暂不可用：本次打开不轮播，重新打开大屏后恢复")
    if rot.notes:
        log.info("wall %s rotation: %s", viewer.id, "; ".join(rot.notes))
    return rot


def rotation_config(services: Services) -> html.Div:
    """The rotation of the current wall viewer as a hidden element (``#gs-rotation``, JSON
    in ``data-config``) read by assets/35_rotation.js; no steps: the wall does not rotate."""
    config = rotation_of(services).as_dict()
    return html.Div(
        id=ELEMENT_ID,
        hidden=True,
        **{"data-config": json.dumps(config, ensure_ascii=False, separators=(",", ":"))},
    )
