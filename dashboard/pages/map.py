"""The analyst map (/map): the full-window map with layer toggles, legends, level, measure and
time-window selectors, the grid card, and the date the boundaries are drawn as of
(``/map?asof=YYYY-MM-DD``, dashboard/map/asof.py)."""

import dash
from dash import dcc, html

from dashboard.forbidden import forbidden_notice
from dashboard.map import PROFILES, map_component
from dashboard.map import callbacks as map_callbacks
from dashboard.userbar import user_bar
from domain.access import Action
from queries import services

dash.register_page(__name__, path="/map", title="网格地图", name="地图")
map_callbacks.register(PROFILES["analyst"])


def layout(asof: str | None = None, **_query: str):
    """The map in the caller's jurisdiction; ``asof`` (the query string's YYYY-MM-DD, checked
    on the server) starts it with the boundaries in force on that day, other query-string
    arguments are ignored. Roles that may export get a link to this month's per-grid CSV."""
    svc = services.current()
    viewer = svc.viewer
    if viewer is None or not viewer.may_open("/map"):
        return forbidden_notice()
    export = (
        [
            html.A(
                "导出本月网格数据",
                href="/export/grids.csv?window=month",
                className="gs-analyst-export",
                id="ana-export",
            )
        ]
        if viewer.may(Action.EXPORT)
        else []
    )
    return html.Div(
        [
            html.Header(
                [
                    dcc.Link("网格化服务管理", href="/", className="gs-analyst-home"),
                    html.H1("网格地图", className="gs-analyst-title"),
                    *export,
                    user_bar(svc),
                ],
                className="gs-analyst-bar",
            ),
            map_component(PROFILES["analyst"], svc, asof=asof),
        ],
        className="gs-analyst",
    )
