"""The analyst map (/map): the full-window map with layer toggles, legends, level, measure and
time-window selectors, and the grid card."""

import dash
from dash import dcc, html

from dashboard.map import PROFILES, map_component
from dashboard.map import callbacks as map_callbacks
from dashboard.userbar import user_bar
from queries import services

dash.register_page(__name__, path="/map", title="网格地图", name="地图")
map_callbacks.register(PROFILES["analyst"])


def layout(**_query: str):
    """The map in the jurisdiction of this server (query-string arguments are ignored)."""
    svc = services.current()
    return html.Div(
        [
            html.Header(
                [
                    dcc.Link("网格化服务管理", href="/", className="gs-analyst-home"),
                    html.H1("网格地图", className="gs-analyst-title"),
                    user_bar(svc),
                ],
                className="gs-analyst-bar",
            ),
            map_component(PROFILES["analyst"], svc),
        ],
        className="gs-analyst",
    )
