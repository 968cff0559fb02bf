"""The rhythm of /analytics: an hour × weekday heat table of tickets created, and tickets per
day on working days, weekends, statutory holidays and make-up working days (调休)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from domain.analytics.formatting import fmt_value

FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif'
HEAT = [[0.0, "#071a33"], [0.35, "#0f4c81"], [0.7, "#2aa3d9"], [1.0, "#ffd34d"]]


def heat(data: dict[str, Any], scale: float) -> go.Figure:
    fig = go.Figure(
        go.Heatmap(
            z=data["matrix"],
            x=[f"{h}时" for h in range(24)],
            y=data["weekdays"],
            colorscale=HEAT,
            hovertemplate="%{y} %{x}：%{z:,} 件<extra></extra>",
            showscale=False,
            xgap=1,
            ygap=1,
        )
    )
    fig.update_layout(
        margin={"l": round(40 * scale), "r": 4, "t": 4, "b": round(26 * scale)},
        height=round(230 * scale),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": FONT, "color": "#8fb0d8", "size": round(12 * scale)},
        yaxis={"autorange": "reversed"},
        xaxis={"dtick": 2},
    )
    return fig


def render(data: dict[str, Any], view: dict[str, Any]) -> html.Div:
    scale = view.get("scale", 1.0)
    kinds = data["kinds"]
    work = kinds["workday"]["per_day"]
    cells = []
    for k, v in kinds.items():
        ratio = ""
        if k != "workday" and v["per_day"] is not None and work:
            ratio = f"为工作日的 {v['per_day'] / work:.0%}"
        cells.append(
            html.Div(
                [
                    html.Div(v["name"], className="sit-kind-name"),
                    html.Div(fmt_value("count", v["per_day"]), className="sit-kind-value"),
                    html.Div(f"日均 · {v['days']} 天 {ratio}", className="sit-kind-note"),
                ],
                className="sit-kind-cell" + ("" if v["days"] else " is-empty"),
            )
        )
    holidays = sorted({d["holiday"] for d in data["days"] if d["holiday"]})
    note = "期内法定节假日：" + "、".join(holidays) if holidays else "期内无法定节假日"
    return html.Div(
        [
            dcc.Graph(
                figure=heat(data, scale), config={"displayModeBar": False}, className="sit-heat"
            ),
            html.Div(cells, className="sit-kinds"),
            html.Div(note + "（工作日历：国务院放假安排与本地调整）", className="sit-note"),
        ]
    )
