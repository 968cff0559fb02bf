"""The workbench's callbacks, thin: the URL is the one source of the view.

    navigate  any click or choice  -> the next query string (``navigate`` functions)
    render    the query string     -> sidebar, chips, figures, map, charts, table, drawer
    rows      the grid's block     -> one page of tickets (server-side sort and paging)

Every callback takes its scope, role and masking from the request's viewer
(``services.current()``), never from a value the browser sent; the page's component prefix
``exp-`` is gated to viewers who may open /explore (gridscope.auth.callbacks)."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from dash import (
    ALL,
    MATCH,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    no_update,
)

from domain.access import Action
from domain.explore.filters import Filters, Problem, encode, parse
from domain.explore.periods import CUSTOM, local_day, quick_range
from queries.explore import mapdata, reference
from queries.explore import table as table_q
from queries.explore.summary import WEEKLY_AFTER_DAYS
from queries.screen import jurisdiction_name
from queries.services import current
from queries.transient import TRANSIENT_DB_ERRORS, fault_name

from . import charts, drawer, ids, navigate, render, table
from .data import build_view, load, rows_block

log = logging.getLogger(__name__)


def _search(f: Filters) -> str:
    q = encode(f)
    return f"?{q}" if q else ""


def viewer_services():
    svc = current()
    viewer = svc.viewer
    if viewer is None or not viewer.may_open("/explore"):
        return None
    return svc


def clicked() -> bool:
    """True when the trigger is a real click (a freshly rendered button fires with 0)."""
    trig = ctx.triggered[0] if ctx.triggered else None
    return bool(trig and trig.get("value"))


def next_filters(f: Filters, trigger: Any, value: Any, svc) -> Filters:
    """The filters after ``trigger`` (a component id) changed to ``value``."""
    if isinstance(trigger, dict):
        kind = trigger.get("type")
        if kind == ids.FACET:
            return navigate.toggle(f, trigger.get("dim"), trigger.get("value"))
        if kind == ids.CHIP:
            return navigate.remove(f, trigger.get("dim"), trigger.get("value"))
        if kind == ids.PERIOD:
            return navigate.period(f, trigger.get("value"))
        if kind == ids.UNIT:
            return navigate.area(f, trigger.get("code"))
        if kind == ids.CLOSE:
            return f.with_(ticket=None)
        return f
    if trigger == ids.DATES:
        start, end = value
        if f.period != CUSTOM:
            # The picker shows the quick range; only a different choice makes it custom.
            shown = quick_range(f.period, local_day(svc.clock.now(), svc.settings.tz))
            if (str(start)[:10], str(end)[:10]) == (shown[0].isoformat(), shown[1].isoformat()):
                return f
        return navigate.days(f, start, end)
    if trigger == ids.BASIS:
        return f.with_(basis=value) if value in ("created", "closed") else f
    if trigger == ids.AREA_SEARCH:
        return navigate.area(f, value) if value else f
    if trigger in (ids.UNITS, ids.GRIDS):
        props = ((value or {}).get("properties") or {}) if isinstance(value, dict) else {}
        return navigate.area(f, props.get("code"))
    if trigger == ids.POINTS:
        props = ((value or {}).get("properties") or {}) if isinstance(value, dict) else {}
        return navigate.ticket(f, props.get("id"))
    if trigger in (ids.SERIES, ids.CATS):
        pts = value.get("points") if isinstance(value, dict) else None
        point = pts[0] if isinstance(pts, list) and pts and isinstance(pts[0], dict) else None
        if point is None:
            return f
        if trigger == ids.CATS:
            return navigate.toggle(f, "cat", point.get("customdata"))
        # Bars are weeks when the period is longer than the chart's daily limit.
        if f.period == CUSTOM and f.start and f.end:
            first, last = f.start, f.end
        else:
            first, last = quick_range(f.period, local_day(svc.clock.now(), svc.settings.tz))
        return navigate.chart_day(f, point.get("x"), (last - first).days + 1 > WEEKLY_AFTER_DAYS)
    if trigger == ids.DRAW:
        return navigate.drawn(f, value)
    if trigger == ids.RESET:
        return Filters()
    if trigger == ids.VIEWS:
        if isinstance(value, str) and value:
            return parse(value)[0]
        return f
    return f


@callback(
    Output(ids.URL, "search"),
    Input({"type": ids.FACET, "dim": ALL, "value": ALL}, "n_clicks"),
    Input({"type": ids.CHIP, "dim": ALL, "value": ALL}, "n_clicks"),
    Input({"type": ids.PERIOD, "value": ALL}, "n_clicks"),
    Input({"type": ids.UNIT, "code": ALL}, "n_clicks"),
    Input({"type": ids.CLOSE, "what": ALL}, "n_clicks"),
    Input(ids.DATES, "start_date"),
    Input(ids.DATES, "end_date"),
    Input(ids.BASIS, "value"),
    Input(ids.AREA_SEARCH, "value"),
    Input(ids.UNITS, "clickData"),
    Input(ids.GRIDS, "clickData"),
    Input(ids.POINTS, "clickData"),
    Input(ids.SERIES, "clickData"),
    Input(ids.CATS, "clickData"),
    Input(ids.DRAW, "geojson"),
    Input(ids.RESET, "n_clicks"),
    Input(ids.VIEWS, "value"),
    State(ids.URL, "search"),
    State(ids.DATES, "start_date"),
    State(ids.DATES, "end_date"),
    prevent_initial_call=True,
)
def navigate_cb(*args):
    svc = viewer_services()
    if svc is None or not ctx.triggered:
        return no_update
    search, start, end = args[-3], args[-2], args[-1]
    search = search if isinstance(search, str) else ""
    f, _problems = parse(search)
    try:
        trigger = ctx.triggered_id
        hash(str(trigger))
    except (TypeError, ValueError, KeyError):  # a forged prop id Dash cannot read back
        return no_update
    if not isinstance(trigger, str | dict) or (
        isinstance(trigger, dict) and not all(isinstance(v, str | int) for v in trigger.values())
    ):
        return no_update
    value = ctx.triggered[0].get("value")
    if isinstance(trigger, dict) and not clicked():
        return no_update
    if trigger in (ids.RESET,) and not clicked():
        return no_update
    if trigger == ids.DATES:
        if not (start and end):
            return no_update
        value = (start, end)
    nxt = next_filters(f, trigger, value, svc)
    out = _search(nxt)
    return no_update if out == search or out == _search(f) else out


# The table's row click arrives through AG Grid's cellClicked (the grid is re-created per
# view, so navigate listens on the wrapper and this relays the clicked row into the URL).
@callback(
    Output(ids.URL, "search", allow_duplicate=True),
    Input({"type": ids.TABLE, "v": ALL}, "cellClicked"),
    State(ids.URL, "search"),
    prevent_initial_call=True,
)
def table_click(_cells, search):
    svc = viewer_services()
    cell = ctx.triggered[0].get("value") if ctx.triggered else None
    if svc is None or not isinstance(cell, dict):
        return no_update
    f, _ = parse(search or "")
    nxt = navigate.ticket(f, cell.get("rowId"))
    out = _search(nxt)
    return no_update if out == (search or "") else out


def _level_name(res) -> str:
    levels = {lv for _c, _n, lv, _k in res.children}
    if len(levels) == 1:
        return render.LEVEL_NAMES_ZH.get(levels.pop(), "") + " · "
    return ""


def _notice(message: str) -> tuple:
    """render_cb's outputs when the view could not be computed: only the notice changes."""
    out: list[Any] = [no_update] * 21
    out[9] = render.problems([Problem("", message)])
    return tuple(out)


