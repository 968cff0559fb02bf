"""The screen's layout on a 1920×1080 design canvas (rem units; the root font follows the
viewport height, see assets/00_screen.css), with a panel-aligned variant for 32:9 walls.

The page is drawn once by Dash; from then on the wall's JS (assets/30_wall.js) polls the feeds
named in ``data-feeds`` and draws into the empty bodies: no server callback refreshes the wall.
Every panel header carries its feed's "as of" (``.gs-asof[data-feed]``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from dash import dcc, html
from dash.development.base_component import Component

from domain.config import Settings

from .kpi import kpi_skeleton

TREND_CONFIG = {
    "displayModeBar": False,
    "responsive": True,
    "staticPlot": False,
    "scrollZoom": False,
}
EMPTY_FIGURE = {
    "data": [],
    "layout": {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"},
}


def asof(feed: str, extra: str = "") -> html.Span:
    """The small "as of" of ``feed`` (filled by the wall's JS, marked stale by it)."""
    return html.Span(className=f"gs-asof {extra}".strip(), **{"data-feed": feed})


def panel(
    title: str, body: Component | str, feed: str, *, extra: str = "", note: str | None = None
) -> html.Section:
    """A titled panel of ``feed`` whose body ``body`` (an id, or a component) the JS fills."""
    meta = [html.Span(note, className="gs-panel-note")] if note else []
    meta.append(asof(feed))
    if isinstance(body, str):
        body = html.Div(id=body, className="gs-panel-body")
    return html.Section(
        [
            html.Header(
                [
                    html.H2(title, className="gs-panel-title"),
                    html.Div(meta, className="gs-panel-meta"),
                ],
                className="gs-panel-head",
            ),
            body,
        ],
        className=f"gs-panel {extra}".strip(),
        **{"data-feed": feed},
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
                    # A discreet line while PostgreSQL or Redis is away (assets/30_wall.js).
                    html.Span(id="gs-banner", className="gs-banner", hidden=True, role="status"),
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


def feeds_config(
    settings: Settings, layers: Sequence[dict[str, Any]] = (), *, board: bool = False
) -> str:
    """The JSON the wall's JS reads from ``data-feeds``: the panels it polls and their periods
    (``when``: only while the rotation shows that view), the map layers' feeds
    (dashboard.map.component.feed_layers) and the time zone of the clock."""
    panels: list[dict[str, Any]] = [
        {"panel": "counters", "period_s": settings.refresh_counters_s},
        {"panel": "ticker", "period_s": settings.refresh_alerts_s},
    ]
    if board:
        panels.append({"panel": "board", "period_s": settings.refresh_alerts_s, "when": "board"})
    panels += list(layers)
    return json.dumps(
        {"panels": panels, "tz": settings.timezone}, ensure_ascii=False, separators=(",", ":")
    )


def screen_layout(
    settings: Settings,
    map_panel: Component | None = None,
    *,
    feeds: str | None = None,
    overlays: Sequence[Component] = (),
    extras: Sequence[Component] = (),
) -> html.Div:
    """The whole screen, drawn empty ('—'); the wall's JS fills it from the feeds in ``feeds``
    (``feeds_config``; default: counters and ticker only). ``map_panel`` is the centre map
    (dashboard/map); an empty panel when None (layout tests without a database).
    ``overlays`` go inside the main area (the overdue board), ``extras`` at the end (the
    rotation's configuration)."""
    trend = html.Div(
        dcc.Graph(
            id="gs-trend",
            figure=EMPTY_FIGURE,
            config=TREND_CONFIG,
            style={"height": "100%", "width": "100%"},
        ),
        className="gs-panel-body gs-panel-body--chart",
    )
    return html.Div(
        [
            title_bar(settings),
            html.Div(
                kpi_skeleton(), id="gs-kpis", className="gs-kpis", **{"data-feed": "counters"}
            ),
            html.Main(
                [
                    html.Div(
                        [
                            panel("基础数据", "gs-basic", "counters", extra="gs-panel--basic"),
                            panel(
                                "事项类别",
                                "gs-categories",
                                "counters",
                                extra="gs-panel--cats",
                                note="近30日",
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
                            panel(
                                "上报与结案趋势",
                                trend,
                                "counters",
                                extra="gs-panel--trend",
                                note="近30日",
                            ),
                            panel(
                                "镇（街道）排名",
                                "gs-ranking",
                                "counters",
                                extra="gs-panel--rank",
                                note="本月综合指标值",
                            ),
                        ],
                        className="gs-col gs-col--right",
                    ),
                    *overlays,
                ],
                className="gs-main",
            ),
            html.Footer(
                [
                    html.Div(
                        [html.Span("紧急·超期·督办", className="gs-ticker-title"), asof("ticker")],
                        className="gs-ticker-label",
                    ),
                    html.Div(
                        html.Div(id="gs-ticker-track", className="gs-ticker-track"),
                        className="gs-ticker-window",
                    ),
                ],
                className="gs-ticker",
                **{"data-feed": "ticker"},
            ),
            *extras,
        ],
        className="gs-screen",
        id="gs-screen",
        **{"data-feeds": feeds or feeds_config(settings)},
    )
