"""The page skeleton of /explore: header (saved views, share, exports), the filter sidebar,
the headline figures, the linked map and charts, the ticket table and the ticket drawer. The
view itself is filled by ``callbacks.render`` from the URL."""

from __future__ import annotations

import dash_leaflet as dl
from dash import dcc, html

from dashboard.userbar import user_bar
from domain.access import Action
from queries.services import Services

from . import charts, ids
from .render import sidebar_static

DEFAULT_CENTER = (30.75, 120.76)  # 嘉兴 (the demo city), until the view's shapes arrive


def _map(svc: Services) -> dl.Map:
    settings = svc.settings
    children: list = []
    if settings.basemap_url:
        children.append(
            dl.TileLayer(url=settings.basemap_url, attribution=settings.basemap_attribution or None)
        )
    children += [
        dl.GeoJSON(
            id=ids.UNITS,
            data=None,
            style={"variable": "gsExplore.unitStyle"},
            onEachFeature={"variable": "gsExplore.unitTooltip"},
            hideout={"counts": {}, "max": 0},
            zoomToBounds=True,
        ),
        dl.GeoJSON(
            id=ids.GRIDS,
            data=None,
            style={"variable": "gsExplore.unitStyle"},
            onEachFeature={"variable": "gsExplore.unitTooltip"},
            hideout={"counts": {}, "max": 0},
        ),
        dl.GeoJSON(
            id=ids.POINTS,
            data=None,
            pointToLayer={"variable": "gsExplore.point"},
        ),
        dl.FeatureGroup(
            dl.EditControl(
                id=ids.DRAW,
                draw={
                    "rectangle": {"showArea": False},
                    "polygon": True,
                    "polyline": False,
                    "circle": False,
                    "circlemarker": False,
                    "marker": False,
                },
                edit=False,
                position="topright",
            )
        ),
    ]
    return dl.Map(
        children,
        id=ids.MAP,
        center=DEFAULT_CENTER,
        zoom=10,
        zoomSnap=0.25,
        preferCanvas=True,
        attributionControl=bool(settings.basemap_url),
        style={"width": "100%", "height": "100%"},
        className="exp-leaflet",
    )


def page(svc: Services) -> html.Div:
    viewer = svc.viewer
    exports = (
        [
            html.Button("导出 CSV", id=ids.EXPORT_CSV, n_clicks=0, className="exp-btn"),
            html.Button("导出 Excel", id=ids.EXPORT_XLSX, n_clicks=0, className="exp-btn"),
        ]
        if viewer is not None and viewer.may(Action.EXPORT)
        else []
    )
    header = html.Header(
        [
            dcc.Link("网格化服务管理", href="/", className="gs-analyst-home"),
            html.H1("事件分析", className="gs-analyst-title"),
            html.Div(
                [
                    dcc.Dropdown(
                        id=ids.VIEWS,
                        placeholder="我的视图…",
                        options=[],
                        clearable=True,
                        searchable=False,
                        className="exp-views",
                    ),
                    dcc.Input(
                        id=ids.VIEW_NAME,
                        placeholder="视图名称",
                        maxLength=60,
                        debounce=True,
                        className="exp-input",
                    ),
                    html.Button("保存视图", id=ids.VIEW_SAVE, n_clicks=0, className="exp-btn"),
                    html.Button(
                        "删除", id=ids.VIEW_DELETE, n_clicks=0, className="exp-btn exp-btn--quiet"
                    ),
                    html.Span(id=ids.VIEW_NOTE, className="exp-note"),
                ],
                className="exp-viewbar",
            ),
            html.Div(
                [
                    html.Button(
                        "复制链接",
                        id=ids.SHARE,
                        n_clicks=0,
                        className="exp-btn",
                        title="复制本视图的链接，发给同事即可看到相同的筛选结果",
                    ),
                    *exports,
                    html.Span(id=ids.EXPORT_STATUS, className="exp-export-status"),
                    html.Button(
                        "重置", id=ids.RESET, n_clicks=0, className="exp-btn exp-btn--quiet"
                    ),
                ],
                className="exp-actions",
            ),
            user_bar(svc),
        ],
        className="gs-analyst-bar exp-bar",
    )
    main = html.Main(
        [
            html.Div(id=ids.PROBLEMS),
            html.Div(
                [
                    html.Div(id=ids.CHIPS, className="exp-chips"),
                    html.Div(id=ids.KPIS, className="exp-kpis"),
                ],
                className="exp-head",
            ),
            html.Div(
                [
                    html.Div(
                        [_map(svc), html.Div(id=ids.LEGEND, className="exp-legend")],
                        className="exp-panel exp-panel--map",
                    ),
                    html.Div(
                        [
                            dcc.Graph(
                                id=ids.SERIES,
                                config={"displayModeBar": False},
                                figure=charts.empty("事件数（统计中…）"),
                                className="exp-graph",
                            ),
                            dcc.Graph(
                                id=ids.CATS,
                                config={"displayModeBar": False},
                                figure=charts.empty("类别构成"),
                                className="exp-graph",
                            ),
                        ],
                        className="exp-panel exp-panel--charts",
                    ),
                ],
                className="exp-row exp-row--top",
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.Div(id=ids.TABLE_NOTE, className="exp-table-note"),
                            html.Div(id=ids.TABLE_WRAP, className="exp-table-wrap"),
                        ],
                        className="exp-panel exp-panel--table",
                    ),
                    html.Div(
                        dcc.Graph(
                            id=ids.PATTERN,
                            config={"displayModeBar": False},
                            figure=charts.empty("时段分布"),
                            className="exp-graph",
                        ),
                        className="exp-panel exp-panel--pattern",
                    ),
                ],
                className="exp-row exp-row--bottom",
            ),
        ],
        className="exp-main",
    )
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.EXPORT_JOB),
            # Filled in the browser before the first render (callbacks.render_cb waits for
            # it): a live AG Grid keeps its first column widths.
            dcc.Store(id=ids.SCALE, data=None),
            dcc.Interval(id=ids.EXPORT_POLL, interval=700, disabled=True),
            header,
            html.Div(
                [html.Aside(sidebar_static(), id=ids.SIDE, className="exp-side"), main],
                className="exp-body",
            ),
            html.Aside(id=ids.DRAWER, className="exp-drawer", hidden=True),
        ],
        className="gs-analyst exp-page",
    )