@callback(
    Output(ids.CRUMBS, "children"),
    Output(ids.CHILDREN, "children"),
    Output(ids.PERIODS, "children"),
    Output(ids.DATES, "start_date"),
    Output(ids.DATES, "end_date"),
    Output(ids.BASIS, "value"),
    Output(ids.FACETS, "children"),
    Output(ids.CHIPS, "children"),
    Output(ids.KPIS, "children"),
    Output(ids.PROBLEMS, "children"),
    Output(ids.UNITS, "data"),
    Output(ids.UNITS, "hideout"),
    Output(ids.POINTS, "data"),
    Output(ids.SERIES, "figure"),
    Output(ids.CATS, "figure"),
    Output(ids.PATTERN, "figure"),
    Output(ids.TABLE_WRAP, "children"),
    Output(ids.TABLE_NOTE, "children"),
    Output(ids.DRAWER, "children"),
    Output(ids.DRAWER, "hidden"),
    Output(ids.LEGEND, "children"),
    Input(ids.URL, "search"),
    Input(ids.SCALE, "data"),
)
def render_cb(search, scale):
    svc = viewer_services()
    if svc is None or scale is None:  # the page's scale arrives first (layout.SCALE)
        return (no_update,) * 21
    f, problems = parse(search or "")
    try:
        res = load(svc, f, problems)
    except psycopg.errors.QueryCanceled:
        # A view the column store cannot answer (a micro-grid, a period older than the store)
        # over too many tickets runs into the statement timeout: say so, keep the page.
        log.warning("explore: view timed out: %s", (search or "")[:300])
        return _notice("统计超时：请缩小时间范围或区域后重试")
    except TRANSIENT_DB_ERRORS as exc:
        svc.faults.failed(fault_name(exc), exc)
        return _notice("数据库暂时无法访问，请稍后重试")
    f = res.view.filters
    with svc.read_pool.connection() as conn:
        name = jurisdiction_name(conn, svc.scope) or (svc.scope.prefix or "全部辖区")
        codes = [c for c, *_ in res.children if c] or ([f.area] if f.area else [])
        shapes = mapdata.shapes(conn, svc.scope, codes)
        pts = None
        if svc.viewer.may(Action.EXACT_POINTS) and 0 < res.summary.total <= mapdata.MAX_POINTS:
            pts = mapdata.points(conn, res.view)
    counts = {c: n for c, _n, _l, n in res.children if n >= 0}
    if not res.children and f.area:
        counts = {f.area: res.summary.total}
    hideout = {
        "counts": counts,
        "max": max(counts.values(), default=0),
        "level": _level_name(res),  # the legend's title, also when zooming back out
    }
    for feat in shapes["features"]:  # the tooltip's count
        feat["properties"]["n"] = counts.get(feat["id"])
    # Display only (chart and grid pixel sizes): clamped, never used for data.
    scale = min(4.0, max(0.5, scale)) if isinstance(scale, int | float) else 1.0
    key = encode(f.with_(ticket=None, sort="-created_at"))
    grid = table.grid(f"{key or 'all'}@{scale}", res.summary.total, scale)
    note = f"共 {res.summary.total:,} 件，点击行查看处置过程"
    if f.ticket is not None:
        drawer_children, hidden = drawer.content(svc, f.ticket), False
    else:
        drawer_children, hidden = [], True
    return (
        render.crumbs(res, name),
        render.children(res),
        render.periods(f),
        res.view.first_day.isoformat(),
        res.view.last_day.isoformat(),
        f.basis,
        render.facets(res),
        render.chips(res),
        render.kpis(res),
        render.problems(res.problems),
        shapes,
        hideout,
        pts,
        charts.series(res.summary, scale),
        charts.categories(res.summary, res.labels.get("cat", {}), f.cat, scale),
        charts.pattern(res.summary, scale),
        grid,
        note,
        drawer_children,
        hidden,
        render.legend(hideout, hideout["level"]),
    )


