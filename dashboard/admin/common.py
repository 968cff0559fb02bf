"""What the admin pages share: the page shell (header, tabs, user bar, the access check), the
server-side re-check of every callback, and small renderers (tables, notices, times)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from typing import Any

import psycopg
from dash import dcc, html

from dashboard.forbidden import forbidden_notice
from dashboard.userbar import user_bar
from domain.access import PAGES, Action
from queries import services
from queries.admin import Actor
from queries.services import Services
from queries.viewer import Viewer

log = logging.getLogger(__name__)

DENIED = "无权执行此操作"
UNAVAILABLE = "数据库暂不可用，请稍后再试"


def admin_page(path: str, body: Callable[[Services, Viewer], list]) -> html.Div:
    """The page at ``path`` for the request's viewer, or the 无权访问 notice when its role may
    not open it (Dash renders page layouts from a callback, after the gate's page check)."""
    svc = services.current()
    viewer = svc.viewer
    if viewer is None or not viewer.may_open(path) or not viewer.may(Action.ADMINISTER):
        return forbidden_notice()
    try:
        content = body(svc, viewer)
    except psycopg.Error:
        log.exception("admin page %s: database unavailable", path)
        content = [notice(False, UNAVAILABLE)]
    return html.Div(
        [header(svc, viewer, path), html.Main(content, className="gs-admin-main")],
        className="gs-admin",
    )


def header(svc: Services, viewer: Viewer, current: str) -> html.Header:
    tabs = [
        dcc.Link(
            p.name_zh,
            href=p.path,
            className="gs-admin-tab" + (" gs-admin-tab--current" if p.path == current else ""),
        )
        for p in PAGES
        if p.admin and viewer.may_open(p.path)
    ]
    return html.Header(
        [
            dcc.Link("网格化服务管理", href="/", className="gs-admin-home"),
            html.H1("系统管理", className="gs-admin-title"),
            html.Nav(tabs, className="gs-admin-tabs"),
            user_bar(svc),
        ],
        className="gs-admin-bar",
    )


def acting() -> tuple[Services, Actor] | None:
    """The request's services and its administrator as an Actor; None when the caller may not
    administer (the gate refused such callbacks already; this is the second lock)."""
    svc = services.current()
    viewer = svc.viewer
    if viewer is None or not viewer.may(Action.ADMINISTER):
        return None
    return svc, Actor.of_viewer(viewer)


def text(value: Any, limit: int = 200) -> str:
    """A form value as trimmed text ('' for anything that is not a string)."""
    return value.strip()[:limit] if isinstance(value, str) else ""


def when(ts: datetime | None, tz: tzinfo) -> str:
    return ts.astimezone(tz).strftime("%Y-%m-%d %H:%M") if ts else "—"


def notice(ok: bool, message: str) -> html.Div:
    return html.Div(
        message,
        className="gs-admin-notice " + ("gs-admin-notice--ok" if ok else "gs-admin-notice--error"),
        role="status" if ok else "alert",
    )


def table(
    columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]], empty: str
) -> html.Table | html.P:
    """An HTML table of ``rows`` ({key: cell}) under ``columns`` ((key, heading)); ``empty``
    when there are no rows."""
    if not rows:
        return html.P(empty, className="gs-admin-empty")
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for _, h in columns])),
            html.Tbody([html.Tr([html.Td(r.get(k, "")) for k, _ in columns]) for r in rows]),
        ],
        className="gs-admin-table",
    )


def field(label: str, control: Any, hint: str = "") -> html.Label:
    return html.Label(
        [
            html.Span(label, className="gs-admin-label"),
            control,
            html.Span(hint, className="gs-admin-hint") if hint else None,
        ],
        className="gs-admin-field",
    )


# A day as the admin pages take it: typed YYYY-MM-DD whatever the browser's locale (a native
# date input shows the locale's mm/dd/yyyy); the server still checks every value it receives.
DAY_PATTERN = r"\d{4}-\d{2}-\d{2}"


def date_input(ident: str, day: str | None = None, debounce: bool = False) -> dcc.Input:
    """A text input for one day (YYYY-MM-DD), its value the ``value`` property; ``debounce``
    for a filter that should run on Enter or leaving the field, not on every key."""
    return dcc.Input(
        id=ident,
        type="text",
        value=day,
        pattern=DAY_PATTERN,
        maxLength=10,
        placeholder="YYYY-MM-DD",
        debounce=debounce,
        className="gs-admin-input gs-admin-day",
    )


def jurisdiction_list(list_id: str, choices: Sequence[tuple[str, str]]) -> html.Datalist:
    """Suggestions for a jurisdiction input: the regions (city to town) in the admin's scope."""
    return html.Datalist(
        [html.Option(f"{code} {name}", value=code) for code, name in choices], id=list_id
    )


def scope_text(code: str, names: dict[str, str]) -> str:
    if not code:
        return "全部辖区"
    return f"{code} {names[code]}" if code in names else code
