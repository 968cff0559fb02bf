"""The workbench's charts (plotly): counts over the period, the category breakdown and the
hour × weekday pattern. A click on a bar is a filter (dashboard.explore.navigate)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from queries.explore.summary import Summary

TEXT = "#d8e8ff"
MUTED = "#8fb0d8"
GRIDLINE = "rgba(63,134,198,0.22)"
ACCENT = "#3cc8ff"
FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif'
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def _layout(title: str, scale: float = 1.0, **extra: Any) -> dict[str, Any]:
    """The charts' common layout; ``scale`` is the page's root font size over 16 px (plotly
    sizes are pixels, the page's are rem: 2 on a 4K screen)."""
    m = extra.pop("margin", {"l": 48, "r": 12, "t": 34, "b": 36})
    return {
        "title": {
            "text": title,
            "font": {"size": round(15 * scale), "color": TEXT},
            "x": 0.01,
            "y": 0.97,
        },
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT, "color": MUTED, "size": round(13 * scale)},
        "margin": {k: round(v * scale) for k, v in m.items()},
        "xaxis": {"gridcolor": GRIDLINE, "zeroline": False},
        "yaxis": {"gridcolor": GRIDLINE, "zeroline": False},
        "hoverlabel": {"font": {"family": FONT}},
        "showlegend": False,
        **extra,
    }


def series(s: Summary, scale: float = 1.0) -> go.Figure:
    x = [d.isoformat() for d, _ in s.series]
    y = [n for _, n in s.series]
    unit = "周" if s.weekly else "日"
    fig = go.Figure(
        go.Bar(
            x=x,
            y=y,
            marker_color=ACCENT,
            hovertemplate=("%{x} 起一周" if s.weekly else "%{x}") + "：%{y} 件<extra></extra>",
        )
    )
    fig.update_layout(**_layout(f"事件数（按{unit}，点击柱条筛选该{unit}）", scale))
    fig.update_xaxes(type="date", tickformat="%m-%d")
    return fig


def categories(
    s: Summary, names: dict[str, str], chosen: tuple[str, ...], scale: float = 1.0
) -> go.Figure:
    """Majors, or the minors of the chosen majors when majors are chosen."""
    counts: dict[str, int] = {}
    majors = {c for c in chosen if len(c) == 2}
    for code, n in s.facets.get("cat", {}).items():
        if code is None:
            continue
        key = code if majors and code[:2] in majors else code[:2]
        counts[key] = counts.get(key, 0) + n
    top = sorted(counts.items(), key=lambda kv: kv[1], reverse=True)[:14][::-1]
    labels = [f"{names.get(c, c)}" for c, _ in top]
    fig = go.Figure(
        go.Bar(
            x=[n for _, n in top],
            y=labels,
            orientation="h",
            customdata=[c for c, _ in top],
            marker_color="#5aa9ff",
            hovertemplate="%{y}（%{customdata}）：%{x} 件<extra></extra>",
        )
    )
    fig.update_layout(
        **_layout("类别构成（点击筛选）", scale, margin={"l": 150, "r": 12, "t": 34, "b": 30})
    )
    return fig


def pattern(s: Summary, scale: float = 1.0) -> go.Figure:
    z = [[s.pattern.get((dow, hour), 0) for hour in range(24)] for dow in range(1, 8)]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"{h}时" for h in range(24)],
            y=list(WEEKDAYS),
            colorscale=[[0, "rgba(10,30,60,1)"], [0.5, "#2f7fd8"], [1, "#ffb547"]],
            hovertemplate="%{y} %{x}：%{z} 件<extra></extra>",
            showscale=False,
        )
    )
    fig.update_layout(**_layout("时段分布（星期 × 小时）", scale))
    fig.update_yaxes(autorange="reversed")
    return fig


def empty(title: str) -> go.Figure:
    """A dark, empty chart with its title, shown until the view's numbers arrive."""
    fig = go.Figure()
    fig.update_layout(**_layout(title))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig
