"""The screen's layout on a 1920×1080 design canvas (rem units; the root font follows the
viewport height, see assets/00_screen.css), with a panel-aligned variant for 32:9 walls."""

from __future__ import annotations

from dash import dcc, html
from dash.development.base_component import Component

from domain.config import Settings

from .kpi import render_kpis
from .ticker import render_ticker

IDS = {
    "counters_tick": "gs-counters-tick",
    "alerts_tick": "gs-alerts-tick",
    "clock_tick": "gs-clock-tick",
    "scale": "gs-scale",
    "status": "gs-status",
    "offset": "gs-offset",
}


def panel(title: str, body_id: str, *, extra: str = "", note: str | None = None) -> html.Section:
    """A titled panel whose body ``body_id`` is filled by the refresh callback."""
    head = [html.H2(title, className="gs-panel-title")]
    if note:
        head.append(html.Span(note, className="gs-panel-note"))
    return html.Section(
        [
            html.Header(head, className="gs-panel-head"),
            html.Div(id=body_id, className="gs-panel-body"),
        ],
        className=f"gs-panel {extra}".strip(),
    )


def title_bar(settings: Settings) -> html.Header:
    return html.Header(
        [
            html.Div(
                [html.Span(className="gs-dot"), html.Span("—", id="gs-jurisdiction")],
                className="gs-title-jur",
            ),
            html.H1(settings.title, className="gs-title"),
            html.Div(
                [
                    html.Span("数据更新于 —", id="gs-updated", className="gs-updated"),
                    html.Span("数据未更新", id="gs-stale", className="gs-stale", hidden=True),
                ],
                className="gs-title-status",
            ),
            html.Div(
                html.Span("", id="gs-clock", **{"data-tz": settings.timezone}),
                className="gs-title-clock",
            ),
        ],
        className="gs-titlebar",
    )


def screen_layout(settings: Settings, map_panel: Component | None = None) -> html.Div:
    """The whole screen. Bodies start empty ('—') and are filled by the first refresh, which runs
    as soon as the browser has measured its scale. ``map_panel`` is the centre map (the shared
    map component, dashboard/map); an empty panel when None (layout tests without a database)."""
    track, track_style = render_ticker([])
    return html.Div(
        [
            dcc.Interval(id=IDS["counters_tick"], interval=settings.refresh_counters_s * 1000),
            dcc.Interval(id=IDS["alerts_tick"], interval=settings.refresh_alerts_s * 1000),
            dcc.Interval(id=IDS["clock_tick"], interval=1000),
            dcc.Store(id=IDS["scale"], data=None),
            dcc.Store(id=IDS["offset"], data=0),
            dcc.Store(
                id=IDS["status"],
                data={
                    "ok": None,
                    "as_of_ms": None,
                    "interval_ms": settings.refresh_counters_s * 1000,
                },
            ),
            title_bar(settings),
            html.Div(render_kpis({}), id="gs-kpis", className="gs-kpis"),
            html.Main(
                [
                    html.Div(
                        [
                            panel("基础数据", "gs-basic", extra="gs-panel--basic"),
                            panel(
                                "事项类别", "gs-categories", extra="gs-panel--cats", note="近30日"
                            ),
                        ],
                        className="gs-col gs-col--left",
                    ),
                    html.Div(
                        map_panel if map_panel is not None else html.Div(className="gs-map-wrap"),
                        className="gs-col gs-col--map",
                    ),
                    html.Div(
                        [
                            html.Section(
                                [
                                    html.Header(
                                        [
                                            html.H2("上报与结案趋势", className="gs-panel-title"),
                                            html.Span("近30日", className="gs-panel-note"),
                                        ],
                                        className="gs-panel-head",
                                    ),
                                    html.Div(
                                        dcc.Graph(
                                            id="gs-trend",
                                            figure={
                                                "data": [],
                                                "layout": {
                                                    "paper_bgcolor": "rgba(0,0,0,0)",
                                                    "plot_bgcolor": "rgba(0,0,0,0)",
                                                },
                                            },
                                            config={
                                                "displayModeBar": False,
                                                "responsive": True,
                                                "staticPlot": False,
                                                "scrollZoom": False,
                                            },
                                            style={"height": "100%", "width": "100%"},
                                        ),
                                        className="gs-panel-body gs-panel-body--chart",
                                    ),
                                ],
                                className="gs-panel gs-panel--trend",
                            ),
                            panel(
                                "镇（街道）排名",
                                "gs-ranking",
                                extra="gs-panel--rank",
                                note="本月综合指标值",
                            ),
                        ],
                        className="gs-col gs-col--right",
                    ),
                ],
                className="gs-main",
            ),
            html.Footer(
                [
                    html.Div("紧急·超期·督办", className="gs-ticker-label"),
                    html.Div(
                        html.Div(
                            track,
                            id="gs-ticker-track",
                            className="gs-ticker-track",
                            style=track_style,
                        ),
                        className="gs-ticker-window",
                    ),
                ],
                className="gs-ticker",
            ),
        ],
        className="gs-screen",
        id="gs-screen",
    )
