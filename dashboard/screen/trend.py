"""The 30-day trend chart (created vs closed per local day, from stat_daily)."""

from __future__ import annotations

from typing import Any

from . import theme


def trend_figure(rows: list[dict[str, Any]], scale: float = 1.0) -> dict[str, Any]:
    """A plotly figure dict (no go.Figure: built in microseconds) of created and closed per day.

    ``scale`` is the root font size / 16 px measured in the browser, so that text is 16 px on a
    1080p canvas and 32 px at 2160p; line widths and margins follow it.
    """
    s = max(0.5, min(float(scale or 1.0), 6.0))
    days = [r["day"] for r in rows]
    labels = [d[5:].replace("-", "/") for d in days]
    if labels:
        labels[-1] = "今日"
    # Ticks every 5 days counted back from today, so the first label leaves the corner free.
    tickvals = labels[::-5][::-1] if labels else []
    font = 16 * s

    def line(key: str, name: str, color: str, fill: str) -> dict[str, Any]:
        return {
            "type": "scatter",
            "mode": "lines",
            "name": name,
            "x": labels,
            "y": [r[key] for r in rows],
            "line": {"color": color, "width": 2.5 * s, "shape": "spline", "smoothing": 0.6},
            "fill": "tozeroy",
            "fillcolor": fill,
            "hovertemplate": f"%{{x}} {name} %{{y}} 件<extra></extra>",
        }

    axis = {
        "color": theme.MUTED,
        "gridcolor": theme.GRID_LINE,
        "zeroline": False,
        "showline": False,
        "tickfont": {"size": font, "color": theme.MUTED},
        "fixedrange": True,
    }
    return {
        "data": [
            line("created", "上报", theme.CREATED, "rgba(60, 200, 255, 0.12)"),
            line("closed", "结案", theme.CLOSED, "rgba(62, 224, 160, 0.10)"),
        ],
        "layout": {
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "font": {"family": theme.FONT_FAMILY, "size": font, "color": theme.TEXT},
            "margin": {"l": 3.4 * font, "r": 0.8 * font, "t": 2.2 * font, "b": 2.0 * font},
            "showlegend": True,
            "legend": {
                "orientation": "h",
                "x": 1,
                "xanchor": "right",
                "y": 1.0,
                "yanchor": "bottom",
                "font": {"size": font, "color": theme.TEXT},
                "bgcolor": "rgba(0,0,0,0)",
            },
            "xaxis": axis | {"tickmode": "array", "tickvals": tickvals, "showgrid": False},
            "yaxis": axis | {"nticks": 5, "rangemode": "tozero"},
            "hovermode": "x unified",
            "hoverlabel": {"font": {"size": font}},
            "transition": {"duration": 0},
        },
    }
