"""The category structure of /analytics: the item-list tree as a sunburst (major → minor),
coloured by the change against the previous period, and the majors as a ranked list with their
环比; a click on a list row opens the workbench on that category."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from domain.analytics.formatting import fmt_change, fmt_value
from domain.analytics.periods import parse_period
from domain.measures import change

from .links import explore_href

FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif'
# Change against the previous period: falling (good for counts of problems) blue-green, rising
# orange-red; clipped at ±50 %.
COLOURSCALE = [[0.0, "#1fb58f"], [0.5, "#2b4f7a"], [1.0, "#ff6b4a"]]


def figure(data: dict[str, Any], scale: float) -> go.Figure:
    nodes = [n for n in data["nodes"] if n["count"] > 0]
    colour = [max(-0.5, min(0.5, n["change"])) if n["change"] is not None else 0 for n in nodes]
    fig = go.Figure(
        go.Sunburst(
            ids=[n["code"] for n in nodes],
            labels=[n["name"] for n in nodes],
            parents=[n["parent"] for n in nodes],
            values=[n["count"] for n in nodes],
            branchvalues="total",
            customdata=[
                [fmt_change("count", n["change"]), fmt_value("count", n["previous"])] for n in nodes
            ],
            hovertemplate="%{label}<br>本期 %{value:,} 件（上期 %{customdata[1]}）"
            "<br>环比 %{customdata[0]}<extra></extra>",
            marker={
                "colors": colour,
                "colorscale": COLOURSCALE,
                "cmin": -0.5,
                "cmax": 0.5,
                "line": {"color": "#061a33", "width": 1},
            },
            insidetextorientation="radial",
            maxdepth=2,
        )
    )
    fig.update_layout(
        margin={"l": 4, "r": 4, "t": 4, "b": 4},
        height=round(330 * scale),
        paper_bgcolor="rgba(0,0,0,0)",
        font={"family": FONT, "color": "#d8e8ff", "size": round(12 * scale)},
    )
    return fig


def render(data: dict[str, Any], view: dict[str, Any]) -> html.Div:
    scale = view.get("scale", 1.0)
    period = parse_period(view["period"])
    if not data["total"]:
        return html.Div("本期无事件", className="sit-empty")
    majors = [n for n in data["nodes"] if not n["parent"]][:10]
    rows = [
        html.Tr(
            [
                html.Td(
                    dcc.Link(n["name"], href=explore_href(view["area"], period, cat=(n["cat"],)))
                ),
                html.Td(fmt_value("count", n["count"]), className="num"),
                html.Td(fmt_value("rate", n["count"] / data["total"]), className="num"),
                html.Td(
                    fmt_change("count", n["change"]),
                    className="num "
                    + (
                        "is-up"
                        if (n["change"] or 0) > 0.005
                        else "is-down"
                        if (n["change"] or 0) < -0.005
                        else ""
                    ),
                ),
            ]
        )
        for n in majors
    ]
    table = html.Table(
        [
            html.Thead(
                html.Tr([html.Th("大类"), html.Th("事件数"), html.Th("占比"), html.Th("环比")])
            ),
            html.Tbody(rows),
        ],
        className="sit-table sit-table--compact",
    )
    note = html.Div(
        f"共 {fmt_value('count', data['total'])} 件，环比 "
        f"{fmt_change('count', change(data['total'], data['previous_total'], 'count'))}"
        f"（上期 {data['previous']['label']}）；颜色：环比增（红）减（绿）",
        className="sit-note",
    )
    return html.Div(
        [
            note,
            html.Div(
                [
                    dcc.Graph(
                        figure=figure(data, scale),
                        config={"displayModeBar": False},
                        className="sit-sunburst",
                    ),
                    table,
                ],
                className="sit-split",
            ),
        ]
    )
