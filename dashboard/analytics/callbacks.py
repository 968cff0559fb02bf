"""Callbacks of /analytics: the URL is the state (?area=&period=), the controls rewrite it, and
each panel renders from it. Thin: the view is resolved by ``data.resolve`` on the server (the
browser's values are only proposals) and each panel is its own callback, so the panels load
side by side and a slow one holds back no other."""

from __future__ import annotations

import logging
from datetime import date
from urllib.parse import parse_qs, urlencode

from dash import ALL, Input, Output, State, callback, clientside_callback, html, no_update

from domain.access import Action
from domain.analytics.periods import Period, PeriodError, containing, parse_period
from queries import services
from queries.analytics.areas import LEVEL_NAMES_ZH, areas

from . import cards, categories, hotspots, ids, patrol, rankings, rhythm, satisfaction
from .data import View, level_panel, panel, resolve
from .exports import export_links

log = logging.getLogger(__name__)

RENDER = {
    "measures": cards.render,
    "rankings": rankings.render,
    "categories": categories.render,
    "rhythm": rhythm.render,
    "hotspots": hotspots.render,
    "satisfaction": satisfaction.render,
    "patrol": patrol.render,
}
# How many periods of each kind the picker offers, newest first.
CHOICES = {"month": 25, "week": 27, "quarter": 12, "year": 6}


def _query(search: object) -> dict[str, str]:
    if not isinstance(search, str):
        return {}
    raw = parse_qs(search.lstrip("?")[:512])
    return {k: v[0] for k, v in raw.items() if v and k in ("area", "period")}


def period_choices(kind: str, today: date, current: Period) -> list[dict[str, str]]:
    """The picker's options for ``kind``: recent periods, newest first, plus ``current``."""
    if kind not in CHOICES:
        return [{"label": current.label_zh, "value": current.key}]
    p = containing(kind, today)
    out = []
    for _ in range(CHOICES[kind]):
        out.append({"label": p.label_zh, "value": p.key})
        p = p.previous()
    if current.kind == kind and current.key not in {o["value"] for o in out}:
        out.append({"label": current.label_zh, "value": current.key})
    return out


def _search(area: str, period: str) -> str:
    q = {k: v for k, v in (("area", area), ("period", period)) if v}
    return "?" + urlencode(q) if q else ""


@callback(
    Output(ids.STATE, "data"),
    Output(ids.PROBLEMS, "children"),
    Output(ids.AREA, "options"),
    Output(ids.AREA, "value"),
    Output(ids.KIND, "value"),
    Output(ids.PERIOD, "options"),
    Output(ids.PERIOD, "value"),
    Output(ids.CUSTOM, "start_date"),
    Output(ids.CUSTOM, "end_date"),
    Output(ids.CUSTOM, "style"),
    Output(ids.LABEL, "children"),
    Output(ids.REPORT_PDF, "href"),
    Output(ids.REPORT_XLSX, "href"),
    Input(ids.URL, "search"),
)
def url_to_state(search):
    svc = services.current()
    args = _query(search)
    view = resolve(svc, args.get("area"), args.get("period"))
    with svc.read_pool.connection() as conn:
        options = [
            {"label": f"{name}（{LEVEL_NAMES_ZH.get(level, level)}）", "value": code}
            for code, name, level in areas(conn, svc.scope)
        ]
    p = view.period
    today = svc.clock.now().astimezone(svc.settings.tz).date()
    problems = [html.Div(m, className="sit-problem") for m in view.problems]
    custom = p.kind == "custom"
    return (
        view.state(),
        problems,
        options,
        view.area or None,
        p.kind,
        period_choices(p.kind, today, p),
        p.key,
        p.start.isoformat() if custom else None,
        p.full_end.isoformat() if custom else None,
        {"display": "inline-block"} if custom else {"display": "none"},
        f"{p.label_zh} · 环比 {p.previous().label_zh} · 同比 {p.year_ago().label_zh}",
        "/analytics/report.pdf" + _search(view.area, p.key),
        "/analytics/report.xlsx" + _search(view.area, p.key),
    )


