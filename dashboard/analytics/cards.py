"""The measure cards of /analytics: value, numerator/denominator on hover, 环比 and 同比 with
direction and colour, a 12-period sparkline with the target line, and a link to the workbench.
Numbers are formatted by ``domain.analytics.formatting`` (the report uses the same)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from dash import dcc, html

from domain.analytics.formatting import direction, fmt_change, fmt_value, tone
from domain.analytics.periods import parse_period

from .links import explore_href

ARROWS = {1: "▲", -1: "▼", 0: "–"}
TONE_COLOURS = {"good": "#36d399", "bad": "#ff5a5f", "flat": "#8fb0d8"}
LINE = "#3cc8ff"
TARGET = "rgba(255, 196, 61, 0.85)"

# What the workbench shows behind each measure (its numerator's tickets).
DRILL: dict[str, dict[str, Any]] = {
    "due_to_close": {},
    "closure_rate": {"basis": "closed"},
    "on_time_rate": {"basis": "closed", "clock": ("closed_on_time",)},
    "rework_rate": {"flag": ("reworked",)},
    "return_rate": {"flag": ("returned",)},
}


def _delta(label: str, change: float | None, kind: str, higher: bool) -> html.Div:
    t = tone(change, kind, higher)
    arrow = (
        []
        if change is None
        else [html.Span(ARROWS[direction(change, kind)], className="sit-delta-arrow")]
    )
    return html.Div(
        [
            html.Span(label, className="sit-delta-label"),
            *arrow,
            html.Span(fmt_change(kind, change), className="sit-delta-value"),
        ],
        className=f"sit-delta sit-delta--{t}",
        style={"color": TONE_COLOURS[t]},
    )


def sparkline(card: dict[str, Any], scale: float) -> go.Figure:
    pts = card["series"]
    rate = card["kind"] == "rate"
    y = [
        (p["value"] * 100 if rate else p["value"]) if p["value"] is not None else None for p in pts
    ]
    fig = go.Figure(
        go.Scatter(
            x=[p["label"] for p in pts],
            y=y,
            mode="lines+markers",
            line={"color": LINE, "width": max(1.5, 2 * scale)},
            marker={"size": round(4 * scale), "color": LINE},
            connectgaps=False,
            hovertemplate="%{x}: %{y:.1f}" + ("%" if rate else "") + "<extra></extra>",
        )
    )
    target = card.get("target")
    if target is not None:
        fig.add_hline(
            y=target * 100 if rate else target,
            line={"color": TARGET, "dash": "dot", "width": max(1, scale)},
        )
    fig.update_layout(
        margin={"l": 2, "r": 2, "t": 2, "b": 2},
        height=round(54 * scale),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        xaxis={"visible": False},
        yaxis={"visible": False},
        showlegend=False,
        hoverlabel={"font": {"size": round(12 * scale)}},
    )
    return fig


def _hover(card: dict[str, Any]) -> str:
    lines = [f"{card['name']} = {card['formula']}"]
    if card["denominator"] is not None:
        num = fmt_value("count", card["numerator"])
        den = fmt_value("count", card["denominator"])
        lines.append(f"本期：{num} ÷ {den}")
    if card.get("target") is not None:
        lines.append(f"目标：{fmt_value(card['kind'], card['target'])}")
    return "\n".join(lines)


def card(c: dict[str, Any], view: dict[str, Any]) -> html.Div:
    scale = view.get("scale", 1.0)
    target = c.get("target")
    below = (
        c["value"] is not None
        and target is not None
        and (c["value"] < target if c["higher_is_better"] else c["value"] > target)
    )
    title = html.Div(
        [
            html.Span(c["name"], className="sit-card-name"),
            html.Span("ⓘ", className="sit-card-info", title=_hover(c)),
        ],
        className="sit-card-head",
    )
    drill = DRILL.get(c["key"])
    value = html.Div(fmt_value(c["kind"], c["value"]), className="sit-card-value", title=_hover(c))
    if drill is not None:
        href = explore_href(view["area"], parse_period(view["period"]), **drill)
        value = dcc.Link(value, href=href, className="sit-card-link", title="在事件分析中查看明细")
    return html.Div(
        [
            title,
            value,
            html.Div(
                [
                    _delta("环比", c["mom"], c["kind"], c["higher_is_better"]),
                    _delta("同比", c["yoy"], c["kind"], c["higher_is_better"]),
                ],
                className="sit-card-deltas",
            ),
            dcc.Graph(
                figure=sparkline(c, scale),
                config={"displayModeBar": False, "staticPlot": False},
                className="sit-spark",
            ),
            html.Div(
                f"目标 {fmt_value(c['kind'], target)}" if target is not None else "",
                className="sit-card-target" + (" is-below" if below else ""),
            ),
        ],
        className="sit-card" + (" sit-card--below" if below else ""),
        id=f"sit-card-{c['key']}",
    )


def render(data: dict[str, Any], view: dict[str, Any]) -> html.Div:
    head = html.Div(
        [
            html.Span(data["label"], className="sit-cards-period"),
            html.Span(f"环比：{data['previous']['label']}", className="sit-cards-cmp"),
            html.Span(f"同比：{data['year_ago']['label']}", className="sit-cards-cmp"),
            html.Span("折线：近12期；虚线：目标", className="sit-cards-cmp"),
        ],
        className="sit-cards-head",
    )
    return html.Div([head, html.Div([card(c, view) for c in data["cards"]], className="sit-cards")])