@callback(
    Output({"type": ids.TABLE, "v": MATCH}, "getRowsResponse"),
    Input({"type": ids.TABLE, "v": MATCH}, "getRowsRequest"),
    State(ids.URL, "search"),
    prevent_initial_call=True,
)
def rows_cb(request, search):
    svc = viewer_services()
    if svc is None or not isinstance(request, dict):
        return no_update
    f, problems = parse(search or "")
    try:
        start = max(0, int(request.get("startRow") or 0))
        end = int(request.get("endRow") or start + table.BLOCK)
    except (TypeError, ValueError):
        return {"rowData": [], "rowCount": 0}
    limit = max(1, min(end - start, table_q.MAX_PAGE))
    f = f.with_(sort=table.sort_of(request.get("sortModel"), f.sort))
    if start > table_q.MAX_OFFSET:
        return {"rowData": [], "rowCount": table_q.MAX_OFFSET}
    with svc.read_pool.connection() as conn:
        view = build_view(svc, conn, f, problems)
    data = rows_block(svc, view, start, limit)
    count = start + len(data) if len(data) < limit else None
    out: dict[str, Any] = {"rowData": data}
    if count is not None:
        out["rowCount"] = count
    return out


@callback(
    Output(ids.AREA_SEARCH, "options"),
    Input(ids.AREA_SEARCH, "search_value"),
    prevent_initial_call=True,
)
def area_options(text):
    svc = viewer_services()
    if svc is None or not isinstance(text, str) or not text.strip():
        return no_update
    with svc.read_pool.connection() as conn:
        rows = reference.search(conn, svc.scope, text)
    return [
        {"label": f"{name}（{render.LEVEL_NAMES_ZH.get(level, level)} {code}）", "value": code}
        for code, name, level in rows
    ]


# The page's root font size grows with the screen (assets/00_screen.css); plotly and AG Grid
# size in pixels, so the server draws them at this scale.
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