@callback(
    Output(ids.URL, "search"),
    Input(ids.AREA, "value"),
    Input(ids.KIND, "value"),
    Input(ids.PERIOD, "value"),
    Input(ids.CUSTOM, "start_date"),
    Input(ids.CUSTOM, "end_date"),
    State(ids.URL, "search"),
    State(ids.STATE, "data"),
    prevent_initial_call=True,
)
def controls_to_url(area, kind, period, start, end, search, state):
    """A control changed: the URL it implies (the state callback then validates it)."""
    state = state if isinstance(state, dict) else {}
    key = period if isinstance(period, str) else str(state.get("period") or "")
    if kind == "custom":
        if isinstance(start, str) and isinstance(end, str):
            key = f"{start[:10]}..{end[:10]}"
        elif ".." not in key:  # switched to 自定义: start from the period shown
            try:
                p = parse_period(str(state.get("period") or ""))
            except PeriodError:
                return no_update
            key = f"{p.start.isoformat()}..{p.full_end.isoformat()}"
    elif isinstance(kind, str) and kind in CHOICES and not _is_kind(key, kind):
        svc = services.current()
        key = containing(kind, svc.clock.now().astimezone(svc.settings.tz).date()).key
    new = _search(area if isinstance(area, str) else "", key)
    return no_update if new == (search or "") else new


def _is_kind(key: object, kind: str) -> bool:
    if not isinstance(key, str):
        return False
    if kind == "month":
        return len(key) == 7 and key[4] == "-" and "W" not in key and "Q" not in key
    if kind == "week":
        return "-W" in key
    if kind == "quarter":
        return "-Q" in key
    if kind == "year":
        return len(key) == 4
    return ".." in key


def _info(svc, view: View, scale: object) -> dict:
    """What a panel's render needs to know of the view and the viewer."""
    viewer = svc.viewer
    return {
        "area": view.area,
        "period": view.period.key,
        "scale": min(4.0, max(0.5, scale)) if isinstance(scale, int | float) else 1.0,
        "tier": viewer.tier.name if viewer is not None else "L1",
        "may_export": viewer is not None and viewer.may(Action.EXPORT),
    }


def _render_panel(name: str, state: object, scale: object):
    svc = services.current()
    if not isinstance(state, dict):
        return no_update, no_update
    view: View = resolve(svc, state.get("area"), state.get("period"))
    info = _info(svc, view, scale)
    try:
        data = panel(svc, name, view)
    except Exception:  # a failing panel must not take the page: the others still render
        log.exception("analytics panel %s failed", name)
        return html.Div("本栏目暂时无法计算，请稍后刷新", className="sit-panel-error"), []
    tools = export_links(name, data, info) if info["may_export"] else []
    return RENDER[name](data, info), tools


def _register(name: str) -> None:
    @callback(
        Output(ids.panel(name), "children"),
        Output(ids.tools(name), "children"),
        Input(ids.STATE, "data"),
        Input(ids.SCALE, "data"),
    )
    def _panel(state, scale):
        return _render_panel(name, state, scale)


for _name in RENDER:
    _register(_name)

# Ranking tabs of a level too large to rank with the page (rankings.DEFER_OVER): the table key
# of the tab -> the unit it ranks.
DEFERRED_TABS = {"grids": "grid", "workers": "worker"}


@callback(
    Output({"type": "sit-rank-deferred", "unit": ALL}, "children"),
    Input("sit-rankings-level", "value"),
    State({"type": "sit-rank-deferred", "unit": ALL}, "id"),
    State(ids.STATE, "data"),
    State(ids.SCALE, "data"),
    prevent_initial_call=True,
)
def load_level(tab, deferred, state, scale):
    """A deferred ranking tab was chosen: rank its level (cached like a panel) and draw it."""
    unit = DEFERRED_TABS.get(tab) if isinstance(tab, str) else None
    if not isinstance(deferred, list) or not isinstance(state, dict):
        return no_update
    out = []
    for ident in deferred:
        if not isinstance(ident, dict) or ident.get("unit") != unit:
            out.append(no_update)
            continue
        svc = services.current()
        view = resolve(svc, state.get("area"), state.get("period"))
        info = _info(svc, view, scale)
        try:
            out.append(rankings.render_level(level_panel(svc, unit, view), info))
        except Exception:  # one tab failing must not take the panel
            log.exception("analytics ranking level %s failed", unit)
            out.append(html.Div("本排名暂时无法计算，请稍后重试", className="sit-panel-error"))
    return out


# The page's root font size grows with the screen (assets/00_screen.css); plotly sizes in
# pixels, so the server draws at this scale.
clientside_callback(
    """
    function (_path) {
        const px = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
        return Math.round(px / 16 * 8) / 8;
    }
    """,
    Output(ids.SCALE, "data"),
    Input(ids.URL, "pathname"),
)
